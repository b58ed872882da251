"""Incremental replay: does the server's per-submission update track a full refit?

    .venv/bin/python benchmarks/incremental_replay.py            # full run (about a minute)
    .venv/bin/python benchmarks/incremental_replay.py --quick    # smoke run (seconds)

A simulated crowd's submissions (one annotator, one whole sample) are fed one at a time,
in random order, through :func:`apply_submission`, exactly as the server does. Afterwards
the non-honeypot lines are scored three ways:

- "stale": each sample's posteriors as computed at its last submission (what the server
  holds if nothing is recomputed);
- "fresh read": :func:`sample_consensus` with the final states (what a read recomputes);
- "refit": the default estimator fitted on all votes (an admin refit).

Rows compare ``soft_counts`` off/on and the prior p0 (0.5, the papers'; 0.7, the true share
of correct lines). Reliability MAE uses the true class mix: 0.7·sens + 0.3·spec.
"""

from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _aggregation import expected_calibration_error, print_table

from crlhf.engine.config import EngineConfig
from crlhf.engine.estimators import make_estimator
from crlhf.engine.incremental import (
    AnnotatorState,
    SampleVote,
    apply_submission,
    sample_consensus,
)
from crlhf.engine.simulate import CrowdConfig, SimulatedCrowd, simulate_crowd
from crlhf.engine.votes import FloatArray


@dataclass(frozen=True)
class Submissions:
    """A crowd cut into submissions: per sample its judged lines, gold, and each voter's votes."""

    lines: list[list[int]]
    gold: list[dict[int, int] | None]
    votes: dict[tuple[int, int], list[SampleVote]]
    """(sample, annotator) -> that submission's votes (line numbers 1-based within the sample)."""
    first_line: list[int]
    """Global index of each sample's line 1."""


def cut(crowd: SimulatedCrowd) -> Submissions:
    v = crowd.votes
    n_samples = int(crowd.line_sample.max()) + 1
    first = np.searchsorted(crowd.line_sample, np.arange(n_samples))
    count = np.bincount(crowd.line_sample, minlength=n_samples)
    lines = [list(range(1, int(k) + 1)) for k in count]
    gold = [
        {i + 1: int(crowd.truth[first[s] + i]) for i in range(int(count[s]))}
        if crowd.honeypot[s]
        else None
        for s in range(n_samples)
    ]
    votes: dict[tuple[int, int], list[SampleVote]] = {}
    sample_of = crowd.line_sample[v.line]
    number = v.line - first[sample_of] + 1
    for s, a, n, e in zip(
        sample_of.tolist(), v.annotator.tolist(), number.tolist(), v.vote.tolist(), strict=True
    ):
        votes.setdefault((s, a), []).append(SampleVote(a, n, e))
    return Submissions(lines, gold, votes, first.tolist())


def replay(
    subs: Submissions, config: EngineConfig, n_annotators: int, n_lines: int, seed: int
) -> tuple[FloatArray, FloatArray, list[AnnotatorState]]:
    """Feed every submission through apply_submission; return stale and fresh posteriors."""
    states = [AnnotatorState.initial(config) for _ in range(n_annotators)]
    on_sample: dict[int, list[SampleVote]] = {}
    order = list(subs.votes)
    np.random.default_rng(seed).shuffle(order)
    stale = np.full(n_lines, 0.5)
    for s, a in order:
        current = on_sample.setdefault(s, [])
        current.extend(subs.votes[(s, a)])
        involved = {v.annotator: states[v.annotator] for v in current}
        update = apply_submission(config, a, subs.lines[s], current, involved, subs.gold[s])
        states[a] = update.annotator_state
        base = subs.first_line[s] - 1
        for line, q in update.consensus.posteriors.items():
            stale[base + line] = q
    fresh = np.full(n_lines, 0.5)
    all_states = dict(enumerate(states))
    for s, current in on_sample.items():
        consensus = sample_consensus(config, subs.lines[s], current, all_states)
        base = subs.first_line[s] - 1
        for line, q in consensus.posteriors.items():
            fresh[base + line] = q
    return stale, fresh, states


#: (p0, soft_counts, prior_strength) settings of the incremental path compared.
VARIANTS = [
    (0.5, False, 4.0),
    (0.5, True, 4.0),
    (0.5, False, 1.0),
    (0.7, False, 4.0),
    (0.7, True, 4.0),
    (0.7, False, 1.0),
]


def row(
    name: str, posterior: FloatArray, reliability: FloatArray, crowd: SimulatedCrowd
) -> list[str]:
    """Accuracy and ECE on non-gold lines; reliability MAE over annotators with votes."""
    mask = crowd.votes.gold == 0
    truth = crowd.truth[mask] > 0
    p = posterior[mask]
    active = np.bincount(crowd.votes.annotator, minlength=crowd.votes.n_annotators) > 0
    acc = float(((p > 0.5) == truth).mean())
    ece = expected_calibration_error(p, truth)
    mae = float(np.abs(reliability[active] - crowd.reliability[active]).mean())
    return [name, f"{acc:.4f}", f"{ece:.4f}", f"{mae:.3f}"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny smoke run (seconds)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    n_samples = 100 if args.quick else 3000
    for two_coin in (False, True):
        cfg = CrowdConfig(n_samples=n_samples, overlap=3, two_coin=two_coin, seed=5)
        crowd = simulate_crowd(cfg)
        v = crowd.votes
        subs = cut(crowd)
        w = cfg.wrong_share

        rows = []
        for prior, soft, strength in VARIANTS:
            config = EngineConfig(prior=prior, soft_counts=soft, prior_strength=strength)
            stale, fresh, states = replay(subs, config, v.n_annotators, v.n_lines, seed=0)
            sens = np.array([s.sensitivity(config) for s in states])
            spec = np.array([s.specificity(config) for s in states])
            rel = (1 - w) * sens + w * spec
            label = f"p0={prior}, soft_counts={soft}, prior_strength={strength:g}"
            rows.append(row(f"{label}: stale", stale, rel, crowd))
            rows.append(row(f"{label}: fresh read", fresh, rel, crowd))
        default = EngineConfig()
        refit = make_estimator(default.estimator, **default.estimator_options)
        refit.fit(v, line_sample=crowd.line_sample)
        name = f"refit ({default.estimator} {default.estimator_options or ''})"
        rows.append(row(name, refit.posterior_, refit.reliability_, crowd))
        kind = "two-coin" if two_coin else "one-coin"
        print_table(
            f"Replay, {kind} crowd, overlap 3, 5% honeypots, {n_samples} samples "
            f"({len(subs.votes)} submissions in random order); scored on non-gold lines",
            ["mode", "accuracy", "ECE", "reliab. MAE"],
            rows,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
