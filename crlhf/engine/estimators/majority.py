"""Plain majority vote: the floor every other estimator must beat."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Self

import numpy as np
import numpy.typing as npt

from crlhf.engine.estimators.base import Estimator, check_votes
from crlhf.engine.votes import VoteSet


@dataclass
class MajorityVote(Estimator):
    """Majority vote: every annotator weighs the same, gold is ignored.

    posterior_l = (number of +1 votes on l) / (number of votes on l), 0.5 for a line
    without votes. A tie gives exactly 0.5, which the reward's strict ``posterior > τ``
    (τ = 0.5) reads as *wrong*: a line half the crowd flags is not counted correct.
    ``reliability_`` is each annotator's agreement with the majority label over the lines
    that have one; tied lines have no majority label and are skipped (an annotator with only
    tied lines gets 0.5). This is the tie rule wherever a hard label is needed; crowd-kit's
    MajorityVote instead breaks ties toward the globally most frequent label, so compare the
    two with care. Its hard label is that of eq. 7 with every p_i equal (and above ½) and
    p0 = ½ (Wong & Tan, arXiv 2503.15129); the share itself is not a calibrated posterior.

    Example:
        >>> from crlhf.engine.votes import VoteSet
        >>> votes = VoteSet.build([0, 0, 0, 1, 1], [0, 1, 2, 0, 1], [1, 1, -1, 1, -1])
        >>> est = MajorityVote().fit(votes)
        >>> est.posterior_.round(3).tolist()
        [0.667, 0.5]
        >>> est.reliability_.tolist()
        [1.0, 1.0, 0.0]
    """

    def fit(self, votes: VoteSet, *, line_sample: npt.ArrayLike | None = None) -> Self:
        check_votes(votes)
        n_lines = votes.n_lines
        total = np.bincount(votes.line, minlength=n_lines).astype(np.float64)
        positive = np.bincount(votes.line[votes.vote > 0], minlength=n_lines)
        share = np.full(n_lines, 0.5)
        voted = total > 0
        share[voted] = positive[voted] / total[voted]
        self.posterior_ = share

        # Hard label per line: +1, -1, or 0 for a tie / no vote (skipped below).
        label = np.sign(share - 0.5).astype(np.int8)
        vote_label = label[votes.line]
        decided = vote_label != 0
        m = votes.n_annotators
        n_decided = np.bincount(votes.annotator[decided], minlength=m).astype(np.float64)
        agree = np.bincount(
            votes.annotator[decided & (vote_label == votes.vote)], minlength=m
        ).astype(np.float64)
        reliability = np.full(m, 0.5)
        has = n_decided > 0
        reliability[has] = agree[has] / n_decided[has]
        self.reliability_ = reliability
        return self
