"""What every reliability estimator shares: the fitted-state contract and input checks.

An estimator is configured by its constructor fields (a dataclass), fitted by
:meth:`Estimator.fit`, and leaves its results in attributes ending in ``_`` (crowd-kit's
convention), so benchmark code can treat every algorithm alike.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Self

import numpy as np
import numpy.typing as npt

from crlhf.engine.votes import FloatArray, IntArray, VoteSet
from crlhf.errors import EmptyVoteSet, InvalidInput, InvalidReliability


class Estimator(ABC):
    """Base of the reliability estimators.

    After :meth:`fit`:

    - ``reliability_`` (float64, one per annotator): P(annotator labels a line right). Two-coin
      models summarise their two rates as the class-prior-weighted accuracy
      ``p0·sensitivity + (1−p0)·specificity``, the probability of a right vote on a random line.
    - ``posterior_`` (float64, one per line): P(line correct | its votes) under the fitted
      parameters. It is computed from the votes alone, also on honeypot lines, so that scoring
      it against the gold labels measures the aggregation rather than echoing the gold.
    """

    reliability_: FloatArray
    posterior_: FloatArray

    @abstractmethod
    def fit(self, votes: VoteSet, *, line_sample: npt.ArrayLike | None = None) -> Self:
        """Estimate reliabilities and line posteriors from ``votes`` (gold in ``votes.gold``).

        ``line_sample`` maps each line to its sample; only estimators that work per sample use
        it (the paper's rule with ``granularity="per-sample"``); the others ignore it.
        """


class TwoCoinEstimator(Estimator):
    """An estimator with separate rates for correct and wrong lines (Dawid–Skene two-coin).

    ``sensitivity_`` = P(vote +1 | line correct), ``specificity_`` = P(vote −1 | line wrong),
    ``class_prior_`` = p0 = P(line correct) used in the posterior.
    """

    sensitivity_: FloatArray
    specificity_: FloatArray
    class_prior_: float


@dataclass(frozen=True)
class GoldCounts:
    """Per-annotator vote counts on honeypot lines, split by the line's true class."""

    n_pos: FloatArray
    """Votes on lines whose truth is +1 (correct)."""
    k_pos: FloatArray
    """Of those, votes +1 (right)."""
    n_neg: FloatArray
    """Votes on lines whose truth is −1 (wrong)."""
    k_neg: FloatArray
    """Of those, votes −1 (right)."""

    @property
    def n(self) -> FloatArray:
        total: FloatArray = self.n_pos + self.n_neg
        return total

    @property
    def k(self) -> FloatArray:
        total: FloatArray = self.k_pos + self.k_neg
        return total


def gold_counts(votes: VoteSet) -> GoldCounts:
    """Count each annotator's votes on honeypot lines, and how many were right, per class."""
    truth = votes.gold[votes.line]
    pos = truth > 0
    neg = truth < 0
    ann = votes.annotator
    m = votes.n_annotators

    def count(mask: npt.NDArray[np.bool_]) -> FloatArray:
        return np.bincount(ann[mask], minlength=m).astype(np.float64)

    return GoldCounts(
        n_pos=count(pos),
        k_pos=count(pos & (votes.vote > 0)),
        n_neg=count(neg),
        k_neg=count(neg & (votes.vote < 0)),
    )


def check_votes(votes: VoteSet) -> VoteSet:
    """Reject what no estimator can fit: a non-VoteSet or a vote set without votes."""
    if not isinstance(votes, VoteSet):
        raise InvalidInput(f"expected a VoteSet, got {type(votes).__name__}", field="votes")
    if votes.n_votes == 0:
        raise EmptyVoteSet("cannot estimate reliabilities from a vote set without votes")
    return votes


def check_open_unit(value: float, name: str) -> float:
    """A probability-like setting strictly inside (0, 1) (logits of 0 and 1 are infinite)."""
    if not isinstance(value, int | float) or not math.isfinite(value) or not 0.0 < value < 1.0:
        raise InvalidReliability(f"{name} must be a finite number in (0, 1), got {value!r}")
    return float(value)


def check_positive(value: float, name: str, *, allow_zero: bool = False) -> float:
    """A finite positive setting (a step size, a prior strength, a tolerance)."""
    ok = isinstance(value, int | float) and math.isfinite(value)
    if not ok or value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise InvalidInput(f"{name} must be a finite number {bound}, got {value!r}", field=name)
    return float(value)


def check_count(value: int, name: str) -> int:
    """A positive integer setting (an iteration cap, a batch size)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidInput(f"{name} must be an integer >= 1, got {value!r}", field=name)
    return value


def line_sample_index(line_sample: npt.ArrayLike | None, n_lines: int) -> IntArray | None:
    """Validate an optional line → sample index (one non-negative integer per line)."""
    if line_sample is None:
        return None
    raw = np.asarray(line_sample)
    if raw.shape != (n_lines,) or (raw.size and not np.issubdtype(raw.dtype, np.integer)):
        raise InvalidInput(
            f"line_sample must hold one integer sample index per line ({n_lines})",
            field="line_sample",
        )
    index = raw.astype(np.int64)
    if index.size and index.min() < 0:
        raise InvalidInput("line_sample indices must be >= 0", field="line_sample")
    return index
