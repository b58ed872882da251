"""``crlhf admin`` commands about data: import problems and samples, consensus, rewards,
refit and export."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from crlhf.admin.command import command
from crlhf.admin.output import dump, fields, table
from crlhf.client import CrlhfClient
from crlhf.hf_export import save_hf_dataset
from crlhf.jsonl import read_jsonl, write_jsonl
from crlhf.problem_formats import read_problems
from crlhf.schemas import SampleIn
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
        rows.append([line.number, *counts, label, line.text[:60]])
    headers = ["line", "P(correct)", "votes", "+1", "-1", "label", "code"]
    kind = " (honeypot)" if sample.is_honeypot else ""
    return f"sample {sample.id}{kind}, problem {sample.problem_id}\n" + render_table(headers, rows)


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
    return fields(args, await client.refit(args.estimator))


def _export_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, required=True, help="JSONL file to write")
    parser.add_argument("--hf-dir", type=Path, help="also save a Hugging Face dataset here")
    parser.add_argument("--min-votes", type=int, help="only samples with at least N votes")
    parser.add_argument("--estimator", help="estimator of the refit (default: the server's)")


@command("export", "export the (x, y, s) data set (after a full refit)", _export_arguments)
async def export(client: CrlhfClient, args: argparse.Namespace) -> str:
    rows = await client.export(min_votes=args.min_votes, estimator=args.estimator)
    count = write_jsonl(args.out, rows)
    message = f"Wrote {count} (x, y, s) row(s) to {args.out}"
    if args.hf_dir is not None:
        save_hf_dataset(rows, args.hf_dir)
        message += f" and a Hugging Face dataset to {args.hf_dir}"
    if args.json:
        hf_dir = None if args.hf_dir is None else str(args.hf_dir)
        return dump({"rows": count, "out": str(args.out), "hf_dir": hf_dir})
    return message + ".\n"
