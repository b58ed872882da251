"""Aggregation quality: every crlhf estimator against crowd-kit 1.4.2, on simulated and real crowds.

    .venv/bin/python benchmarks/aggregation_quality.py            # full run (a few minutes)
    .venv/bin/python benchmarks/aggregation_quality.py --quick    # smoke run (seconds)

Table 1 (simulated, known truth): overlap 3 and 5, one-coin and two-coin crowds, 5% of
samples honeypots. Scored on the non-honeypot lines: line accuracy (posterior > 0.5 is
"correct"), recall of wrong lines, expected calibration error of P(correct) (10 bins), and
the mean absolute error of the reliability estimates against the true P(right vote) over
annotators with votes. Seeds are averaged. crowd-kit's DawidSkene gets the same gold
(``true_labels``); MajorityVote, OneCoinDawidSkene and GLAD cannot use gold.
GLAD runs only on a smaller crowd (table 2) and on real crowds of at most 10,000 votes,
where it finishes in seconds to a minute.

Table 3 (real crowds in ../shared/data/crowd): binary labels as ±1, a seeded 10% of the
tasks revealed as gold (honeypots) to every method that can use it, scored on the rest;
the "true" reliability is each worker's accuracy against truth.csv.
"""

from __future__ import annotations

import argparse
import logging
import math
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _aggregation import (
    CROWD_DATA,
    MV_TIE_RULE,
    REAL_DATASETS,
    Result,
    Scores,
    crowdkit_methods,
    fmt,
    load_real,
    majority_tie_share,
    oracle,
    print_table,
    registry_names,
    run_estimator,
    score,
    to_frame,
)

from crlhf.engine.config import EngineConfig
from crlhf.engine.estimators import make_estimator
from crlhf.engine.simulate import CrowdConfig, simulate_crowd
from crlhf.engine.votes import IntArray, VoteSet

#: Every registered estimator runs with its own defaults; the engine's default (estimator
#: and options from EngineConfig) gets a row of its own, named like run_estimator names it,
#: unless those options are the estimator's own defaults (then it is that row). Printed
#: tables mark it with DEFAULT_MARK.
DEFAULT = EngineConfig()
_DEFAULT_IS_REGISTRY_ROW = all(
    getattr(make_estimator(DEFAULT.estimator), key) == value
    for key, value in DEFAULT.estimator_options.items()
)
DEFAULT_ROW = DEFAULT.estimator + (
    "" if _DEFAULT_IS_REGISTRY_ROW else f" {DEFAULT.estimator_options}"
)
DEFAULT_MARK = " (engine default)"


def estimator_results(votes: VoteSet, line_sample: IntArray) -> list[Result]:
    """Each registered estimator with its defaults, then the engine's default configuration."""
    results = [run_estimator(name, votes, line_sample) for name in registry_names()]
    if not _DEFAULT_IS_REGISTRY_ROW:
        results.append(
            run_estimator(DEFAULT.estimator, votes, line_sample, **DEFAULT.estimator_options)
        )
    return results


HEADER = ["method", "accuracy", "wrong recall", "ECE", "reliab. MAE", "fit s"]


def _row(name: str, scores: list[Scores]) -> list[str]:
    def mean(attr: str) -> float:
        values = [getattr(s, attr) for s in scores]
        return math.nan if any(math.isnan(v) for v in values) else float(np.mean(values))

    return [
        name + (DEFAULT_MARK if name == DEFAULT_ROW else ""),
        fmt(mean("accuracy"), 4),
        fmt(mean("wrong_recall"), 4),
        fmt(mean("ece"), 4),
        fmt(mean("reliability_mae"), 3),
        fmt(mean("seconds"), 2),
    ]


Setting = tuple[int, bool]
"""(overlap, two_coin)."""


def simulated(
    n_samples: int, seeds: list[int], glad: bool, quick: bool
) -> tuple[dict[Setting, dict[str, list[Scores]]], dict[Setting, dict[str, list[int]]]]:
    """Every method on every setting: scores[setting][method] over seeds, and per crowd-kit
    method the paired line counts [default right & it wrong, default wrong & it right]."""
    out: dict[Setting, dict[str, list[Scores]]] = {}
    paired: dict[Setting, dict[str, list[int]]] = {}
    for two_coin in (False, True):
        for overlap in (3, 5):
            per_method: dict[str, list[Scores]] = defaultdict(list)
            pairs: dict[str, list[int]] = defaultdict(lambda: [0, 0])
            for seed in seeds:
                cfg = CrowdConfig(
                    n_samples=n_samples,
                    overlap=overlap,
                    two_coin=two_coin,
                    honeypot_rate=0.05,
                    seed=seed,
                )
                crowd = simulate_crowd(cfg)
                votes = crowd.votes
                mask = votes.gold == 0
                active = np.bincount(votes.annotator, minlength=votes.n_annotators) > 0
                results: list[Result] = [
                    oracle(votes, crowd.sensitivity, crowd.specificity, 1 - cfg.wrong_share)
                ]
                results += estimator_results(votes, crowd.line_sample)
                df = to_frame(votes)
                for method in crowdkit_methods(glad, quick).values():
                    results.append(method(df, votes))
                for r in results:
                    per_method[r.name].append(
                        score(r, crowd.truth, mask, crowd.reliability, active)
                    )
                ours = next(r for r in results if r.name == DEFAULT_ROW)
                ours_right = ours.label[mask] == crowd.truth[mask]
                for r in results:
                    if r.name.startswith("ck "):
                        right = r.label[mask] == crowd.truth[mask]
                        pairs[r.name][0] += int((ours_right & ~right).sum())
                        pairs[r.name][1] += int((~ours_right & right).sum())
            out[(overlap, two_coin)] = dict(per_method)
            paired[(overlap, two_coin)] = dict(pairs)
    return out, paired


