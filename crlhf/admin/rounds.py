"""``crlhf admin`` commands about training: rounds and benchmark results."""

from __future__ import annotations

import argparse

from crlhf.admin.command import command
from crlhf.admin.output import fields, key_values, table
from crlhf.arg_types import parse_key_value
from crlhf.client import CrlhfClient
from crlhf.schemas import RoundProgress, RoundStatus, TrainingRoundIn


def _progress(progress: RoundProgress | None) -> str | None:
    """``training 3/8``: the stage with its step count where the worker knows one."""
    if progress is None:
        return None
    if progress.steps:
        return f"{progress.stage} {progress.step or 0}/{progress.steps}"
    return progress.stage


def _create_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--param",
        type=parse_key_value,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a setting for the trainer, e.g. epochs=2 (repeatable)",
    )
    parser.add_argument("--note")


@command("rounds create", "request a training round", _create_arguments)
async def create_round(client: CrlhfClient, args: argparse.Namespace) -> str:
    request = TrainingRoundIn(params=dict(args.param), note=args.note)
    return fields(args, await client.create_round(request))


def _list_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--status", choices=[s.value for s in RoundStatus])


@command("rounds list", "training rounds, newest first", _list_arguments)
async def list_rounds(client: CrlhfClient, args: argparse.Namespace) -> str:
    status = RoundStatus(args.status) if args.status else None
    return table(
        args,
        await client.list_rounds(status=status),
        ["id", "status", "worker", "progress", "adapter", "updated", "message"],
        lambda r: [
            r.id,
            r.status.value,
            r.worker,
            _progress(r.progress) if r.status is RoundStatus.RUNNING else None,
            r.adapter_version,
            r.updated_at.isoformat(timespec="seconds"),
            (r.message or r.note or "")[:60],
        ],
    )


def _id_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("id", type=int)


@command("rounds show", "one training round", _id_argument)
async def show_round(client: CrlhfClient, args: argparse.Namespace) -> str:
    found = await client.get_round(args.id)
    if args.json:
        return fields(args, found)
    data = found.model_dump(mode="json")
    data["progress"] = _progress(found.progress)
    if found.progress is not None and found.progress.detail:
        data["progress"] += f" ({found.progress.detail})"
    return key_values(data)


def _cancel_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("id", type=int)
    parser.add_argument("--message", help="why (stored with the round)")


@command("rounds cancel", "cancel a requested or running round", _cancel_arguments)
async def cancel_round(client: CrlhfClient, args: argparse.Namespace) -> str:
    return fields(args, await client.cancel_round(args.id, args.message))


@command("rounds retry", "request a failed or cancelled round again, same params", _id_argument)
async def retry_round(client: CrlhfClient, args: argparse.Namespace) -> str:
    return fields(args, await client.retry_round(args.id))


def _benchmarks_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--round", type=int, help="only this training round")
    parser.add_argument("--suite", help="only this suite (humaneval, mbpp)")


@command(
    "benchmarks", "benchmark pass@k per training round, the baseline first", _benchmarks_arguments
)
async def benchmarks(client: CrlhfClient, args: argparse.Namespace) -> str:
    """pass@k per round, baseline first, one column per k: before/after reads down a column."""
    results = await client.list_benchmarks(round=args.round, suite=args.suite)
    ks = sorted({k for r in results for k in r.pass_at_k})
    headers = ["round", "suite", "model", "adapter", "n", *(f"pass@{k}" for k in ks), "run id"]
    return table(
        args,
        results,
        headers,
        lambda r: [
            "baseline" if r.round is None else r.round,
            r.suite,
            r.model,
            r.adapter_version,
            r.n,
            *(r.pass_at_k.get(k) for k in ks),
            r.run_id,
        ],
    )
