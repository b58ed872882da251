"""Dawid–Skene EM over all votes, one-coin and two-coin, with honeypot lines clamped.

Honeypots pin the labels that anchor the estimates; every other vote still carries
evidence through the expected labels of its line. MAP smoothing keeps every rate away from
0 and 1, so no single annotator can outvote a crowd with an infinite weight.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Self

import numpy as np
import numpy.typing as npt

from crlhf.engine.estimators.base import (
    Estimator,
    TwoCoinEstimator,
    check_count,
    check_open_unit,
    check_positive,
    check_votes,
    gold_counts,
)
from crlhf.engine.estimators.beta import beta_mean
from crlhf.engine.estimators.design import VoteMatrix
from crlhf.engine.votes import FloatArray, IntArray, VoteSet

logger = logging.getLogger(__name__)


def _sigmoid_inplace(x: FloatArray) -> FloatArray:
    """σ(x) = (1 + tanh(x/2)) / 2 computed in ``x``'s buffer: no overflow, no allocation."""
    np.multiply(x, 0.5, out=x)
    np.tanh(x, out=x)
    x += 1.0
    x *= 0.5
    return x


class _EMState:
    """What an EM fit reuses across iterations: the vote matrix and the honeypot clamp."""

    def __init__(self, votes: VoteSet) -> None:
        self.matrix = VoteMatrix.from_votes(votes)
        self.gold_index: IntArray = np.flatnonzero(votes.gold)
        self.gold_value: FloatArray = (votes.gold[self.gold_index] > 0).astype(np.float64)
        voted = np.diff(self.matrix.matrix.indptr) > 0
        # Lines that say something about p0: voted on, or with a known label.
        self.informative_index: IntArray = np.flatnonzero(voted | (votes.gold != 0))
        self.voted_index: IntArray = np.flatnonzero(voted)
        self.q: FloatArray = np.empty(votes.n_lines)

    def initial_labels(self) -> FloatArray:
        """q⁰: the +1 share on voted lines (majority), the truth on honeypots, ½ elsewhere."""
        n_pos_line = self.matrix.line_sums(
            np.ones(self.matrix.n_annotators), np.zeros(self.matrix.n_annotators)
        )
        n_line = np.diff(self.matrix.matrix.indptr).astype(np.float64)
        self.q.fill(0.5)
        idx = self.voted_index
        self.q[idx] = n_pos_line[idx] / n_line[idx]
        self.q[self.gold_index] = self.gold_value
        return self.q

    def expected_labels(self, pos_w: FloatArray, neg_w: FloatArray, log_prior: float) -> FloatArray:
        """E-step: q_l = P(line l correct | votes, parameters), honeypots clamped to truth."""
        log_odds = self.matrix.line_sums(pos_w, neg_w)
        log_odds += log_prior
        self.q = _sigmoid_inplace(log_odds)
        self.q[self.gold_index] = self.gold_value
        return self.q

    def class_prior(self, q: FloatArray) -> float:
        """MAP p0 over informative lines with one pseudo-line of each class."""
        total = float(q[self.informative_index].sum())
        return (total + 1.0) / (self.informative_index.size + 2.0)


@dataclass
class _EMConfig:
    """Settings shared by both EM variants."""

    nu: float = 0.7
    """ν, centre of the Beta smoothing prior on every rate."""
    prior_strength: float = 4.0
    """m: MAP under Beta(ν·m + 1, (1−ν)·m + 1), i.e. m pseudo-votes at rate ν per rate."""
    prior: float | None = None
    """p0 = P(line correct); ``None`` learns it (MAP with one pseudo-line per class)."""
    tol: float = 1e-5
    """Stop when no rate (nor p0) moved more than this in one iteration."""
    max_iter: int = 100
    """Iteration cap; hitting it logs a warning."""

    def __post_init__(self) -> None:
        check_open_unit(self.nu, "nu")
        check_positive(self.prior_strength, "prior_strength")
        if self.prior is not None:
            check_open_unit(self.prior, "prior")
        check_positive(self.tol, "tol")
        check_count(self.max_iter, "max_iter")

    def _class_prior(self, state: _EMState, q: FloatArray) -> float:
        """p0 for the next E-step: the fixed ``prior`` or the MAP estimate from ``q``."""
        return self.prior if self.prior is not None else state.class_prior(q)

    def _warn_unconverged(self, name: str, change: float) -> None:
        logger.warning(
            "%s did not converge in %d iterations (last change %.2e > tol %.2e)",
            name,
            self.max_iter,
            change,
            self.tol,
        )


