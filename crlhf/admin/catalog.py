"""``crlhf admin`` commands about data: import problems and samples, consensus, rewards,
refit and export."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from crlhf.admin.command import command
from crlhf.admin.output import dump, fields, table
from crlhf.client import CrlhfClient
from crlhf.errors import InvalidInput
from crlhf.hf_export import save_hf_dataset
from crlhf.jsonl import read_jsonl, write_jsonl
from crlhf.problem_formats import read_problems
from crlhf.schemas import RefitResult, SampleIn
from crlhf.tables import Cell, render_table


def _file_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=Path)


@command(
    "import-problems",
    "import problems from JSONL (crlhf or HumanEval/MBPP-style rows; docs/clients.md)",
    _file_argument,
)
async def import_problems(client: CrlhfClient, args: argparse.Namespace) -> str:
    problems = read_problems(args.file)  # the whole file is checked before anything is sent
    result = await client.import_problems(problems)
    if args.json:
        return dump(result.model_dump(mode="json"))
    return (
        f"Imported {len(problems)} problem(s) from {args.file}: {result.created} created, "
        f"{result.updated} updated, {result.unchanged} unchanged.\n"
    )


@command("import-samples", "import samples from JSONL ('gold' makes a honeypot)", _file_argument)
async def import_samples(client: CrlhfClient, args: argparse.Namespace) -> str:
    samples = read_jsonl(args.file, SampleIn)
    result = await client.import_samples(samples)
    if args.json:
        return dump(result.model_dump(mode="json"))
    honeypots = sum(1 for s in samples if s.gold is not None)
    return (
        f"Imported {len(samples)} sample(s) from {args.file} ({honeypots} honeypot(s) with "
        f"gold): {result.created} created, {result.unchanged} unchanged.\n"
    )


def _consensus_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("sample_id")


@command("consensus", "per-line consensus of a sample", _consensus_arguments)
async def consensus(client: CrlhfClient, args: argparse.Namespace) -> str:
    sample, lines = await asyncio.gather(
        client.get_sample(args.sample_id), client.sample_consensus(args.sample_id)
    )
    if args.json:
        return dump([c.model_dump(mode="json") for c in lines])
    by_line = {c.line: c for c in lines}
    rows: list[list[Cell]] = []
    for line in sample.lines:
        c = by_line.get(line.number)
        label = None if c is None or c.n_votes == 0 else c.label.name.lower()
        counts = (c.posterior, c.n_votes, c.n_correct, c.n_wrong) if c else (None,) * 4
        comments = " | ".join(c.comments) if c else ""
        rows.append([line.number, *counts, label, line.text[:60], comments])
    headers = ["line", "P(correct)", "votes", "+1", "-1", "label", "code", "comments"]
    kind = " (honeypot)" if sample.is_honeypot else ""
    table_text = render_table(headers, rows)
    ending = "" if table_text.endswith("\n") else "\n"
    return f"sample {sample.id}{kind}, problem {sample.problem_id}\n{table_text}{ending}"


def _rewards_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--problem-id")
    parser.add_argument("--limit", type=int)


@command("rewards", "per-sample rewards s = c / k", _rewards_arguments)
async def rewards(client: CrlhfClient, args: argparse.Namespace) -> str:
    return table(
        args,
        await client.rewards(problem_id=args.problem_id, limit=args.limit),
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


def _refit_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--estimator", help="estimator name (default: the server's)")


@command("refit", "refit all posteriors, rewards and reliabilities", _refit_arguments)
async def refit(client: CrlhfClient, args: argparse.Namespace) -> str:
    result = await client.refit(args.estimator)
    return fields(args, result) if args.json else refit_summary(result) + "\n"


def _export_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, required=True, help="JSONL file to write")
    parser.add_argument("--hf-dir", type=Path, help="also save a Hugging Face dataset here")
    parser.add_argument(
        "--min-annotators",
        type=int,
        metavar="N",
        help="only samples judged by at least N different annotators (their current submissions)",
    )
    parser.add_argument(
        "--min-votes",
        type=int,
        metavar="N",
        help="only samples with at least N line votes (one annotator casts one vote per "
        "judged line, so this counts lines x annotators, not people)",
    )
    parser.add_argument("--estimator", help="estimator of the refit (default: the server's)")
    parser.add_argument(
        "--no-refit",
        action="store_true",
        help="export the rewards as stored (the last refit's, updated by submissions since) "
        "instead of refitting first",
    )


def refit_summary(result: RefitResult) -> str:
    """What a refit changed, in one line an admin can act on."""

    def prior(value: float | None) -> str:
        return "configured" if value is None else f"{value:.3f}"

    one = result.reliabilities_changed == 1
    p0 = (
        f"p0 {prior(result.class_prior_before)}"
        if result.class_prior_before == result.class_prior_after
        else f"p0 {prior(result.class_prior_before)} -> {prior(result.class_prior_after)}"
    )
    return (
        f"Refit {result.estimator} on {result.n_votes} vote(s): {p0}; "
        f"{result.rewards_changed} reward(s) changed (max {result.max_reward_change:.3f}); "
        f"{result.reliabilities_changed} shown reliabilit{'y' if one else 'ies'} changed "
        f"(max {result.max_reliability_change:.3f})."
    )


@command("export", "export the (x, y, s) data set (after a full refit)", _export_arguments)
async def export(client: CrlhfClient, args: argparse.Namespace) -> str:
    for flag in ("min_annotators", "min_votes"):
        value = getattr(args, flag)
        if value is not None and value < 1:
            raise InvalidInput("must be at least 1", field=flag.replace("_", "-"))
    data = await client.export_data(
        min_votes=args.min_votes,
        min_annotators=args.min_annotators,
        estimator=args.estimator,
        refit=not args.no_refit,
    )
    count = write_jsonl(args.out, data.rows)
    message = f"Wrote {count} (x, y, s) row(s) to {args.out}"
    if args.hf_dir is not None:
        save_hf_dataset(data.rows, args.hf_dir)
        message += f" and a Hugging Face dataset to {args.hf_dir}"
    if args.json:
        hf_dir = None if args.hf_dir is None else str(args.hf_dir)
        refit = None if data.refit is None else data.refit.model_dump(mode="json")
        return dump({"rows": count, "out": str(args.out), "hf_dir": hf_dir, "refit": refit})
    first = "Exported without a refit (stored rewards).\n" if data.refit is None else ""
    if data.refit is not None:
        first = refit_summary(data.refit) + "\n"
    return first + message + ".\n"
