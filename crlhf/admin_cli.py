"""``crlhf admin``: run a crlhf server from the command line, over HTTP.

Everything goes through :class:`~crlhf.client.CrlhfClient` with an admin token, so the
CLI works against a remote server exactly as against a local one and never opens the
database behind the server's back. Output is an aligned table, or JSON with ``--json``;
failures are one line on stderr (``crlhf.cli`` turns every :class:`CrlhfError` into one).

The server URL and token come from ``--server``/``--token``, else ``$CRLHF_SERVER`` and
``$CRLHF_ADMIN_TOKEN`` (falling back to ``$CRLHF_TOKEN``), else the client config file.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel

from crlhf.client import CrlhfClient
from crlhf.client_config import ENV_ADMIN_TOKEN, ENV_TOKEN, ClientConfig
from crlhf.errors import InvalidInput
from crlhf.hf_export import save_hf_dataset
from crlhf.jsonl import read_jsonl, write_jsonl
from crlhf.schemas import (
    AnnotatorWeight,
    GenerationMeta,
    ProblemIn,
    Role,
    RoundProgress,
    RoundStatus,
    SampleIn,
    TrainingRoundIn,
)
from crlhf.tables import Cell, render_table

M = TypeVar("M", bound=BaseModel)
Handler = Callable[[CrlhfClient, argparse.Namespace], Awaitable[str]]
_HANDLERS: dict[str, Handler] = {}


def _command(name: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        _HANDLERS[name] = handler
        return handler

    return register


def _dump(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def _table(
    args: argparse.Namespace,
    models: Sequence[M],
    headers: Sequence[str],
    row: Callable[[M], Sequence[Cell]],
) -> str:
    if args.json:
        return _dump([m.model_dump(mode="json") for m in models])
    if not models:
        return "(none)\n"
    return render_table(headers, [row(m) for m in models])


def _fields(args: argparse.Namespace, model: BaseModel) -> str:
    """One record as aligned ``key: value`` lines (nested values as compact JSON)."""
    data = model.model_dump(mode="json")
    if args.json:
        return _dump(data)
    return _key_values(data)


def _key_values(data: dict[str, Any]) -> str:
    width = max(len(key) for key in data) + 1
    lines = []
    for key, value in data.items():
        shown = json.dumps(value) if isinstance(value, dict | list) else value
        lines.append(f"{key + ':':<{width}} {'-' if shown is None else shown}")
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------ annotators


@_command("create-annotator")
async def _create_annotator(client: CrlhfClient, args: argparse.Namespace) -> str:
    created = await client.create_annotator(args.name, Role.ADMIN if args.admin else Role.ANNOTATOR)
    if args.json:
        return _dump(created.model_dump(mode="json"))
    a = created.annotator
    return (
        f"Created {a.role.value} {a.name!r} (id {a.id}).\n"
        f"Token (shown only now; store it safely):\n\n    {created.token}\n\n"
        f"To annotate in a terminal:\n"
        f"    CRLHF_SERVER={client.base_url} CRLHF_TOKEN={created.token} crlhf-tui\n"
    )


@_command("disable-annotator")
async def _disable_annotator(client: CrlhfClient, args: argparse.Namespace) -> str:
    return _fields(args, await client.set_annotator_active(args.id, active=False))


@_command("enable-annotator")
async def _enable_annotator(client: CrlhfClient, args: argparse.Namespace) -> str:
    return _fields(args, await client.set_annotator_active(args.id, active=True))


@_command("list-annotators")
async def _list_annotators(client: CrlhfClient, args: argparse.Namespace) -> str:
    annotators = await client.list_annotators()
    stats = await asyncio.gather(*(client.annotator_stats(a.id) for a in annotators))
    if args.json:
        return _dump(
            [
                {**a.model_dump(mode="json"), "stats": s.model_dump(mode="json")}
                for a, s in zip(annotators, stats, strict=True)
            ]
        )
    if not annotators:
        return "(none)\n"
    headers = ["id", "name", "role", "active", "reliability", "samples", "votes", "agreement"]
    rows: list[list[Cell]] = [
        [a.id, a.name, a.role.value, a.active, a.reliability, s.samples_done, s.votes, s.agreement]
        for a, s in zip(annotators, stats, strict=True)
    ]
    return render_table(headers, rows)


@_command("reliability-history")
async def _reliability_history(client: CrlhfClient, args: argparse.Namespace) -> str:
    return _table(
        args,
        await client.reliability_history(args.id),
        ["when", "reliability", "source", "submission"],
        lambda s: [
            s.created_at.isoformat(timespec="seconds"),
            s.reliability,
            s.source,
            str(s.submission_id) if s.submission_id else None,
        ],
    )


# -------------------------------------------------------------------- catalog


@_command("import-problems")
async def _import_problems(client: CrlhfClient, args: argparse.Namespace) -> str:
    problems = read_jsonl(args.file, ProblemIn)
    result = await client.import_problems(problems)
    if args.json:
        return _dump(result.model_dump(mode="json"))
    return (
        f"Imported {len(problems)} problem(s) from {args.file}: {result.created} created, "
        f"{result.updated} updated, {result.unchanged} unchanged.\n"
    )


@_command("import-samples")
async def _import_samples(client: CrlhfClient, args: argparse.Namespace) -> str:
    samples = read_jsonl(args.file, SampleIn)
    result = await client.import_samples(samples)
    if args.json:
        return _dump(result.model_dump(mode="json"))
    honeypots = sum(1 for s in samples if s.gold is not None)
    return (
        f"Imported {len(samples)} sample(s) from {args.file} ({honeypots} honeypot(s) with "
        f"gold): {result.created} created, {result.unchanged} unchanged.\n"
    )


@_command("consensus")
async def _consensus(client: CrlhfClient, args: argparse.Namespace) -> str:
    sample, lines = await asyncio.gather(
        client.get_sample(args.sample_id), client.sample_consensus(args.sample_id)
    )
    if args.json:
        return _dump([c.model_dump(mode="json") for c in lines])
    by_line = {c.line: c for c in lines}
    rows: list[list[Cell]] = []
    for line in sample.lines:
        c = by_line.get(line.number)
        label = None if c is None or c.n_votes == 0 else c.label.name.lower()
        counts = (c.posterior, c.n_votes, c.n_correct, c.n_wrong) if c else (None,) * 4
        rows.append([line.number, *counts, label, line.text[:60]])
    headers = ["line", "P(correct)", "votes", "+1", "-1", "label", "code"]
    kind = " (honeypot)" if sample.is_honeypot else ""
    return f"sample {sample.id}{kind}, problem {sample.problem_id}\n" + render_table(headers, rows)


@_command("rewards")
async def _rewards(client: CrlhfClient, args: argparse.Namespace) -> str:
    rewards = await client.rewards(problem_id=args.problem_id, limit=args.limit)
    return _table(
        args,
        rewards,
        ["sample", "problem", "reward", "c", "k", "votes", "annotators"],
        lambda r: [
            r.sample_id,
            r.problem_id,
            r.reward,
            r.correct_lines,
            r.judged_lines,
            r.n_votes,
            r.n_annotators,
        ],
    )


@_command("refit")
async def _refit(client: CrlhfClient, args: argparse.Namespace) -> str:
    return _fields(args, await client.refit(args.estimator))


@_command("export")
async def _export(client: CrlhfClient, args: argparse.Namespace) -> str:
    rows = await client.export(min_votes=args.min_votes, estimator=args.estimator)
    count = write_jsonl(args.out, rows)
    message = f"Wrote {count} (x, y, s) row(s) to {args.out}"
    if args.hf_dir is not None:
        save_hf_dataset(rows, args.hf_dir)
        message += f" and a Hugging Face dataset to {args.hf_dir}"
    if args.json:
        return _dump({"rows": count, "out": str(args.out), "hf_dir": _opt_str(args.hf_dir)})
    return message + ".\n"


def _opt_str(path: Path | None) -> str | None:
    return None if path is None else str(path)


# --------------------------------------------------------------------- rounds


def _param(text: str) -> tuple[str, float | int | str | bool | None]:
    """``KEY=VALUE``; the value is read as JSON when it is JSON (1, 0.5, true), else text."""
    key, sep, raw = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        return key, raw
    if isinstance(value, dict | list):
        raise argparse.ArgumentTypeError(f"{key}: only numbers, booleans and text are allowed")
    return key, value


@_command("rounds create")
async def _round_create(client: CrlhfClient, args: argparse.Namespace) -> str:
    request = TrainingRoundIn(params=dict(args.param), note=args.note)
    return _fields(args, await client.create_round(request))


def _progress(progress: RoundProgress | None) -> str | None:
    """``training 3/8``: the stage with its step count where the worker knows one."""
    if progress is None:
        return None
    if progress.steps:
        return f"{progress.stage} {progress.step or 0}/{progress.steps}"
    return progress.stage


@_command("rounds list")
async def _round_list(client: CrlhfClient, args: argparse.Namespace) -> str:
    status = RoundStatus(args.status) if args.status else None
    return _table(
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


@_command("rounds show")
async def _round_show(client: CrlhfClient, args: argparse.Namespace) -> str:
    found = await client.get_round(args.id)
    if args.json:
        return _fields(args, found)
    data = found.model_dump(mode="json")
    data["progress"] = _progress(found.progress)
    if found.progress is not None and found.progress.detail:
        data["progress"] += f" ({found.progress.detail})"
    return _key_values(data)


@_command("rounds cancel")
async def _round_cancel(client: CrlhfClient, args: argparse.Namespace) -> str:
    return _fields(args, await client.cancel_round(args.id, args.message))


@_command("adapters current")
async def _adapter_current(client: CrlhfClient, args: argparse.Namespace) -> str:
    current = await client.current_adapter()
    if args.json:
        return _dump(current.model_dump(mode="json"))
    if current.version is None:
        return "base model (no training round has succeeded yet)\n"
    since = current.since.isoformat(timespec="seconds") if current.since else "-"
    return f"{current.version} (round {current.round_id}, since {since})\n"


# ----------------------------------------------------------------- benchmarks


@_command("benchmarks")
async def _benchmarks(client: CrlhfClient, args: argparse.Namespace) -> str:
    """pass@k per round, baseline first, one column per k: before/after reads down a column."""
    results = await client.list_benchmarks(round=args.round, suite=args.suite)
    ks = sorted({k for r in results for k in r.pass_at_k})
    headers = ["round", "suite", "model", "adapter", "n", *(f"pass@{k}" for k in ks), "run id"]
    return _table(
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


# ------------------------------------------------------------- quality control


async def _server_problems(client: CrlhfClient) -> list[ProblemIn]:
    problems, offset = [], 0
    while page := await client.list_problems(limit=1000, offset=offset):
        problems.extend(page)
        offset += len(page)
    return [
        ProblemIn(
            id=p.id,
            title=p.title,
            description=p.description,
            entry_point=p.entry_point,
            tests=p.tests,
            reference_solution=p.reference_solution,
        )
        for p in problems
        if p.reference_solution and p.tests
    ]


@_command("make-honeypots")
async def _make_honeypots(client: CrlhfClient, args: argparse.Namespace) -> str:
    """Mutate reference solutions, keep the mutants their tests catch, import them (or write
    them to --out). The sandboxed executor runs here, on the admin's machine."""
    from crlhf.quality.honeypots import make_honeypots, mbpp_train_problems
    from crlhf.sandbox import Executor

    if args.source == "mbpp":
        problems = mbpp_train_problems(args.mbpp_path)[: args.limit]
    else:
        problems = (await _server_problems(client))[: args.limit]
    meta = GenerationMeta(model=args.model, round=args.round, temperature=args.temperature)
    pots = await asyncio.to_thread(
        make_honeypots,
        problems,
        Executor(),
        per_problem=args.per_problem,
        meta=meta,
        seed=args.seed,
    )
    samples = [p.sample for p in pots]
    if args.out is not None:
        write_jsonl(args.out, samples)
        if args.source == "mbpp":
            write_jsonl(args.out.with_name(args.out.stem + ".problems.jsonl"), problems)
        where = f"wrote them to {args.out}"
    else:
        if args.source == "mbpp":
            await client.import_problems(problems)
        result = await client.import_samples(samples) if samples else None
        where = f"imported {result.created if result else 0} into {client.base_url}"
    if args.json:
        return _dump({"honeypots": len(samples), "problems": len(problems)})
    return f"Made {len(samples)} honeypot(s) from {len(problems)} problem(s); {where}.\n"