def _logit(p: float) -> float:
    return math.log(p) - math.log1p(-p)


class _EMFitted:
    """Fitted state both EM variants add to the estimator contract."""

    n_iter_: int
    """EM iterations run (each one E-step and one M-step after the initialisation)."""
    class_prior_: float
    """p0 used in the final posterior (learnt unless fixed by ``prior``)."""


@dataclass
class EMOneCoin(_EMConfig, _EMFitted, Estimator):
    """One-coin Dawid–Skene EM: p_i = P(right vote), the same on correct and wrong lines.

    E-step: q_l = σ(logit p0 + Σ_i ε_il logit p_i) on non-honeypot lines (eq. 7 with a
    learnt prior), q_l = [t_l = +1] on honeypot lines. M-step (MAP, Beta smoothing):

        p_i = (Σ_l [ε_il=+1] q_l + [ε_il=−1] (1 − q_l) + ν·m) / (n_i + m),
        p0 = (Σ_l q_l + 1) / (L + 2)  over lines with votes or gold.

    Initialised from the gold-only Beta estimate for annotators with honeypot votes and from
    agreement with the majority vote for the others (Dawid & Skene 1979; Wong & Tan,
    arXiv 2503.15129, eq. 7).

    Example:
        >>> from crlhf.engine.votes import VoteSet
        >>> # three annotators on four lines, line 0 a honeypot; annotator 2 is contrarian.
        >>> votes = VoteSet.build(
        ...     [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3],
        ...     [0, 1, 2] * 4,
        ...     [1, 1, -1, -1, -1, 1, 1, 1, -1, 1, -1, -1],
        ...     gold=[1, 0, 0, 0],
        ... )
        >>> est = EMOneCoin(prior=0.5).fit(votes)
        >>> est.reliability_.round(2).tolist()
        [0.79, 0.76, 0.41]
    """

    def fit(self, votes: VoteSet, *, line_sample: npt.ArrayLike | None = None) -> Self:
        check_votes(votes)
        state = _EMState(votes)
        q = state.initial_labels()
        p, p0 = self._m_step(state, q)
        counts = gold_counts(votes)
        has_gold = counts.n > 0
        p[has_gold] = beta_mean(counts.k, counts.n, self.nu, self.prior_strength)[has_gold]
        return self._iterate(state, p, p0)

    def _m_step(self, state: _EMState, q: FloatArray) -> tuple[FloatArray, float]:
        """MAP rates and p0 given expected labels ``q``."""
        mat = state.matrix
        pos_q, neg_q = mat.annotator_sums(q)
        a = self.nu * self.prior_strength
        p = (pos_q + mat.n_neg - neg_q + a) / (mat.n_votes_per_annotator + self.prior_strength)
        return p, self._class_prior(state, q)

    def _iterate(self, state: _EMState, p: FloatArray, p0: float) -> Self:
        """EM from rates ``p`` and prior ``p0`` to convergence; sets the fitted attributes.

        Shared with :class:`~crlhf.engine.estimators.em_auto.EMAuto`, which starts it from
        the two-coin fit's labels instead of the majority vote.
        """
        mat = state.matrix
        change = math.inf
        self.n_iter_ = 0
        while self.n_iter_ < self.max_iter and change > self.tol:
            w = np.log(p) - np.log1p(-p)
            q = state.expected_labels(w, -w, _logit(p0))
            new_p, new_p0 = self._m_step(state, q)
            change = max(float(np.abs(new_p - p).max(initial=0.0)), abs(new_p0 - p0))
            p, p0 = new_p, new_p0
            self.n_iter_ += 1
        if change > self.tol:
            self._warn_unconverged("EMOneCoin", change)

        self.reliability_ = p
        self.class_prior_ = p0
        w = np.log(p) - np.log1p(-p)
        self.posterior_ = _sigmoid_inplace(mat.line_sums(w, -w) + _logit(p0))
        return self


