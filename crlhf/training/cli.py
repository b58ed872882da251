"""``crlhf train-round``: one PPO round from an export file or from the server.

Offline: ``--data export.jsonl`` trains on a file written by ``crlhf admin export``.
Online: ``--from-server`` creates a training round on the server, or ``--round-id N``
takes a requested one; the command then moves it to ``running``, trains on the server's
export (only samples with ``--min-votes`` votes), and ends it as ``succeeded`` with the
new adapter version and the metrics, or ``failed`` with the reason. Either way the new
version is saved under ``--out-dir`` (see :mod:`crlhf.training.adapters`).

Under ``accelerate launch`` with several processes the same command trains data-parallel
(:mod:`crlhf.training.launched`); ``--progress-json`` writes the round's progress as JSON
lines on stdout, which is how ``crlhf worker`` follows a launched round.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import re
import sys
from pathlib import Path
from typing import Any

from crlhf.client import CrlhfClient
from crlhf.client_config import ENV_ADMIN_TOKEN, ENV_TOKEN, ClientConfig
from crlhf.errors import CrlhfError, InvalidFile
from crlhf.generation.precision import DTYPE_NAMES
from crlhf.jsonl import read_jsonl
from crlhf.schemas import (
    ExportRow,
    RoundStatus,
    RoundTransition,
    TrainingRound,
    TrainingRoundIn,
)
from crlhf.training.config import PPOConfig, make_config
from crlhf.training.distributed import DataParallel, from_launcher, portable
from crlhf.training.round import RoundResult, StepCallback, fetch_rows, run_round

logger = logging.getLogger(__name__)

VERSION_PATTERN = re.compile(r"^v(\d+)$")


def next_version(root: Path) -> str:
    """``v0001`` for an empty root, else one past the highest ``vNNNN`` there."""
    numbers = [
        int(match.group(1))
        for child in (root.iterdir() if root.is_dir() else [])
        if (match := VERSION_PATTERN.match(child.name))
    ]
    return f"v{max(numbers, default=0) + 1:04d}"


def _setting(text: str) -> tuple[str, Any]:
    key, sep, raw = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    try:
        return key.strip(), json.loads(raw)
    except json.JSONDecodeError:
        return key.strip(), raw


def _settings(args: argparse.Namespace, round_params: dict[str, Any]) -> PPOConfig:
    """Config file < round params from the server < ``--set`` < dedicated flags
    (``--seed``, ``--min-votes``, ``--dtype``, ``--gradient-checkpointing``)."""
    values: dict[str, Any] = {}
    if args.config is not None:
        try:
            values.update(json.loads(args.config.read_text(encoding="utf-8")))
        except (OSError, json.JSONDecodeError, TypeError, ValueError) as exc:
            raise InvalidFile(f"{args.config}: not a JSON object of PPO settings: {exc}") from exc
    known = set(PPOConfig.model_fields)
    ignored = sorted(set(round_params) - known)
    if ignored:
        logger.info("round params not for the PPO trainer, ignored: %s", ", ".join(ignored))
    values.update({k: v for k, v in round_params.items() if k in known})
    values.update(dict(args.set))
    for flag in ("seed", "min_votes", "dtype", "gradient_checkpointing"):
        if getattr(args, flag) is not None:
            values[flag] = getattr(args, flag)
    return make_config(values)


def emit(event: str, **fields: object) -> None:
    """One JSON line of progress on stdout (``--progress-json``), flushed at once: the
    reader is ``crlhf worker``, which forwards it to the server's heartbeat."""
    sys.stdout.write(json.dumps({"event": event, **fields}) + "\n")
    sys.stdout.flush()


def _on_step(args: argparse.Namespace) -> StepCallback | None:
    if not args.progress_json:
        return None

    def report(done: int, total: int) -> None:
        emit("step", done=done, total=total)

    return report


def _train(
    args: argparse.Namespace,
    rows: list[ExportRow],
    config: PPOConfig,
    round_id: int | None,
    *,
    version: str | None = None,
    parallel: DataParallel | None = None,
) -> RoundResult:
    return run_round(
        rows,
        base_model=args.base_model,
        out_root=args.out_dir,
        version=version or args.version or next_version(args.out_dir),
        config=config,
        parent=args.parent,
        round_id=round_id,
        progress=not args.no_progress,
        on_step=_on_step(args) if parallel is None or parallel.rank == 0 else None,
        parallel=parallel,
    )


def _client_config(args: argparse.Namespace) -> ClientConfig:
    return ClientConfig.load(args.server, args.token, token_env=(ENV_ADMIN_TOKEN, ENV_TOKEN))


async def _open_round(
    client: CrlhfClient, args: argparse.Namespace, note: str
) -> tuple[TrainingRound, PPOConfig]:
    """The requested (``--round-id``) or a new round, moved to ``running``, and its
    settings."""
    if args.round_id is not None:
        training_round = await client.get_round(args.round_id)
    else:
        shown = {k: v for k, v in args.set if v is None or isinstance(v, int | float | str)}
        training_round = await client.create_round(TrainingRoundIn(params=shown, note=note))
    config = _settings(args, dict(training_round.params))
    await client.transition_round(training_round.id, RoundTransition(status=RoundStatus.RUNNING))
    return training_round, config


