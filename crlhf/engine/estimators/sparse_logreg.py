"""Section II-C: reliabilities as the weights of an L1-regularised logistic regression.

Each line with a known label t_j ∈ {±1} is an example, the votes E_ji ∈ {−1, 0, +1} its
features, and w_i = logit(p_i) the weights: under the one-coin model with p0 = ½ the true
label's log-odds are exactly (E w)_j (eq. 7), so the regression is well specified and its
optimum tends to logit(p_i). The L1 term zeroes annotators whose votes add nothing.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Literal, Self

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from scipy.special import entr, expit

from crlhf.engine.estimators.base import (
    Estimator,
    check_count,
    check_open_unit,
    check_positive,
    check_votes,
)
from crlhf.engine.estimators.beta import BetaReliability
from crlhf.engine.posterior import line_posterior
from crlhf.engine.votes import FloatArray, VoteSet
from crlhf.errors import InvalidInput

logger = logging.getLogger(__name__)

GammaScaling = Literal["sqrt", "linear"]


class _LogRegFitted:
    """Fitted state of :class:`SparseLogReg` beyond the estimator contract."""

    weights_: FloatArray
    """w = logit(p) as fitted (0 for annotators zeroed by the penalty or without evidence)."""
    gamma_: float
    """The γ actually used (γ₀ · n̄)."""
    duality_gap_: float
    """P(w) − D(ν) at the stop, ≥ 0: a certificate of how far w is from optimal."""
    n_iter_: int
    """FISTA iterations run."""
    n_examples_: int
    """Lines used as examples (known or confidently inferred label, at least one vote)."""


@dataclass
class SparseLogReg(_LogRegFitted, Estimator):
    """L1-regularised logistic regression of known labels on votes, solved by FISTA.

        minimise_w  Σ_j log(1 + exp(−t_j (E w)_j)) + γ ‖w‖₁,    p_i = σ(w_i)

    (Wong & Tan, arXiv 2503.15129, section II-C; the paper writes the loss of one line, the
    sum over lines is the usable form). Examples are honeypot lines with at least one vote,
    plus, with ``include_confident``, non-gold lines whose eq.-7 posterior under the
    gold-only Beta estimate (:class:`~crlhf.engine.estimators.beta.BetaReliability`) is at
    least ``confidence`` for one label. Solver: proximal gradient with FISTA momentum and
    gradient-based adaptive restart, step 1/L with L = ‖E‖₂²/4 (power iteration), stopping
    when the duality gap P(w) − D(ν) falls below ``tol``·max(1, P(w)). The dual point
    ν_j = σ(−t_j (E w)_j), scaled so that ‖Eᵀ(t∘ν)‖_∞ ≤ γ, is feasible and
    D(ν) = Σ_j H(ν_j) (binary entropy, nats) is a lower bound on the optimum.

    γ scales with the evidence, n̄ = mean number of example votes per annotator with any.
    At w = 0 annotator i's gradient is −½ (agreements − disagreements), so w_i stays exactly
    0 while |agreements − disagreements| ≤ 2γ. For a spammer that difference is a random
    walk of size √n_i, so ``gamma_scaling="sqrt"`` (the default), γ = γ₀ · √n̄, zeroes an
    average annotator whose agreement z-score against chance is within ±2γ₀ at any amount
    of gold (the default γ₀ = ½: |z| ≤ 1, about two spammers in three), and its shrinkage of
    the others vanishes like 1/√n̄, so the estimate stays consistent. The price is a bias
    toward ½ at moderate n̄ (measured, 1,000 gold votes per annotator: −0.047 at γ₀ = ½,
    −0.080 at γ₀ = 1; the logistic loss only learns from lines the crowd is unsure of, so its
    curvature is small). ``gamma_scaling="linear"``, γ = γ₀ · n̄, is the mean-loss form: the
    same accuracy band ½ ± γ₀ at every scale, but a shrinkage bias that never goes away
    (γ₀ = 0.02: −0.057 at any size).
    A fixed γ, finally, would zero honest annotators on small gold sets and stop catching
    spammers on large ones.

    Annotators without any example vote get the fallback ``nu`` (the regression knows
    nothing about them); annotators zeroed by the penalty get exactly ½ (zero weight).

    Example:
        >>> from crlhf.engine.votes import VoteSet
        >>> votes = VoteSet.build(
        ...     [0, 0, 1, 1, 2, 2, 3, 3, 4], [0, 1, 0, 1, 0, 1, 0, 1, 2],
        ...     [1, 1, -1, -1, 1, -1, -1, 1, 1], gold=[1, -1, 1, -1, 0],
        ... )
        >>> est = SparseLogReg(gamma0=0.1).fit(votes)
        >>> est.reliability_.round(3).tolist()  # annotator 2 has no gold: fallback ν
        [0.95, 0.5, 0.7]
        >>> bool(est.duality_gap_ <= 1e-6 * 4)
        True
    """

    gamma0: float = 0.5
    """γ₀: L1 strength in units of the evidence scale (see ``gamma_scaling``)."""
    gamma_scaling: GammaScaling = "sqrt"
    """γ = γ₀·√n̄ (``sqrt``, consistent) or γ₀·n̄ (``linear``, a constant bias); see above."""
    nu: float = 0.7
    """Fallback reliability for annotators without a vote on any example."""
    include_confident: bool = False
    """Also train on non-gold lines whose consensus is already very confident."""
    confidence: float = 0.99
    """Posterior (of either label) a non-gold line needs to become an example."""
    prior: float = 0.5
    """p0 in the final eq.-7 posterior."""
    tol: float = 1e-6
    """Relative duality gap at which FISTA stops."""
    max_iter: int = 10_000
    """Iteration cap; hitting it logs a warning."""
    check_every: int = 10
    """Iterations between duality-gap checks (each costs two sparse products)."""

    def __post_init__(self) -> None:
        # γ = 0 (plain logistic regression) has no finite dual certificate: the constraint
        # would be Eᵀ(t∘ν) = 0 exactly, and separable gold sends weights to infinity.
        check_positive(self.gamma0, "gamma0")
        if self.gamma_scaling not in ("sqrt", "linear"):
            raise InvalidInput(
                f"gamma_scaling must be 'sqrt' or 'linear', got {self.gamma_scaling!r}",
                field="gamma_scaling",
            )
        check_open_unit(self.nu, "nu")
        check_open_unit(self.confidence, "confidence")
        check_open_unit(self.prior, "prior")
        check_positive(self.tol, "tol")
        check_count(self.max_iter, "max_iter")
        check_count(self.check_every, "check_every")

    def fit(self, votes: VoteSet, *, line_sample: npt.ArrayLike | None = None) -> Self:
        check_votes(votes)
        design = self._design(votes)
        m = votes.n_annotators
        self.n_examples_ = design.shape[0]
        evidence = np.bincount(design.indices, minlength=m) > 0
        n_bar = design.nnz / max(int(evidence.sum()), 1)
        scale = math.sqrt(n_bar) if self.gamma_scaling == "sqrt" else n_bar
        self.gamma_ = self.gamma0 * scale
        if design.nnz:
            w, gap, n_iter = fista_l1_logistic(
                design,
                self.gamma_,
                tol=self.tol,
                max_iter=self.max_iter,
                check_every=self.check_every,
            )
        else:
            w, gap, n_iter = np.zeros(m), 0.0, 0
        self.weights_, self.duality_gap_, self.n_iter_ = w, gap, n_iter
        self.reliability_ = np.where(evidence, expit(w), self.nu)
        self.posterior_ = line_posterior(votes, self.reliability_, self.prior)
        return self

    def _design(self, votes: VoteSet) -> sp.csr_array:
        """The example matrix A = diag(t) E: row j holds t_j · (votes on example line j)."""
        target = votes.gold.astype(np.float64)
        if self.include_confident:
            pilot = BetaReliability(nu=self.nu, prior=self.prior).fit(votes).posterior_
            sure = (votes.gold == 0) & (np.maximum(pilot, 1 - pilot) >= self.confidence)
            target[sure] = np.sign(pilot[sure] - 0.5)
        example_lines = np.flatnonzero(target)
        row_of_line = np.full(votes.n_lines, -1, dtype=np.int64)
        row_of_line[example_lines] = np.arange(example_lines.size)
        keep = row_of_line[votes.line] >= 0
        rows = row_of_line[votes.line[keep]]
        values = votes.vote[keep] * target[votes.line[keep]]
        shape = (example_lines.size, votes.n_annotators)
        design = sp.coo_array((values, (rows, votes.annotator[keep])), shape=shape).tocsr()
        # Lines without votes are constant log 2 in the loss; drop them.
        voted_rows = np.diff(design.indptr) > 0
        return design[voted_rows] if not voted_rows.all() else design


def spectral_norm_sq(a: sp.csr_array, *, tol: float = 1e-8, max_iter: int = 500) -> float:
    """‖A‖₂² by power iteration on AᵀA (deterministic start, so fits are reproducible)."""
    x = np.ones(a.shape[1]) / math.sqrt(a.shape[1])
    estimate = 0.0
    for _ in range(max_iter):
        y = a.T @ (a @ x)
        norm = float(np.linalg.norm(y))
        if norm == 0.0:
            return 0.0
        x = y / norm
        if abs(norm - estimate) <= tol * norm:
            return norm
        estimate = norm
    return estimate


def primal_dual(a: sp.csr_array, w: FloatArray, gamma: float) -> tuple[float, float]:
    """Primal objective at w and the dual objective at the scaled dual point built from w."""
    margin = a @ w
    primal = float(np.logaddexp(0.0, -margin).sum()) + gamma * float(np.abs(w).sum())
    nu = expit(-margin)
    corr = float(np.abs(a.T @ nu).max(initial=0.0))
    if corr > gamma:
        nu *= gamma / corr
    dual = float(entr(nu).sum() + entr(1.0 - nu).sum())
    return primal, dual


def fista_l1_logistic(
    a: sp.csr_array,
    gamma: float,
    *,
    tol: float = 1e-6,
    max_iter: int = 10_000,
    check_every: int = 10,
) -> tuple[FloatArray, float, int]:
    """Minimise Σ_j log(1 + exp(−(A w)_j)) + γ‖w‖₁ by FISTA; returns (w, gap, iterations).

    Rows of ``a`` already carry the label sign (A = diag(t) E). The smooth part's gradient
    −Aᵀσ(−Aw) is Lipschitz with L ≤ ‖A‖₂²/4; the power-iteration estimate of ‖A‖₂² is a lower
    bound, so it is padded by 2 % to keep the step 1/L safe.
    """
    n_features = a.shape[1]
    lipschitz = 1.02 * spectral_norm_sq(a) / 4.0
    w = np.zeros(n_features)
    if lipschitz == 0.0:
        return w, 0.0, 0
    step = 1.0 / lipschitz
    threshold = step * gamma
    y = w.copy()
    momentum = 1.0
    gap = math.inf
    a_t = a.T
    n_iter = 0
    while n_iter < max_iter:
        n_iter += 1
        grad = -(a_t @ expit(-(a @ y)))
        z = y - step * grad
        w_new = np.sign(z) * np.maximum(np.abs(z) - threshold, 0.0)
        # Adaptive restart (O'Donoghue & Candès 2015): drop momentum when it points uphill.
        if float(np.dot(y - w_new, w_new - w)) > 0.0:
            momentum = 1.0
        next_momentum = (1.0 + math.sqrt(1.0 + 4.0 * momentum * momentum)) / 2.0
        y = w_new + ((momentum - 1.0) / next_momentum) * (w_new - w)
        w, momentum = w_new, next_momentum
        if n_iter % check_every == 0 or n_iter == max_iter:
            primal, dual = primal_dual(a, w, gamma)
            gap = primal - dual
            if gap <= tol * max(1.0, abs(primal)):
                break
    else:
        logger.warning("FISTA stopped at max_iter=%d with duality gap %.3e", max_iter, gap)
    return w, max(gap, 0.0), n_iter
