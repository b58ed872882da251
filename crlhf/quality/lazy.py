"""Lazy-submitter detection: nothing marked far more often than the crowd, or no time to read.

A lazy annotator presses submit without reading: every line stays "correct" (the default
of the papers' interface, where only wrong lines are flagged), and the submission comes
faster than anyone can read the code. Gold lines catch them only slowly, since most gold
lines are correct and a lazy "correct" is right on them, so the two behavioural signals
are checked directly:

- **Empty share**: the share of an annotator's submissions with no line marked wrong,
  compared with the crowd's typical share (the median over annotators, robust to the lazy
  minority itself) by a one-sided binomial z-score, and by a minimum excess so that a
  large crowd does not flag a tiny difference.
- **Too fast**: the share of submissions whose time per judged line is below a reading
  floor. Submissions without a recorded ``duration_ms`` do not count either way.

No verdict before ``min_submissions``: a newcomer with two clean samples is not lazy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field

from crlhf.engine.votes import FloatArray, IntArray, VoteSet
from crlhf.errors import InvalidInput

__all__ = ["LazyConfig", "LazyReport", "SubmissionStats", "detect_lazy"]


class LazyConfig(BaseModel):
    """Thresholds of the lazy-submitter report."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    min_submissions: int = Field(default=10, ge=1)
    """No verdict on an annotator with fewer submissions."""
    empty_z: float = Field(default=3.0, gt=0.0)
    """One-sided binomial z-score of the empty share against the crowd's that flags."""
    empty_excess: float = Field(default=0.25, ge=0.0, le=1.0)
    """And the empty share must exceed the crowd's by at least this much."""
    reading_ms_per_line: float = Field(default=800.0, ge=0.0)
    """Reading floor: a submission faster than this per judged line is too fast."""
    fast_share: float = Field(default=0.5, gt=0.0, le=1.0)
    """Share of timed submissions below the floor that flags."""


@dataclass(frozen=True)
class SubmissionStats:
    """One row per submission (latest revision per annotator and sample), as arrays."""

    annotator: IntArray
    judged: IntArray
    """Judged lines of the sample."""
    marked_wrong: IntArray
    """Lines the annotator marked wrong."""
    duration_ms: FloatArray
    """Time spent; NaN where the client did not say."""
    n_annotators: int

    @classmethod
    def build(
        cls,
        annotator: npt.ArrayLike,
        judged: npt.ArrayLike,
        marked_wrong: npt.ArrayLike,
        duration_ms: npt.ArrayLike | None = None,
        *,
        n_annotators: int | None = None,
    ) -> SubmissionStats:
        ann = np.asarray(annotator, dtype=np.int64)
        jud = np.asarray(judged, dtype=np.int64)
        wrong = np.asarray(marked_wrong, dtype=np.int64)
        dur = (
            np.full(ann.shape, np.nan)
            if duration_ms is None
            else np.asarray(duration_ms, dtype=np.float64)
        )
        if not (ann.shape == jud.shape == wrong.shape == dur.shape) or ann.ndim != 1:
            raise InvalidInput("submission arrays must be 1-D and of the same length")
        if ann.size and (ann.min() < 0 or (jud < 1).any() or (wrong < 0).any()):
            raise InvalidInput("need annotator >= 0, judged >= 1 and marked_wrong >= 0")
        if (wrong > jud).any():
            raise InvalidInput("cannot mark more lines wrong than are judged", field="marked_wrong")
        n = int(ann.max()) + 1 if n_annotators is None and ann.size else (n_annotators or 0)
        if ann.size and ann.max() >= n:
            raise InvalidInput(f"annotator indices must lie in [0, {n})", field="annotator")
        return cls(ann, jud, wrong, dur, n)

    @classmethod
    def from_votes(cls, votes: VoteSet, line_sample: npt.ArrayLike) -> SubmissionStats:
        """One submission per (sample, annotator) pair of a vote set (no durations)."""
        sample = np.asarray(line_sample, dtype=np.int64)[votes.line]
        key = sample * votes.n_annotators + votes.annotator
        pairs, inverse = np.unique(key, return_inverse=True)
        judged = np.bincount(inverse, minlength=pairs.size)
        wrong = np.bincount(inverse, weights=votes.vote < 0, minlength=pairs.size)
        return cls.build(
            pairs % votes.n_annotators,
            judged,
            wrong.astype(np.int64),
            n_annotators=votes.n_annotators,
        )


@dataclass(frozen=True)
class LazyReport:
    """Per annotator (index = annotator); flags are False below ``min_submissions``."""

    n_submissions: IntArray
    empty_share: FloatArray
    """NaN for an annotator without submissions."""
    crowd_empty_share: float
    fast_share: FloatArray
    """Among timed submissions; NaN where none was timed."""
    flagged_empty: npt.NDArray[np.bool_]
    flagged_fast: npt.NDArray[np.bool_]

    @property
    def flagged(self) -> npt.NDArray[np.bool_]:
        both: npt.NDArray[np.bool_] = self.flagged_empty | self.flagged_fast
        return both


def detect_lazy(stats: SubmissionStats, config: LazyConfig | None = None) -> LazyReport:
    """Flag annotators who submit empty or unread samples far more often than the crowd.

    >>> stats = SubmissionStats.build([0] * 10 + [1] * 10, [5] * 20, [0] * 10 + [1] * 10)
    >>> detect_lazy(stats).flagged.tolist()
    [True, False]
    """
    config = config or LazyConfig()
    n_ann = stats.n_annotators
    n_sub = np.bincount(stats.annotator, minlength=n_ann)
    empty = np.bincount(stats.annotator, weights=stats.marked_wrong == 0, minlength=n_ann)
    with np.errstate(invalid="ignore", divide="ignore"):
        empty_share = np.where(n_sub > 0, empty / np.maximum(n_sub, 1), np.nan)
    enough = n_sub >= config.min_submissions
    # The crowd's rate: median of those with enough evidence (the lazy are a minority).
    crowd = float(np.median(empty_share[enough])) if enough.any() else math.nan
    if math.isnan(crowd):
        flagged_empty = np.zeros(n_ann, dtype=np.bool_)
    else:
        # Clamp the rate away from 0 so a spotless crowd still gives a finite z-score.
        rate = min(max(crowd, 0.5 / max(int(n_sub.max()), 1)), 1.0 - 1e-9)
        z = (empty - n_sub * rate) / np.sqrt(np.maximum(n_sub, 1) * rate * (1.0 - rate))
        flagged_empty = (
            enough & (z >= config.empty_z) & (empty_share >= crowd + config.empty_excess)
        )

    timed = ~np.isnan(stats.duration_ms)
    fast = timed & (stats.duration_ms < config.reading_ms_per_line * stats.judged)
    n_timed = np.bincount(stats.annotator[timed], minlength=n_ann)
    n_fast = np.bincount(stats.annotator[fast], minlength=n_ann)
    with np.errstate(invalid="ignore", divide="ignore"):
        fast_share = np.where(n_timed > 0, n_fast / np.maximum(n_timed, 1), np.nan)
    flagged_fast = (n_timed >= config.min_submissions) & (n_fast >= config.fast_share * n_timed)
    return LazyReport(
        n_submissions=n_sub.astype(np.int64),
        empty_share=empty_share.astype(np.float64),
        crowd_empty_share=crowd,
        fast_share=fast_share.astype(np.float64),
        flagged_empty=np.asarray(flagged_empty, dtype=np.bool_),
        flagged_fast=np.asarray(flagged_fast, dtype=np.bool_),
    )
