"""Beta-Binomial reliability from honeypot lines: one-coin and two-coin.

Unlike the paper's online rule (eq. 8), whose estimate drifts to 0 or 1 as honeypots
accumulate, the posterior mean of a Beta-Binomial converges to the annotator's true
accuracy on honeypots, and its prior keeps a newcomer at ν until evidence arrives.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Self

import numpy as np
import numpy.typing as npt

from crlhf.engine.estimators.base import (
    Estimator,
    TwoCoinEstimator,
    check_open_unit,
    check_positive,
    check_votes,
    gold_counts,
)
from crlhf.engine.posterior import line_posterior, two_coin_posterior
from crlhf.engine.votes import FloatArray, VoteSet


def beta_mean(k: FloatArray, n: FloatArray, nu: float, strength: float) -> FloatArray:
    """Posterior mean of a rate after k successes in n trials under Beta(ν·m, (1−ν)·m)."""
    mean: FloatArray = (k + nu * strength) / (n + strength)
    return mean


@dataclass
class BetaReliability(Estimator):
    """One-coin Beta-Binomial posterior mean of each reliability, from honeypot lines only.

    With k_i of annotator i's n_i votes on honeypot lines right and prior
    Beta(ν·m, (1−ν)·m):

        p_i = (k_i + ν·m) / (n_i + m),

    then every line's posterior by eq. 7, σ(logit p0 + Σ_i ε_i logit p_i). Non-gold votes
    never move p_i, so this is the estimator the paper's section II-C would give with a
    conjugate prior instead of an L1 penalty (Wong & Tan, arXiv 2503.15129). An annotator
    without honeypot votes stays at ν.

    Example:
        >>> from crlhf.engine.votes import VoteSet
        >>> # line 0 is a honeypot (truth +1); annotator 0 gets it right, annotator 1 wrong.
        >>> votes = VoteSet.build([0, 0, 1, 1], [0, 1, 0, 1], [1, -1, 1, 1], gold=[1, 0])
        >>> est = BetaReliability(nu=0.7, prior_strength=4.0).fit(votes)
        >>> est.reliability_.round(2).tolist()
        [0.76, 0.56]
        >>> est.posterior_.round(3).tolist()
        [0.713, 0.801]
    """

    nu: float = 0.7
    """ν, the prior mean of every reliability (the papers' initial reliability)."""
    prior_strength: float = 4.0
    """m, pseudo-votes behind ν: after m honeypot votes the data weigh as much as the prior."""
    prior: float = 0.5
    """p0 = P(line correct) in the posterior; the papers' eq. 7 uses 1/2."""

    def __post_init__(self) -> None:
        check_open_unit(self.nu, "nu")
        check_positive(self.prior_strength, "prior_strength")
        check_open_unit(self.prior, "prior")

    def fit(self, votes: VoteSet, *, line_sample: npt.ArrayLike | None = None) -> Self:
        check_votes(votes)
        counts = gold_counts(votes)
        self.reliability_ = beta_mean(counts.k, counts.n, self.nu, self.prior_strength)
        self.posterior_ = line_posterior(votes, self.reliability_, self.prior)
        return self


@dataclass
class BetaTwoCoin(TwoCoinEstimator):
    """Two-coin Beta-Binomial: sensitivity and specificity each from honeypot lines of one class.

    On honeypot lines that are correct, k⁺_i of n⁺_i votes are +1; on wrong ones, k⁻_i of
    n⁻_i votes are −1. With Beta(ν·m, (1−ν)·m) priors on both rates,

        sens_i = (k⁺_i + ν·m) / (n⁺_i + m),   spec_i = (k⁻_i + ν·m) / (n⁻_i + m),

    and a line's log-odds are logit(p0) + Σ_i [ε=+1] log(sens_i/(1−spec_i))
    + [ε=−1] log((1−sens_i)/spec_i). People miss real bugs far more often than they flag
    good lines (spec ≪ sens), which a one-coin model averages away. p0 is the share of
    correct honeypot lines (with one pseudo-line of each class) unless fixed by ``prior``.
    ``reliability_`` = p0·sens + (1−p0)·spec.

    Example:
        >>> from crlhf.engine.votes import VoteSet
        >>> # two honeypots: line 0 correct, line 1 wrong; annotator 1 never flags anything.
        >>> votes = VoteSet.build(
        ...     [0, 0, 1, 1, 2, 2], [0, 1, 0, 1, 0, 1], [1, 1, -1, 1, -1, 1], gold=[1, -1, 0]
        ... )
        >>> est = BetaTwoCoin(prior=0.5).fit(votes)
        >>> est.sensitivity_.round(2).tolist(), est.specificity_.round(2).tolist()
        ([0.76, 0.76], [0.76, 0.56])
        >>> round(float(est.posterior_[2]), 3)
        0.353
    """

    nu: float = 0.7
    """ν, the prior mean of every sensitivity and specificity."""
    prior_strength: float = 4.0
    """m, pseudo-votes behind ν for each of the two rates."""
    prior: float | None = None
    """p0 = P(line correct); ``None`` learns it from the honeypot lines."""

    def __post_init__(self) -> None:
        check_open_unit(self.nu, "nu")
        check_positive(self.prior_strength, "prior_strength")
        if self.prior is not None:
            check_open_unit(self.prior, "prior")

    def fit(self, votes: VoteSet, *, line_sample: npt.ArrayLike | None = None) -> Self:
        check_votes(votes)
        counts = gold_counts(votes)
        self.sensitivity_ = beta_mean(counts.k_pos, counts.n_pos, self.nu, self.prior_strength)
        self.specificity_ = beta_mean(counts.k_neg, counts.n_neg, self.nu, self.prior_strength)
        self.class_prior_ = self.prior if self.prior is not None else gold_class_prior(votes)
        p0 = self.class_prior_
        self.reliability_ = p0 * self.sensitivity_ + (1 - p0) * self.specificity_
        self.posterior_ = two_coin_posterior(votes, self.sensitivity_, self.specificity_, p0)
        return self


def gold_class_prior(votes: VoteSet) -> float:
    """Share of correct lines among honeypot lines, with one pseudo-line of each class."""
    n_correct = int(np.count_nonzero(votes.gold > 0))
    n_wrong = int(np.count_nonzero(votes.gold < 0))
    return (n_correct + 1) / (n_correct + n_wrong + 2)