def print_simulated(title: str, results: dict[Setting, dict[str, list[Scores]]], size: str) -> None:
    for (overlap, two_coin), per_method in results.items():
        rows = [_row(name, scores) for name, scores in per_method.items()]
        kind = "two-coin" if two_coin else "one-coin"
        print_table(f"{title}: {kind}, overlap {overlap}, {size}", HEADER, rows)


def check_target(
    results: dict[Setting, dict[str, list[Scores]]], paired: dict[Setting, dict[str, list[int]]]
) -> list[str]:
    """The issue's target, setting by setting, in words, with the paired line counts and a
    two-sided sign-test p-value on the lines where the two methods disagree."""
    lines = []
    for (overlap, two_coin), per_method in results.items():
        kind = "two-coin" if two_coin else "one-coin"

        def mean(name: str, attr: str, per_method: dict[str, list[Scores]] = per_method) -> float:
            return float(np.mean([getattr(s, attr) for s in per_method[name]]))

        ck = [n for n in per_method if n.startswith("ck ")]
        best_ck = max(ck, key=lambda n: mean(n, "accuracy"))
        ours = mean(DEFAULT_ROW, "accuracy")
        ok_acc = ours >= mean(best_ck, "accuracy")
        ok_ece = mean(DEFAULT_ROW, "ece") < mean("paper", "ece")
        lines.append(
            f"{kind} overlap {overlap}: default accuracy {ours:.4f} vs best crowd-kit "
            f"({best_ck}) {mean(best_ck, 'accuracy'):.4f} -> "
            f"{'met' if ok_acc else 'NOT met'}; ECE {mean(DEFAULT_ROW, 'ece'):.4f} vs "
            f"paper {mean('paper', 'ece'):.4f} -> {'met' if ok_ece else 'NOT met'}"
        )
        wins, losses = paired[(overlap, two_coin)][best_ck]
        lines.append(
            f"    lines where they disagree: default right {wins}, {best_ck} right {losses} "
            f"(sign test p = {sign_test(wins, losses):.2f})"
        )
    return lines


def sign_test(wins: int, losses: int) -> float:
    """Two-sided exact sign test: P(a split at least this uneven | both equally good)."""
    n = wins + losses
    if n == 0:
        return 1.0
    k = min(wins, losses)
    # Exact integers: 2.0**n overflows a float beyond n = 1023.
    tail = sum(math.comb(n, i) for i in range(k + 1)) / (1 << n)
    return min(1.0, 2.0 * tail)


def real(
    datasets: tuple[str, ...], gold_share: float, seed: int, glad_max_votes: int, quick: bool
) -> None:
    if not CROWD_DATA.is_dir():
        print(f"\n(real crowds skipped: {CROWD_DATA} not found)")
        return
    for name in datasets:
        crowd = load_real(name, gold_share, seed)
        votes = crowd.votes
        mask = (votes.gold == 0) & (crowd.truth != 0)
        active = ~np.isnan(crowd.worker_accuracy)
        line_sample = np.arange(votes.n_lines, dtype=np.int64)
        results = estimator_results(votes, line_sample)
        df = to_frame(votes)
        glad = votes.n_votes <= glad_max_votes
        results += [m(df, votes) for m in crowdkit_methods(glad, quick).values()]
        rows = [
            _row(r.name, [score(r, crowd.truth, mask, crowd.worker_accuracy, active)])
            for r in results
        ]
        mv = next(r for r in results if r.name == "ck MajorityVote")
        ties, plus = majority_tie_share(votes, mv.label)
        print_table(
            f"Table 3: {name} ({votes.n_lines} tasks, {votes.n_annotators} workers, "
            f"{votes.n_votes} votes; {gold_share:.0%} of tasks revealed as gold, scored on the "
            f"other {int(mask.sum())}; ties {ties:.1%} of tasks, crowd-kit MV labelled "
            f"{fmt(plus, 2)} of them +1"
            + ("" if glad or quick else f"; GLAD skipped: > {glad_max_votes} votes")
            + ")",
            HEADER,
            rows,
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny smoke run (seconds)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    datasets: tuple[str, ...]
    if args.quick:
        n_samples, seeds, glad_samples, datasets, glad_max_votes = 60, [0], 0, ("temp",), 0
    else:
        n_samples, seeds, glad_samples, datasets, glad_max_votes = (
            2000,
            [0, 1, 2],
            150,
            REAL_DATASETS,
            10_000,
        )

    print(MV_TIE_RULE)
    print(f"Engine default (EngineConfig): {DEFAULT_ROW}")
    main_results, paired = simulated(n_samples, seeds, glad=False, quick=args.quick)
    size = f"{n_samples} samples x ~20 lines, 200 annotators, seeds {seeds}"
    print_simulated("Table 1", main_results, size)
    if glad_samples:
        glad_results, _ = simulated(glad_samples, seeds[:1], glad=True, quick=False)
        size = f"{glad_samples} samples, seed 0"
        print_simulated("Table 2 (small, with GLAD)", glad_results, size)
    print("\nTarget (table 1): default at least as accurate as the best crowd-kit method, and")
    print("better calibrated (lower ECE) than the paper's rule:")
    for line in check_target(main_results, paired):
        print("  " + line)
    real(datasets, 0.1, 0, glad_max_votes, args.quick)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
