"""``crlhf admin`` quality-control commands: honeypots, flags and pauses, agreement and
provenance."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from crlhf.admin.command import command
from crlhf.admin.output import dump, fields, table
from crlhf.client import CrlhfClient
from crlhf.evaluation.mbpp import ENV_PATH as MBPP_ENV_PATH
from crlhf.jsonl import write_jsonl
from crlhf.schemas import DEFAULT_LANGUAGE, AnnotatorWeight, GenerationMeta, ProblemIn
from crlhf.tables import render_table


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
        if p.reference_solution and p.tests and p.language == DEFAULT_LANGUAGE  # run in Python
    ]


def _honeypot_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--source",
        choices=["server", "mbpp"],
        default="server",
        help="the server's problems with reference and tests, or MBPP's train split",
    )
    parser.add_argument(
        "--mbpp-path", type=Path, help=f"mbpp.jsonl for --source mbpp (default: ${MBPP_ENV_PATH})"
    )
    parser.add_argument("--per-problem", type=int, default=3)
    parser.add_argument("--limit", type=int, help="use at most N problems")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--model", help="generation meta to match the current samples")
    parser.add_argument("--round", type=int)
    parser.add_argument("--temperature", type=float)
    parser.add_argument("--out", type=Path, help="write JSONL here instead of importing")


@command(
    "make-honeypots", "mutate reference solutions into test-proven honeypots", _honeypot_arguments
)
async def make_honeypots(client: CrlhfClient, args: argparse.Namespace) -> str:
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
        return dump({"honeypots": len(samples), "problems": len(problems)})
    return f"Made {len(samples)} honeypot(s) from {len(problems)} problem(s); {where}.\n"


def _quality_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--all", action="store_true", help="every annotator (admins too), not only flagged ones"
    )


@command("quality", "annotators the quality policy flagged or paused", _quality_arguments)
async def quality(client: CrlhfClient, args: argparse.Namespace) -> str:
    return table(
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


def _reinstate_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("id", type=int)
    parser.add_argument("--reason")


@command("reinstate", "lift an annotator's pause (logged)", _reinstate_arguments)
async def reinstate(client: CrlhfClient, args: argparse.Namespace) -> str:
    return fields(args, await client.reinstate(args.id, args.reason))


def _actions_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--annotator-id", type=int)


@command("quality-actions", "the log of pauses and reinstatements", _actions_arguments)
async def quality_actions(client: CrlhfClient, args: argparse.Namespace) -> str:
    return table(
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


def _provenance_arguments(parser: argparse.ArgumentParser) -> None:
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--sample-id")
    which.add_argument("--round", type=int, help="training round id")


@command(
    "provenance",
    "votes, annotators and weights behind a reward or a round",
    _provenance_arguments,
)
async def provenance(client: CrlhfClient, args: argparse.Namespace) -> str:
    people: list[AnnotatorWeight]
    tail = ""
    if args.round is not None:
        rp = await client.round_provenance(args.round)
        if args.json:
            return dump(rp.model_dump(mode="json"))
        head = f"round {rp.round_id} as of {rp.as_of.isoformat(timespec='seconds')}: "
        head += f"{len(rp.samples)} sample(s), {rp.n_votes} vote(s)\n"
        people = rp.annotators
    else:
        sp = await client.sample_provenance(args.sample_id)
        if args.json:
            return dump(sp.model_dump(mode="json"))
        head = f"sample {sp.sample_id}: reward {sp.reward} ({sp.source}), "
        head += f"{len(sp.votes)} vote(s)\n"
        people = sp.annotators
        commented = [v for v in sp.votes if v.comment]
        if commented:
            tail = "\ncomments:\n" + render_table(
                ["line", "annotator", "comment"],
                [[v.line, v.annotator_id, v.comment] for v in commented],
            )
    return (
        head
        + render_table(
            ["annotator", "name", "reliability", "weight", "votes"],
            [[a.annotator_id, a.name, a.reliability, a.weight, a.votes] for a in people],
        )
        + tail
    )


def _agreement_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--problem-id")
    parser.add_argument("--round", type=int, help="generation round of the samples")


@command(
    "agreement", "Krippendorff's alpha, Fleiss' kappa, pairwise agreement", _agreement_arguments
)
async def agreement(client: CrlhfClient, args: argparse.Namespace) -> str:
    report = await client.agreement(problem_id=args.problem_id, round=args.round)
    if args.json:
        return dump(report.model_dump(mode="json"))
    head = render_table(
        ["lines", "votes", "Krippendorff alpha", "Fleiss kappa"],
        [[report.n_lines, report.n_votes, report.krippendorff_alpha, report.fleiss_kappa]],
    )
    pairs = render_table(
        ["annotator", "name", "pairwise agreement"],
        [[p.annotator_id, p.name, p.agreement] for p in report.pairwise],
    )
    notes = []
    if report.krippendorff_alpha is None or report.fleiss_kappa is None:
        notes.append(
            "alpha and kappa are '-' until two annotators have voted on the same lines "
            "(and the votes are not all one label)"
        )
    if any(p.agreement is None for p in report.pairwise):
        notes.append(
            "pairwise '-': nobody else has voted on that annotator's lines yet (agreement is "
            "measured on lines two annotators share)"
        )
    return (
        head + "\n" + pairs + "".join(f"\nNote: {note}" for note in notes) + ("\n" if notes else "")
    )
