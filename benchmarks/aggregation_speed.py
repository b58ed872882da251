"""Aggregation speed: the default estimator against crowd-kit 1.4.2 on 1M and 10M votes.

    .venv/bin/python benchmarks/aggregation_speed.py            # full run (10+ minutes)
    .venv/bin/python benchmarks/aggregation_speed.py --quick    # smoke run (seconds)

On one simulated two-coin crowd per size (overlap 5, 5% honeypots), it times the default
estimator's fit (reliabilities and line posteriors, ``posterior_``) plus the per-sample
rewards, and crowd-kit's DawidSkene (default settings, given the same gold) and
MajorityVote on the same votes. crowd-kit gets its native input, a pandas DataFrame built
outside the timer. Each crowd-kit fit runs in a child process under a time limit, so a fit
that does not finish (or runs out of memory) is reported as such instead of hanging the run.

Then the incremental update: the median wall time of :func:`apply_submission` for one
30-line submission on a sample that four other annotators already judged (so ~5 voters per
line), over many calls; honeypot and ordinary samples, with and without soft counts.

Targets (issue 2): 10M votes in < 10 s and >= 10x faster than crowd-kit DawidSkene;
incremental < 1 ms.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _aggregation import fmt, gold_series, print_table, to_frame

from crlhf.engine.config import EngineConfig
from crlhf.engine.estimators import make_estimator
from crlhf.engine.incremental import AnnotatorState, SampleVote, apply_submission
from crlhf.engine.reward import sample_rewards
from crlhf.engine.simulate import CrowdConfig, SimulatedCrowd, simulate_crowd

LINES_PER_SAMPLE = 20  # the simulator's mean with lines in [5, 35]
OVERLAP = 5


def crowd_for(n_votes: int) -> SimulatedCrowd:
    n_samples = max(1, n_votes // (LINES_PER_SAMPLE * OVERLAP))
    return simulate_crowd(
        CrowdConfig(n_samples=n_samples, overlap=OVERLAP, two_coin=True, honeypot_rate=0.05)
    )


def time_ours(crowd: SimulatedCrowd, config: EngineConfig) -> tuple[float, float]:
    """Seconds for the default estimator's fit, and for the rewards from its posterior."""
    estimator = make_estimator(config.estimator, **config.estimator_options)
    start = time.perf_counter()
    estimator.fit(crowd.votes, line_sample=crowd.line_sample)
    fit = time.perf_counter() - start
    start = time.perf_counter()
    sample_rewards(estimator.posterior_, crowd.line_sample, crowd.votes, config)
    return fit, time.perf_counter() - start


def crowdkit_child(method: str, n_votes: int) -> None:
    """Run in a child process: rebuild the same crowd, time one crowd-kit fit, print JSON."""
    from crowdkit.aggregation import DawidSkene, MajorityVote

    crowd = crowd_for(n_votes)
    df = to_frame(crowd.votes)
    gold = gold_series(crowd.votes)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if method == "ds":
            DawidSkene().fit(df, true_labels=gold)
        else:
            MajorityVote().fit(df)
    print(json.dumps({"seconds": time.perf_counter() - start}))


def time_crowdkit(method: str, n_votes: int, limit_s: float) -> tuple[float | None, str]:
    """Seconds of one crowd-kit fit in a child process, or None with the reason it failed."""
    command = [sys.executable, __file__, "--crowdkit-child", method, "--votes", str(n_votes)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=limit_s, check=False)
    except subprocess.TimeoutExpired:
        return None, f"did not finish in {limit_s:.0f} s"
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return None, f"failed (exit {done.returncode}: {tail[:80]})"
    seconds = float(json.loads(done.stdout.strip().splitlines()[-1])["seconds"])
    return seconds, ""


def incremental_timings(config: EngineConfig, calls: int) -> list[list[str]]:
    """Median µs of apply_submission for a 30-line submission with 4 earlier submitters."""
    rng = random.Random(0)
    lines = list(range(1, 31))
    states = {
        a: AnnotatorState(rng.uniform(1, 50), rng.uniform(1, 10), rng.uniform(1, 20), 5.0)
        for a in range(5)
    }
    votes = [SampleVote(a, line, rng.choice((1, -1))) for a in range(5) for line in lines]
    previous = [SampleVote(4, line, rng.choice((1, -1))) for line in lines]
    gold = {line: rng.choice((1, -1)) for line in lines}
    rows = []
    for soft in (False, True):
        cfg = config.model_copy(update={"soft_counts": soft})
        for label, sample_gold, prev in (
            ("ordinary sample", None, ()),
            ("honeypot sample", gold, ()),
            ("revision of a honeypot", gold, previous),
        ):
            samples = []
            for _ in range(calls):
                start = time.perf_counter_ns()
                apply_submission(cfg, 4, lines, votes, states, sample_gold, prev)
                samples.append((time.perf_counter_ns() - start) / 1000)
            rows.append(
                [
                    f"{label}, soft_counts={soft}",
                    f"{statistics.median(samples):.1f}",
                    f"{np.percentile(samples, 99):.1f}",
                ]
            )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny smoke run (seconds)")
    parser.add_argument("--crowdkit-child", choices=("ds", "mv"), help=argparse.SUPPRESS)
    parser.add_argument("--votes", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument(
        "--crowdkit-limit", type=float, default=900.0, help="seconds per crowd-kit fit"
    )
    args = parser.parse_args(argv)
    if args.crowdkit_child:
        crowdkit_child(args.crowdkit_child, args.votes)
        return 0
    logging.basicConfig(level=logging.ERROR)
    config = EngineConfig()
    sizes = [20_000] if args.quick else [1_000_000, 10_000_000]
    calls = 200 if args.quick else 20_000

    print(f"Default estimator: {config.estimator} {config.estimator_options}")
    rows = []
    for n_votes in sizes:
        start = time.perf_counter()
        crowd = crowd_for(n_votes)
        simulated = time.perf_counter() - start
        fit, rewards = time_ours(crowd, config)
        ds, ds_note = time_crowdkit("ds", n_votes, args.crowdkit_limit)
        mv, mv_note = time_crowdkit("mv", n_votes, args.crowdkit_limit)
        ours = fit + rewards
        rows.append(
            [
                f"{crowd.votes.n_votes:,}",
                f"{simulated:.2f}",
                f"{fit:.2f}",
                f"{rewards:.2f}",
                f"{ours:.2f}",
                fmt(ds, 2) if ds is not None else ds_note,
                f"{ds / ours:.1f}x" if ds is not None else "—",
                fmt(mv, 2) if mv is not None else mv_note,
                f"{mv / ours:.1f}x" if mv is not None else "—",
            ]
        )
    print_table(
        "Batch: seconds (one run each; crowd-kit DataFrame built outside the timer)",
        [
            "votes",
            "simulate s",
            "fit s",
            "rewards s",
            "ours s",
            "ck DawidSkene s",
            "DS / ours",
            "ck MajorityVote s",
            "MV / ours",
        ],
        rows,
    )
    print_table(
        f"Incremental: apply_submission, 30 lines x 5 voters, {calls} calls each",
        ["case", "median µs", "p99 µs"],
        incremental_timings(config, calls),
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