async def _report_failure(client: CrlhfClient, round_id: int, exc: BaseException) -> None:
    """Mark the round ``failed`` with ``exc`` as the reason (logged if that fails too)."""
    reason = f"{type(exc).__name__}: {exc}"[:10_000]
    try:
        await client.transition_round(
            round_id, RoundTransition(status=RoundStatus.FAILED, message=reason)
        )
    except CrlhfError as report_error:
        logger.error("could not mark round %d failed: %s", round_id, report_error)


async def _report_success(
    client: CrlhfClient, round_id: int, result: RoundResult, message: str
) -> None:
    await client.transition_round(
        round_id,
        RoundTransition(
            status=RoundStatus.SUCCEEDED,
            adapter_version=result.version,
            metrics=result.manifest.metrics,
            message=message,
        ),
    )


async def _online(args: argparse.Namespace) -> RoundResult:
    """Register the round with the server around the training; a failure marks it failed."""
    async with CrlhfClient.from_config(_client_config(args)) as client:
        training_round, config = await _open_round(client, args, "crlhf train-round")
        try:
            rows = await fetch_rows(client, min_votes=config.min_votes, estimator=args.estimator)
            result = _train(args, rows, config, training_round.id)
        except BaseException as exc:
            await _report_failure(client, training_round.id, exc)
            raise
        await _report_success(client, training_round.id, result, f"saved to {result.directory}")
        return result


def add_ppo_options(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """The options :func:`_settings` reads; shared with ``crlhf worker``."""
    parser.add_argument("--config", type=Path, help="JSON file of PPO settings")
    parser.add_argument(
        "--set",
        type=_setting,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a PPO setting, e.g. learning_rate=1e-4 (repeatable; see docs/training.md)",
    )
    parser.add_argument("--seed", type=int, help="seed (default 0)")
    parser.add_argument(
        "--dtype",
        choices=DTYPE_NAMES,
        help="precision of the base model (default float32; auto: the checkpoint's); "
        "sample in the same one",
    )
    parser.add_argument(
        "--gradient-checkpointing",
        action="store_true",
        default=None,
        help="recompute activations in the backward pass: less memory, slower",
    )
    parser.add_argument("--min-votes", type=int, help="train only on samples with N+ votes")
    parser.add_argument("--estimator", help="estimator of the server's refit before export")


def configure(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--data", type=Path, help="export JSONL of (x, y, s) triples")
    source.add_argument(
        "--from-server",
        action="store_true",
        help="create a round on the server and train on its export",
    )
    source.add_argument("--round-id", type=int, help="run this requested round of the server")
    parser.add_argument(
        "--base-model", required=True, help="local model directory (or hub cache name)"
    )
    parser.add_argument("--out-dir", type=Path, required=True, help="folder of adapter versions")
    parser.add_argument("--version", help="name of the new version (default: next vNNNN)")
    parser.add_argument("--parent", type=Path, help="adapter version to continue from")
    add_ppo_options(parser)
    parser.add_argument("--server", help="server URL (default: $CRLHF_SERVER or config file)")
    parser.add_argument("--token", help=f"admin token (default: ${ENV_ADMIN_TOKEN} or config)")
    parser.add_argument(
        "--for-round",
        type=int,
        metavar="ID",
        help="with --data: record server round ID in the manifest (crlhf worker uses it)",
    )
    parser.add_argument("--json", action="store_true", help="print the manifest as JSON")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument(
        "--progress-json",
        action="store_true",
        help="write progress, the result or the error as JSON lines on stdout (rank 0)",
    )


def run(args: argparse.Namespace) -> int:
    if not args.verbose:
        logging.getLogger("httpx").setLevel(logging.WARNING)
    parallel = from_launcher()  # None unless accelerate launch started several processes
    try:
        if parallel is not None:
            from crlhf.training.launched import train_launched

            result = train_launched(args, parallel)
        elif args.data is not None:
            config = _settings(args, {})
            rows = read_jsonl(args.data, ExportRow)
            result = _train(args, rows, config, args.for_round)
        else:
            result = asyncio.run(_online(args))
    except Exception as exc:
        if args.progress_json:
            # Every rank: the launcher stops the others as soon as one exits, so the
            # first rank to fail may be the only one that gets to say why.
            code, message, field = portable(exc)
            rank = 0 if parallel is None else parallel.rank
            emit("error", rank=rank, code=code, message=message[:2000], field=field)
        raise
    if parallel is not None and parallel.rank > 0:
        return 0  # rank 0 reports the round
    manifest = result.manifest
    if args.progress_json:
        emit("done", version=result.version, directory=str(result.directory))
        return 0
    if args.json:
        sys.stdout.write(manifest.model_dump_json(indent=2) + "\n")
        return 0
    metrics = manifest.metrics
    sys.stdout.write(
        f"{result.version}: {manifest.data['samples']} samples, "
        f"score {metrics['score_mean']:.3f}, KL(ref) {metrics['kl_ref']:.4f}, "
        f"{metrics['tokens_per_second']:.0f} tokens/s -> {result.directory}\n"
    )
    return 0
