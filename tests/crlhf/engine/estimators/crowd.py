"""A tiny seeded crowd with known truth, for estimator tests (E2's full simulator lives in
``crlhf/engine/simulate.py``; this one stays minimal so the tests pin exactly what they use).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from crlhf.engine.votes import VoteSet


@dataclass(frozen=True)
class Crowd:
    votes: VoteSet
    truth: npt.NDArray[np.int8]
    line_sample: npt.NDArray[np.int64]
    sensitivity: npt.NDArray[np.float64]
    specificity: npt.NDArray[np.float64]
    p0: float

    @property
    def reliability(self) -> npt.NDArray[np.float64]:
        """P(right vote on a random line) = p0·sens + (1−p0)·spec."""
        return self.p0 * self.sensitivity + (1 - self.p0) * self.specificity


def make_crowd(
    sensitivity: npt.ArrayLike,
    specificity: npt.ArrayLike,
    *,
    n_samples: int = 2000,
    lines_per_sample: int = 5,
    annotators_per_sample: int = 3,
    p0: float = 0.7,
    honeypot_share: float = 0.2,
    seed: int = 0,
) -> Crowd:
    """Each sample is judged line by line by distinct annotators; the first
    ``honeypot_share`` of samples are honeypots (their lines' truth is in ``gold``)."""
    rng = np.random.default_rng(seed)
    sens = np.asarray(sensitivity, dtype=np.float64)
    spec = np.asarray(specificity, dtype=np.float64)
    n_ann = sens.size
    k = annotators_per_sample
    n_lines = n_samples * lines_per_sample
    truth = np.where(rng.random(n_lines) < p0, 1, -1).astype(np.int8)
    line_sample = np.repeat(np.arange(n_samples), lines_per_sample)
    # Distinct annotators per sample: an arithmetic progression mod n_ann.
    start = rng.integers(0, n_ann, n_samples)
    stride = rng.integers(1, max(n_ann // k, 1) + 1, n_samples)
    sample_ann = (start[:, None] + np.arange(k)[None, :] * stride[:, None]) % n_ann
    line = np.repeat(np.arange(n_lines), k)
    annotator = sample_ann[line_sample].reshape(-1)
    t = truth[line]
    p_plus = np.where(t > 0, sens[annotator], 1 - spec[annotator])
    vote = np.where(rng.random(line.size) < p_plus, 1, -1)
    gold = np.where(line_sample < honeypot_share * n_samples, truth, 0)
    votes = VoteSet.build(line, annotator, vote, n_lines=n_lines, n_annotators=n_ann, gold=gold)
    return Crowd(votes, truth, line_sample, sens, spec, p0)