@_command("quality")
async def _quality(client: CrlhfClient, args: argparse.Namespace) -> str:
    return _table(
        args,
        await client.quality_annotators(flagged=not args.all),
        ["id", "name", "action", "bal. acc.", "gold", "subs", "empty", "fast", "reason"],
        lambda q: [
            q.annotator_id,
            q.name,
            q.action,
            q.balanced_accuracy,
            q.gold_lines,
            q.submissions,
            q.empty_share,
            q.fast_share,
            q.reason[:60],
        ],
    )


@_command("reinstate")
async def _reinstate(client: CrlhfClient, args: argparse.Namespace) -> str:
    return _fields(args, await client.reinstate(args.id, args.reason))


@_command("quality-actions")
async def _quality_actions(client: CrlhfClient, args: argparse.Namespace) -> str:
    return _table(
        args,
        await client.quality_actions(args.annotator_id),
        ["when", "annotator", "action", "by", "reason"],
        lambda a: [
            a.created_at.isoformat(timespec="seconds"),
            a.annotator_id,
            a.action.value,
            a.actor,
            a.reason[:70],
        ],
    )


@_command("agreement")
async def _agreement(client: CrlhfClient, args: argparse.Namespace) -> str:
    report = await client.agreement(problem_id=args.problem_id, round=args.round)
    if args.json:
        return _dump(report.model_dump(mode="json"))
    head = render_table(
        ["lines", "votes", "Krippendorff alpha", "Fleiss kappa"],
        [[report.n_lines, report.n_votes, report.krippendorff_alpha, report.fleiss_kappa]],
    )
    pairs = render_table(
        ["annotator", "name", "pairwise agreement"],
        [[p.annotator_id, p.name, p.agreement] for p in report.pairwise],
    )
    return head + "\n" + pairs


