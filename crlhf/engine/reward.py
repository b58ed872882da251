"""Algorithm 1, lines 10–20: per-sample rewards s = c / k from per-line posteriors.

c counts a sample's judged lines whose posterior exceeds τ, k counts all its judged lines
(whitespace-only lines are never in the index, see :func:`crlhf.schemas.is_judged`). A
judged line nobody voted on keeps its prior posterior, so with the papers' p0 = τ = 1/2 it
counts as not correct. A sample with no vote at all has no reward: its ``reward`` is NaN
and ``has_reward`` is False, and the trainer must skip it (the papers train only on
judged samples). Beside each s the number of votes and of distinct annotators behind it
are reported, so a consumer can weigh or filter thinly judged samples.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from crlhf.engine.config import EngineConfig
from crlhf.engine.votes import FloatArray, IntArray, VoteSet
from crlhf.errors import EmptySample, InvalidInput, InvalidReliability

__all__ = ["SampleRewards", "sample_rewards"]

#: Up to this many (sample, annotator) cells, distinct annotators per sample are counted
#: on a dense boolean grid (linear time, one byte a cell: 64 MiB at most); beyond it, by
#: sorting the pair keys (n log n, several times slower at 10M votes).
DENSE_PAIR_LIMIT = 1 << 26


@dataclass(frozen=True)
class SampleRewards:
    """Per-sample arrays, indexed by sample ``0..n_samples-1``."""

    reward: FloatArray
    """s = c / k, NaN where no vote was cast on the sample."""
    correct_lines: IntArray
    """c: judged lines with posterior > τ."""
    judged_lines: IntArray
    """k: judged lines."""
    n_votes: IntArray
    n_annotators: IntArray
    """Distinct annotators who voted on at least one line of the sample."""
    line_posterior: FloatArray | None = None
    """P(correct) of every judged line, samples in order and lines in order within each,
    where the caller kept them (the testbed does, for ``reward_mode=line``)."""

    @property
    def has_reward(self) -> npt.NDArray[np.bool_]:
        mask: npt.NDArray[np.bool_] = self.n_votes > 0
        return mask


def _distinct_annotators(
    vote_sample: IntArray, annotator: IntArray, n_samples: int, n_annotators: int
) -> IntArray:
    """Per sample, the number of distinct annotators among its votes."""
    key = vote_sample * n_annotators + annotator
    if n_samples * n_annotators <= DENSE_PAIR_LIMIT:
        present = np.zeros(n_samples * n_annotators, dtype=np.bool_)
        present[key] = True
        counts = np.count_nonzero(present.reshape(n_samples, n_annotators), axis=1)
        return np.asarray(counts, dtype=np.int64)
    pairs = np.unique(key)
    return np.bincount(pairs // n_annotators, minlength=n_samples).astype(np.int64)


def sample_rewards(
    posterior: npt.ArrayLike,
    line_sample: npt.ArrayLike,
    votes: VoteSet,
    config: EngineConfig,
    *,
    n_samples: int | None = None,
) -> SampleRewards:
    """s = c/k per sample, with the votes and annotators behind it (vectorised).

    ``posterior[l]`` is P(line l correct) (from eq. 7 or any estimator's ``posterior_``),
    ``line_sample[l]`` the sample of line l. ``n_samples`` defaults to the largest sample
    index + 1; a sample index without any line raises :class:`~crlhf.errors.EmptySample`,
    since s = c/0 means nothing.
    """
    post = np.asarray(posterior, dtype=np.float64)
    index = np.asarray(line_sample)
    if post.shape != (votes.n_lines,) or index.shape != (votes.n_lines,):
        raise InvalidInput(
            f"posterior and line_sample need one entry per line ({votes.n_lines})",
            field="line_sample",
        )
    if not np.isfinite(post).all() or (post < 0).any() or (post > 1).any():
        raise InvalidReliability("posteriors must be finite probabilities", field="posterior")
    if index.size and not np.issubdtype(index.dtype, np.integer):
        raise InvalidInput("line_sample must hold integer sample indices", field="line_sample")
    sample = index.astype(np.int64)
    if sample.size and sample.min() < 0:
        raise InvalidInput("sample indices must be >= 0", field="line_sample")
    n = int(sample.max()) + 1 if n_samples is None and sample.size else (n_samples or 0)
    if sample.size and sample.max() >= n:
        raise InvalidInput(f"sample indices must lie in [0, {n})", field="line_sample")

    judged = np.bincount(sample, minlength=n)
    if (judged == 0).any():
        missing = int(np.flatnonzero(judged == 0)[0])
        raise EmptySample(f"sample {missing} has no judged line", field="line_sample")
    correct = np.bincount(sample, weights=post > config.tau, minlength=n).astype(np.int64)
    vote_sample = sample[votes.line]
    n_votes = np.bincount(vote_sample, minlength=n)
    n_annotators = _distinct_annotators(vote_sample, votes.annotator, n, votes.n_annotators)
    reward = np.where(n_votes > 0, correct / judged, np.nan)
    return SampleRewards(
        reward=reward.astype(np.float64),
        correct_lines=correct,
        judged_lines=judged.astype(np.int64),
        n_votes=n_votes.astype(np.int64),
        n_annotators=n_annotators.astype(np.int64),
    )
