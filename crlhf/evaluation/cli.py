"""``crlhf bench``: pass@k of a model (or of the reference solutions) on HumanEval or MBPP.

Run the same command again to resume a killed run: the run id is derived from the
settings unless ``--run-id`` names one. ``--plot`` draws pass@k per round from every
finished run under ``--out``. ``--server`` posts the result to a crlhf server, tagged with
``--round`` (none: the baseline). torch is imported only when a model is loaded.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from crlhf.arg_types import parse_ks
from crlhf.client_config import ENV_ADMIN_TOKEN, ENV_TOKEN, ClientConfig
from crlhf.errors import InvalidInput
from crlhf.evaluation.runstore import RunStore
from crlhf.evaluation.suites import load_problems, suite_name
from crlhf.generation.cli import add_model_options, build_generator
from crlhf.sandbox import Executor, Limits

if TYPE_CHECKING:  # tqdm (the train extra): imported when a bench runs, not for --help
    from crlhf.evaluation.bench import Completer


def configure(parser: argparse.ArgumentParser) -> None:
    add_model_options(parser)
    parser.add_argument(
        "--reference", action="store_true", help="run the reference solutions instead of a model"
    )
    parser.add_argument(
        "--n", type=int, help="samples per problem (default: 100; 1 with --temperature 0)"
    )
    parser.add_argument(
        "--k", type=parse_ks, help="comma-separated k values (default: 1,10,100; 1 when greedy)"
    )
    parser.add_argument("--run-id", help="name of the run (default: derived from the settings)")
    parser.add_argument("--out", type=Path, default=Path("runs/bench"), help="runs directory")
    parser.add_argument("--workers", type=int, help="parallel sandbox runners (default: 2 x CPUs)")
    parser.add_argument(
        "--timeout", type=float, default=Limits.timeout_s, help="seconds per sample"
    )
    parser.add_argument(
        "--plot", type=Path, help="write a PNG of pass@k per round of the runs in --out"
    )
    parser.add_argument(
        "--server", help="post the result to this crlhf server (admins see pass@k per round)"
    )
    parser.add_argument(
        "--token", help=f"admin token for --server (default: ${ENV_ADMIN_TOKEN}, ${ENV_TOKEN})"
    )


def default_run_id(args: argparse.Namespace) -> str:
    suite = suite_name(args.suite, args.problems)
    if args.reference:
        return f"{suite}-reference-n{args.n}"
    source = Path(str(args.model)).name
    version = adapter_version(args) or "base"
    round_part = f"r{args.round}" if args.round is not None else "r0"
    style = "" if args.prompt_style == "auto" else f"-{args.prompt_style}"
    raw = (
        f"{suite}-{source}-{version}-{round_part}-n{args.n}-t{args.temperature}-s{args.seed}{style}"
    )
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", raw)


def adapter_version(args: argparse.Namespace) -> str | None:
    """The adapter's version as the run id names it (None: the base model)."""
    if args.reference:
        return None
    version: str | None = args.adapter_version or (
        Path(args.adapter).name if args.adapter else None
    )
    return version


def run(args: argparse.Namespace) -> int:
    from crlhf.evaluation.bench import BenchConfig, reference_completer, run_bench

    greedy = args.temperature == 0 and not args.reference
    if args.n is None:
        args.n = 1 if greedy else 100
    if args.k is None:
        args.k = (1,) if greedy else (1, 10, 100)
    # Resolve the server before a long run, so a missing token fails at once.
    server = (
        ClientConfig.load(args.server, args.token, token_env=(ENV_ADMIN_TOKEN, ENV_TOKEN))
        if args.server
        else None
    )
    if args.reference or args.model:
        completer: Completer = reference_completer if args.reference else build_generator(args)
        config = BenchConfig(
            suite=suite_name(args.suite, args.problems),
            n=args.n,
            ks=args.k,
            model="reference" if args.reference else args.model,
            adapter=args.adapter,
            round=args.round,
            temperature=None if args.reference else args.temperature,
            max_new_tokens=None if args.reference else args.max_new_tokens,
            seed=None if args.reference else args.seed,
            limit=args.limit,
            prompt_style=None if args.reference else getattr(completer, "style", None),
        )
        store = RunStore(args.out, args.run_id or default_run_id(args))
        executor = Executor(Limits(timeout_s=args.timeout), workers=args.workers)
        problems = load_problems(
            args.suite, problems_file=args.problems, mbpp_path=args.mbpp_path, server=server
        )
        summary = run_bench(problems, completer, executor, store, config)
        printed = {
            "run_id": store.run_id,
            "pass_at_k": summary["pass_at_k"],
            "n_problems": summary["n_problems"],
            "not_run": summary["not_run"],
            "outcomes": summary["outcomes"],
            "results": str(store.summary_path),
        }
        if server is not None and not summary["n_problems"]:
            printed["posted"] = None  # nothing was executed: there is no pass@k to post
        elif server is not None:
            from crlhf.evaluation.post import post_result, result_from_summary

            result = result_from_summary(summary, config, adapter_version(args))
            stored = asyncio.run(post_result(server, result))
            printed["posted"] = {"server": server.server, "id": stored.id, "round": stored.round}
        sys.stdout.write(json.dumps(printed) + "\n")
    elif not args.plot:
        raise InvalidInput(
            "give --model (or --reference) to run a benchmark, or --plot", field="model"
        )
    if args.plot:
        from crlhf.evaluation.plot import load_summaries, plot_rounds

        plot_rounds(load_summaries(args.out), args.plot)
        sys.stdout.write(f"wrote {args.plot}\n")
    return 0
