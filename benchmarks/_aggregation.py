"""Shared pieces of the aggregation benchmarks: scoring, crowd-kit adapters, data loading.

Not a library module: the two benchmark scripts import it from their own folder.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from crlhf.engine.estimators import ESTIMATORS, TwoCoinEstimator, make_estimator
from crlhf.engine.posterior import sigmoid
from crlhf.engine.votes import FloatArray, IntArray, VoteArray, VoteSet

#: Real crowds with truth, relative to the repository root (read-only shared data).
CROWD_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "crowd"
REAL_DATASETS = ("rte", "temp", "bluebirds", "product")

#: The sentence every table prints about crowd-kit's MajorityVote ties.
MV_TIE_RULE = (
    "Tie rules: crowd-kit MajorityVote gives a tied line the first label of its probas_ "
    "columns (pandas idxmax; the share it labelled +1 is printed per data set); crlhf "
    "'majority' gives a tie posterior 0.5, read as wrong (correct means posterior > 0.5). "
    "Simulated overlaps are odd, so simulated lines never tie."
)


@dataclass(frozen=True)
class Result:
    """What one method produced on one crowd."""

    name: str
    posterior: FloatArray
    """P(line correct) per line (NaN-free)."""
    label: VoteArray
    """Hard label per line: +1 / −1 (the method's own rule)."""
    reliability: FloatArray | None
    """Estimated P(right vote) per annotator, None where the method has no such notion."""
    seconds: float
    note: str = ""


@dataclass(frozen=True)
class Scores:
    accuracy: float
    wrong_recall: float
    ece: float
    reliability_mae: float
    seconds: float


def expected_calibration_error(
    posterior: FloatArray, correct: npt.NDArray[np.bool_], bins: int = 10
) -> float:
    """ECE of P(correct): Σ_b (n_b/n) |mean posterior in b − share correct in b|, 10 equal bins."""
    which = np.minimum((posterior * bins).astype(np.int64), bins - 1)
    n = np.bincount(which, minlength=bins)
    mean_p = np.bincount(which, weights=posterior, minlength=bins)
    hits = np.bincount(which, weights=correct.astype(np.float64), minlength=bins)
    used = n > 0
    gap = np.abs(mean_p[used] - hits[used]) / n[used]
    return float((gap * n[used]).sum() / n.sum())


def score(
    result: Result,
    truth: VoteArray,
    mask: npt.NDArray[np.bool_],
    true_reliability: FloatArray | None,
    active: npt.NDArray[np.bool_],
) -> Scores:
    """Score on the lines in ``mask``; reliability MAE over ``active`` annotators (unweighted)."""
    t = truth[mask]
    label = result.label[mask]
    wrong = t < 0
    mae = math.nan
    if result.reliability is not None and true_reliability is not None:
        mae = float(np.abs(result.reliability[active] - true_reliability[active]).mean())
    return Scores(
        accuracy=float((label == t).mean()),
        wrong_recall=float((label[wrong] < 0).mean()) if wrong.any() else math.nan,
        ece=expected_calibration_error(result.posterior[mask], t > 0),
        reliability_mae=mae,
        seconds=result.seconds,
    )


def run_estimator(name: str, votes: VoteSet, line_sample: IntArray, **options: Any) -> Result:
    estimator = make_estimator(name, **options)
    start = time.perf_counter()
    estimator.fit(votes, line_sample=line_sample)
    seconds = time.perf_counter() - start
    posterior = np.asarray(estimator.posterior_, dtype=np.float64)
    label = np.where(posterior > 0.5, 1, -1).astype(np.int8)
    shown = name + (f" {options}" if options else "")
    return Result(shown, posterior, label, estimator.reliability_, seconds)


def registry_names() -> list[str]:
    return list(ESTIMATORS)


def is_two_coin(name: str) -> bool:
    return issubclass(ESTIMATORS[name], TwoCoinEstimator)


def oracle(votes: VoteSet, sensitivity: FloatArray, specificity: FloatArray, p0: float) -> Result:
    """The Bayes posterior under the true rates and class prior: no method can do better."""
    sens = np.clip(sensitivity, 1e-6, 1 - 1e-6)
    spec = np.clip(specificity, 1e-6, 1 - 1e-6)
    pos = np.log(sens) - np.log1p(-spec)
    neg = np.log1p(-sens) - np.log(spec)
    w = np.where(votes.vote > 0, pos[votes.annotator], neg[votes.annotator])
    z = np.bincount(votes.line, weights=w, minlength=votes.n_lines) + math.log(p0 / (1 - p0))
    posterior = sigmoid(z)
    label = np.where(posterior > 0.5, 1, -1).astype(np.int8)
    return Result("oracle (true rates)", posterior, label, None, 0.0)


# ----------------------------------------------------------------------- crowd-kit


def to_frame(votes: VoteSet) -> pd.DataFrame:
    return pd.DataFrame({"task": votes.line, "worker": votes.annotator, "label": votes.vote})


def gold_series(votes: VoteSet) -> pd.Series:
    known = np.flatnonzero(votes.gold)
    return pd.Series(votes.gold[known].astype(np.int64), index=known)


def _proba_correct(probas: pd.DataFrame, n_lines: int) -> FloatArray:
    column = probas[1] if 1 in probas.columns else pd.Series(0.0, index=probas.index)
    dense = np.full(n_lines, 0.5)
    dense[probas.index.to_numpy(dtype=np.int64)] = column.to_numpy(dtype=np.float64)
    return dense


def _labels(labels: pd.Series, n_lines: int) -> VoteArray:
    dense = np.full(n_lines, -1, dtype=np.int8)
    dense[labels.index.to_numpy(dtype=np.int64)] = labels.to_numpy(dtype=np.int8)
    return dense


def _series_to_array(series: pd.Series, n: int, fill: float) -> FloatArray:
    dense = np.full(n, fill)
    dense[series.index.to_numpy(dtype=np.int64)] = series.to_numpy(dtype=np.float64)
    return dense


def _ds_reliability(model: Any, n_annotators: int) -> FloatArray:
    """P(right vote) = p0·P(+1|correct) + (1−p0)·P(−1|wrong) from DawidSkene's errors_."""
    errors = model.errors_
    p0 = float(model.priors_.get(1, 0.5))
    # A worker who never gave a label has no row for it: that conditional rate is 0.
    sens = errors[1].xs(1, level="label").reindex(errors.index.levels[0], fill_value=0.0)
    spec = errors[-1].xs(-1, level="label").reindex(errors.index.levels[0], fill_value=0.0)
    p = p0 * sens.fillna(0.0) + (1 - p0) * spec.fillna(0.0)
    return _series_to_array(p, n_annotators, 0.5)


def crowdkit_methods(
    glad: bool, quick: bool = False
) -> dict[str, Callable[[pd.DataFrame, VoteSet], Result]]:
    """crowd-kit 1.4.2's binary aggregators as uniform callables (gold given where it can be).

    ``quick`` keeps only MajorityVote and the default DawidSkene (smoke runs).
    """
    from crowdkit.aggregation import GLAD, DawidSkene, MajorityVote, OneCoinDawidSkene

    def timed(name: str, fit: Callable[[], Any], votes: VoteSet, reliability: Any) -> Result:
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = fit()
        seconds = time.perf_counter() - start
        n = votes.n_lines
        rel = reliability(model) if reliability is not None else None
        return Result(
            name, _proba_correct(model.probas_, n), _labels(model.labels_, n), rel, seconds
        )

    def mv(df: pd.DataFrame, votes: VoteSet) -> Result:
        return timed(
            "ck MajorityVote",
            lambda: MajorityVote().fit(df),
            votes,
            lambda m: _series_to_array(m.skills_, votes.n_annotators, 0.5),
        )

    def ds(df: pd.DataFrame, votes: VoteSet) -> Result:
        gold = gold_series(votes)
        return timed(
            "ck DawidSkene (gold)",
            lambda: DawidSkene().fit(df, true_labels=gold if len(gold) else None),
            votes,
            lambda m: _ds_reliability(m, votes.n_annotators),
        )

    def ds100(df: pd.DataFrame, votes: VoteSet) -> Result:
        gold = gold_series(votes)
        return timed(
            "ck DawidSkene(100,-inf) (gold)",
            lambda: DawidSkene(n_iter=100, tol=-np.inf).fit(
                df, true_labels=gold if len(gold) else None
            ),
            votes,
            lambda m: _ds_reliability(m, votes.n_annotators),
        )

    def one_coin(df: pd.DataFrame, votes: VoteSet) -> Result:
        return timed(
            "ck OneCoinDawidSkene",
            lambda: OneCoinDawidSkene().fit(df),
            votes,
            lambda m: _series_to_array(m.skills_, votes.n_annotators, 0.5),
        )

    def glad_method(df: pd.DataFrame, votes: VoteSet) -> Result:
        return timed("ck GLAD", lambda: GLAD().fit(df), votes, None)

    methods: dict[str, Callable[[pd.DataFrame, VoteSet], Result]] = {"mv": mv, "ds": ds}
    if not quick:
        methods |= {"ds100": ds100, "onecoin": one_coin}
    if glad:
        methods["glad"] = glad_method
    return methods


def majority_tie_share(votes: VoteSet, labels: VoteArray) -> tuple[float, float]:
    """Share of lines that are ties, and the share of those that crowd-kit labelled +1."""
    total = np.bincount(votes.line, minlength=votes.n_lines)
    pos = np.bincount(votes.line[votes.vote > 0], minlength=votes.n_lines)
    tie = (total > 0) & (2 * pos == total)
    if not tie.any():
        return 0.0, math.nan
    return float(tie.mean()), float((labels[tie] > 0).mean())


# ----------------------------------------------------------------------- real data


@dataclass(frozen=True)
class RealCrowd:
    name: str
    votes: VoteSet
    truth: VoteArray
    """Per task (line); 0 where truth.csv has no entry."""
    worker_accuracy: FloatArray
    """Each worker's accuracy against the truth: their "true" reliability."""


def load_real(name: str, gold_share: float, seed: int) -> RealCrowd:
    """Load ``name`` from :data:`CROWD_DATA`; reveal ``gold_share`` of known tasks as gold."""
    labels = pd.read_csv(CROWD_DATA / name / "labels.csv", dtype={"task": str, "worker": str})
    truth_df = pd.read_csv(CROWD_DATA / name / "truth.csv", dtype={"task": str})
    tasks = pd.Index(pd.unique(pd.concat([labels["task"], truth_df["task"]])))
    workers = pd.Index(pd.unique(labels["worker"]))
    line = tasks.get_indexer(labels["task"])
    annotator = workers.get_indexer(labels["worker"])
    truth = np.zeros(len(tasks), dtype=np.int8)
    truth[tasks.get_indexer(truth_df["task"])] = truth_df["true_label"].to_numpy(dtype=np.int8)
    rng = np.random.default_rng(seed)
    known = np.flatnonzero(truth)
    revealed = rng.choice(known, size=round(gold_share * known.size), replace=False)
    gold = np.zeros_like(truth)
    gold[revealed] = truth[revealed]
    votes = VoteSet.build(
        line,
        annotator,
        labels["label"].to_numpy(),
        n_lines=len(tasks),
        n_annotators=len(workers),
        gold=gold,
    )
    has_truth = truth[votes.line] != 0
    right = (votes.vote == truth[votes.line]) & has_truth
    n = np.bincount(votes.annotator[has_truth], minlength=len(workers))
    accuracy = np.full(len(workers), np.nan)
    seen = n > 0
    accuracy[seen] = np.bincount(votes.annotator[right], minlength=len(workers))[seen] / n[seen]
    return RealCrowd(name, votes, truth, accuracy)


# ----------------------------------------------------------------------- printing


def fmt(value: float, digits: int = 3) -> str:
    return "—" if math.isnan(value) else f"{value:.{digits}f}"


def print_table(title: str, header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    print(f"\n{title}")
    print("| " + " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        print("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |")
