"""Section II-C: FISTA against a reference solver, the duality gap, γ scaling, fallbacks."""

import numpy as np
import numpy.typing as npt
import pytest
import scipy.sparse as sp
from scipy.optimize import minimize

from crlhf.engine.estimators import SparseLogReg
from crlhf.engine.estimators.sparse_logreg import fista_l1_logistic, primal_dual
from crlhf.engine.votes import VoteSet
from crlhf.errors import InvalidInput

from .crowd import make_crowd


def small_problem(seed: int = 0, n_examples: int = 300, n_features: int = 8) -> sp.csr_array:
    rng = np.random.default_rng(seed)
    p = rng.uniform(0.45, 0.9, n_features)
    truth = rng.choice([-1.0, 1.0], n_examples)
    voted = rng.random((n_examples, n_features)) < 0.5
    right = rng.random((n_examples, n_features)) < p
    e = np.where(voted, np.where(right, truth[:, None], -truth[:, None]), 0.0)
    return sp.csr_array(truth[:, None] * e)


def reference_solution(a: sp.csr_array, gamma: float) -> npt.NDArray[np.float64]:
    """L-BFGS-B on the split w = u − v, u, v ≥ 0 (a smooth, bound-constrained problem)."""
    dense = a.toarray()
    d = dense.shape[1]

    def objective(uv: npt.NDArray[np.float64]) -> tuple[float, npt.NDArray[np.float64]]:
        w = uv[:d] - uv[d:]
        margin = dense @ w
        loss = np.logaddexp(0.0, -margin).sum() + gamma * uv.sum()
        g = -dense.T @ (1.0 / (1.0 + np.exp(margin)))
        return loss, np.concatenate([g + gamma, -g + gamma])

    res = minimize(
        objective,
        np.zeros(2 * d),
        jac=True,
        method="L-BFGS-B",
        bounds=[(0, None)] * (2 * d),
        options={"ftol": 1e-16, "gtol": 1e-12, "maxiter": 100_000, "maxcor": 30},
    )
    solution: npt.NDArray[np.float64] = res.x[:d] - res.x[d:]
    return solution


@pytest.mark.parametrize("gamma", [2.0, 8.0])
def test_fista_matches_reference_solver(gamma):
    a = small_problem()
    w, gap, n_iter = fista_l1_logistic(a, gamma, tol=1e-15, max_iter=100_000, check_every=1)
    np.testing.assert_allclose(w, reference_solution(a, gamma), atol=1e-6)
    assert gap >= 0
    assert n_iter < 100_000


def test_gap_is_nonnegative_and_under_tolerance_at_the_stop():
    a = small_problem(seed=3)
    tol = 1e-8
    w, gap, _ = fista_l1_logistic(a, 4.0, tol=tol)
    primal, dual = primal_dual(a, w, 4.0)
    assert gap == pytest.approx(primal - dual)
    assert 0 <= gap <= tol * max(1.0, primal)


def test_weak_duality_anywhere():
    a = small_problem(seed=1)
    rng = np.random.default_rng(1)
    for _ in range(20):
        primal, dual = primal_dual(a, rng.normal(scale=2.0, size=a.shape[1]), 3.0)
        assert dual <= primal


def test_spammer_is_zeroed_and_unknown_annotator_falls_back():
    # Annotator 0 is right on every honeypot, annotator 1 exactly half the time,
    # annotator 2 votes only on a non-gold line.
    n = 40
    truth = np.where(np.arange(n) % 2 == 0, 1, -1)
    line = np.concatenate([np.repeat(np.arange(n), 2), [n]])
    ann = np.concatenate([np.tile([0, 1], n), [2]])
    spam = np.where(np.arange(n) % 4 < 2, truth, -truth)
    vote = np.concatenate([np.stack([truth, spam], axis=1).reshape(-1), [1]])
    votes = VoteSet.build(line, ann, vote, gold=np.append(truth, 0))
    est = SparseLogReg(nu=0.65).fit(votes)
    assert est.weights_[1] == 0.0
    assert est.reliability_[1] == 0.5
    assert est.reliability_[2] == 0.65
    assert est.reliability_[0] > 0.9
    assert est.n_examples_ == n


def test_gamma_scales_with_evidence():
    rng = np.random.default_rng(0)
    p = rng.uniform(0.6, 0.9, 10)
    small = make_crowd(p, p, n_samples=200, seed=1).votes
    large = make_crowd(p, p, n_samples=800, seed=1).votes
    n_bar = []
    for votes in (small, large):
        gold_votes = np.count_nonzero(votes.gold[votes.line])
        n_bar.append(gold_votes / 10)
        est = SparseLogReg(gamma0=0.5).fit(votes)
        assert est.gamma_ == pytest.approx(0.5 * np.sqrt(n_bar[-1]))
        lin = SparseLogReg(gamma0=0.01, gamma_scaling="linear").fit(votes)
        assert lin.gamma_ == pytest.approx(0.01 * n_bar[-1])
    assert n_bar[1] > 3 * n_bar[0]


def test_recovers_reliabilities_with_a_light_penalty():
    rng = np.random.default_rng(8)
    p = rng.uniform(0.6, 0.9, 10)
    p[0] = 0.3
    crowd = make_crowd(p, p, n_samples=3000, p0=0.5, honeypot_share=0.5, seed=8)
    est = SparseLogReg(gamma0=0.05).fit(crowd.votes)
    assert np.abs(est.reliability_ - p).max() < 0.05
    assert est.reliability_[0] < 0.5


def test_confident_lines_add_examples():
    rng = np.random.default_rng(9)
    p = rng.uniform(0.8, 0.95, 10)
    crowd = make_crowd(p, p, n_samples=300, annotators_per_sample=5, seed=9)
    gold_only = SparseLogReg().fit(crowd.votes)
    widened = SparseLogReg(include_confident=True, confidence=0.95).fit(crowd.votes)
    assert widened.n_examples_ > gold_only.n_examples_


def test_no_gold_at_all_falls_back_everywhere():
    votes = VoteSet.build([0, 0, 1], [0, 1, 1], [1, -1, 1])
    est = SparseLogReg(nu=0.6).fit(votes)
    np.testing.assert_array_equal(est.reliability_, [0.6, 0.6])
    assert est.n_iter_ == 0
    assert est.duality_gap_ == 0.0


def test_zero_penalty_is_rejected():
    with pytest.raises(InvalidInput):
        SparseLogReg(gamma0=0.0)