@dataclass
class EMTwoCoin(_EMConfig, _EMFitted, TwoCoinEstimator):
    """Two-coin Dawid–Skene EM: each annotator has a sensitivity and a specificity.

    E-step: q_l = σ(logit p0 + Σ_i [ε_il=+1] log(s_i/(1−c_i)) + [ε_il=−1] log((1−s_i)/c_i))
    on non-honeypot lines, q_l = [t_l = +1] on honeypot lines. M-step (MAP, Beta smoothing):

        s_i = (Σ_l [ε_il=+1] q_l + ν·m) / (Σ_l q_l + m),
        c_i = (Σ_l [ε_il=−1] (1 − q_l) + ν·m) / (Σ_l (1 − q_l) + m),

    sums over the lines i voted on; p0 as in :class:`EMOneCoin`. ``reliability_`` =
    p0·s_i + (1−p0)·c_i. Two-coin matters for code review: people miss real bugs far more
    often than they flag good lines (Dawid & Skene 1979; Wong & Tan, arXiv 2503.15129).

    Example:
        >>> from crlhf.engine.votes import VoteSet
        >>> votes = VoteSet.build(
        ...     [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3],
        ...     [0, 1, 2] * 4,
        ...     [1, 1, 1, -1, -1, 1, 1, 1, 1, -1, 1, 1],
        ...     gold=[1, -1, 0, 0],
        ... )
        >>> est = EMTwoCoin().fit(votes)
        >>> bool(est.specificity_[2] < est.sensitivity_[2])  # annotator 2 never flags
        True
    """

    def fit(self, votes: VoteSet, *, line_sample: npt.ArrayLike | None = None) -> Self:
        check_votes(votes)
        return self._fit_state(votes, _EMState(votes))

    def _fit_state(self, votes: VoteSet, state: _EMState) -> Self:
        """:meth:`fit` on a prepared state (shared with :class:`EMAuto`, which reuses it)."""
        mat = state.matrix
        m = self.prior_strength

        def m_step(q: FloatArray) -> tuple[FloatArray, FloatArray, float]:
            pos_q, neg_q = mat.annotator_sums(q)
            mass_correct = pos_q + neg_q
            a = self.nu * m
            sens = (pos_q + a) / (mass_correct + m)
            spec = (mat.n_neg - neg_q + a) / (mat.n_votes_per_annotator - mass_correct + m)
            return sens, spec, self._class_prior(state, q)

        sens, spec, p0 = m_step(state.initial_labels())
        counts = gold_counts(votes)
        sens = np.where(counts.n_pos > 0, beta_mean(counts.k_pos, counts.n_pos, self.nu, m), sens)
        spec = np.where(counts.n_neg > 0, beta_mean(counts.k_neg, counts.n_neg, self.nu, m), spec)

        change = math.inf
        self.n_iter_ = 0
        while self.n_iter_ < self.max_iter and change > self.tol:
            pos_w, neg_w = _two_coin_weights(sens, spec)
            q = state.expected_labels(pos_w, neg_w, _logit(p0))
            new_sens, new_spec, new_p0 = m_step(q)
            change = max(
                float(np.abs(new_sens - sens).max(initial=0.0)),
                float(np.abs(new_spec - spec).max(initial=0.0)),
                abs(new_p0 - p0),
            )
            sens, spec, p0 = new_sens, new_spec, new_p0
            self.n_iter_ += 1
        if change > self.tol:
            self._warn_unconverged("EMTwoCoin", change)

        self.sensitivity_ = sens
        self.specificity_ = spec
        self.class_prior_ = p0
        self.reliability_ = p0 * sens + (1 - p0) * spec
        pos_w, neg_w = _two_coin_weights(sens, spec)
        self.posterior_ = _sigmoid_inplace(mat.line_sums(pos_w, neg_w) + _logit(p0))
        return self


def _two_coin_weights(sens: FloatArray, spec: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Log-likelihood ratios of a +1 and a −1 vote (rates are already inside (0, 1))."""
    pos: FloatArray = np.log(sens) - np.log1p(-spec)
    neg: FloatArray = np.log1p(-sens) - np.log(spec)
    return pos, neg