@_command("provenance")
async def _provenance(client: CrlhfClient, args: argparse.Namespace) -> str:
    people: list[AnnotatorWeight]
    if args.round is not None:
        rp = await client.round_provenance(args.round)
        if args.json:
            return _dump(rp.model_dump(mode="json"))
        head = f"round {rp.round_id} as of {rp.as_of.isoformat(timespec='seconds')}: "
        head += f"{len(rp.samples)} sample(s), {rp.n_votes} vote(s)\n"
        people = rp.annotators
    else:
        sp = await client.sample_provenance(args.sample_id)
        if args.json:
            return _dump(sp.model_dump(mode="json"))
        head = f"sample {sp.sample_id}: reward {sp.reward} ({sp.source}), "
        head += f"{len(sp.votes)} vote(s)\n"
        people = sp.annotators
    return head + render_table(
        ["annotator", "name", "reliability", "weight", "votes"],
        [[a.annotator_id, a.name, a.reliability, a.weight, a.votes] for a in people],
    )


# ------------------------------------------------------------------ argparse


def _common() -> argparse.ArgumentParser:
    """Options every action accepts, after the action name as the server prints them."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--server", help="server URL (default: $CRLHF_SERVER or config file)")
    common.add_argument(
        "--token", help=f"admin token (default: ${ENV_ADMIN_TOKEN}, ${ENV_TOKEN} or config file)"
    )
    common.add_argument("--json", action="store_true", help="print JSON instead of a table")
    common.add_argument("--timeout", type=float, default=60.0, help="seconds per request")
    return common


def configure(parser: argparse.ArgumentParser) -> None:
    common = _common()
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

    def add(name: str, text: str, sub: Any = actions) -> argparse.ArgumentParser:
        action: argparse.ArgumentParser = sub.add_parser(
            name, parents=[common], help=text, description=text
        )
        return action

    create = add("create-annotator", "create an annotator and print their token once")
    create.add_argument("name")
    create.add_argument("--admin", action="store_true", help="give the admin role")
    add("disable-annotator", "disable an annotator (their token stops working)").add_argument(
        "id", type=int
    )
    add("enable-annotator", "enable a disabled annotator again").add_argument("id", type=int)
    add("list-annotators", "annotators with their reliability, samples and agreement")
    add("reliability-history", "an annotator's reliability over time").add_argument("id", type=int)
    add("import-problems", "import problems from JSONL (one ProblemIn per line)").add_argument(
        "file", type=Path
    )
    add("import-samples", "import samples from JSONL ('gold' makes a honeypot)").add_argument(
        "file", type=Path
    )
    add("consensus", "per-line consensus of a sample").add_argument("sample_id")
    rewards = add("rewards", "per-sample rewards s = c / k")
    rewards.add_argument("--problem-id")
    rewards.add_argument("--limit", type=int)
    add("refit", "refit all posteriors, rewards and reliabilities").add_argument(
        "--estimator", help="estimator name (default: the server's)"
    )
    export = add("export", "export the (x, y, s) data set (after a full refit)")
    export.add_argument("--out", type=Path, required=True, help="JSONL file to write")
    export.add_argument("--hf-dir", type=Path, help="also save a Hugging Face dataset here")
    export.add_argument("--min-votes", type=int, help="only samples with at least N votes")
    export.add_argument("--estimator", help="estimator of the refit (default: the server's)")

    bench = add("benchmarks", "benchmark pass@k per training round, the baseline first")
    bench.add_argument("--round", type=int, help="only this training round")
    bench.add_argument("--suite", help="only this suite (humaneval, mbpp)")

    pots = add("make-honeypots", "mutate reference solutions into test-proven honeypots")
    pots.add_argument(
        "--source",
        choices=["server", "mbpp"],
        default="server",
        help="the server's problems with reference and tests, or MBPP's train split",
    )
    pots.add_argument("--mbpp-path", type=Path, default=Path("../shared/data/mbpp/mbpp.jsonl"))
    pots.add_argument("--per-problem", type=int, default=3)
    pots.add_argument("--limit", type=int, help="use at most N problems")
    pots.add_argument("--seed", type=int, default=0)
    pots.add_argument("--model", help="generation meta to match the current samples")
    pots.add_argument("--round", type=int)
    pots.add_argument("--temperature", type=float)
    pots.add_argument("--out", type=Path, help="write JSONL here instead of importing")
    add("quality", "annotators the quality policy flagged or paused").add_argument(
        "--all", action="store_true", help="every annotator, not only flagged ones"
    )
    reinstate = add("reinstate", "lift an annotator's pause (logged)")
    reinstate.add_argument("id", type=int)
    reinstate.add_argument("--reason")
    add("quality-actions", "the log of pauses and reinstatements").add_argument(
        "--annotator-id", type=int
    )
    prov = add("provenance", "votes, annotators and weights behind a reward or a round")
    which = prov.add_mutually_exclusive_group(required=True)
    which.add_argument("--sample-id")
    which.add_argument("--round", type=int, help="training round id")
    agreement = add("agreement", "Krippendorff's alpha, Fleiss' kappa, pairwise agreement")
    agreement.add_argument("--problem-id")
    agreement.add_argument("--round", type=int, help="generation round of the samples")

    rounds = actions.add_parser("rounds", help="training rounds", description="training rounds")
    round_actions = rounds.add_subparsers(dest="round_action", required=True, metavar="ACTION")
    new = add("create", "request a training round", round_actions)
    new.add_argument(
        "--param",
        type=_param,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a setting for the trainer, e.g. epochs=2 (repeatable)",
    )
    new.add_argument("--note")
    listing = add("list", "training rounds, newest first", round_actions)
    listing.add_argument("--status", choices=[s.value for s in RoundStatus])
    add("show", "one training round", round_actions).add_argument("id", type=int)
    cancel = add("cancel", "cancel a requested or running round", round_actions)
    cancel.add_argument("id", type=int)
    cancel.add_argument("--message", help="why (stored with the round)")

    adapters = actions.add_parser(
        "adapters", help="adapter versions", description="adapter versions"
    )
    adapter_actions = adapters.add_subparsers(
        dest="adapter_action", required=True, metavar="ACTION"
    )
    add("current", "the adapter new samples come from (latest succeeded round)", adapter_actions)


async def _run(args: argparse.Namespace) -> str:
    name = args.action
    if name == "rounds":
        name = f"rounds {args.round_action}"
    elif name == "adapters":
        name = f"adapters {args.adapter_action}"
    config = ClientConfig.load(args.server, args.token, token_env=(ENV_ADMIN_TOKEN, ENV_TOKEN))
    async with CrlhfClient.from_config(config, timeout=args.timeout) as client:
        return await _HANDLERS[name](client, args)


def run(args: argparse.Namespace) -> int:
    if not args.verbose:  # one line per HTTP request is noise in a command's output
        logging.getLogger("httpx").setLevel(logging.WARNING)
    if args.timeout <= 0:
        raise InvalidInput("--timeout must be positive", field="timeout")
    sys.stdout.write(asyncio.run(_run(args)))
    return 0
