"""EM that picks one coin or two by AIC: the right shape, the chosen fit's numbers, the
AIC and its cheap one-coin bound by hand, the same choice as two full fits, bad input."""

import math

import numpy as np
import pytest

from crlhf.engine.config import EngineConfig
from crlhf.engine.estimators import EMAuto, EMOneCoin, EMTwoCoin, make_estimator
from crlhf.engine.estimators.design import VoteMatrix
from crlhf.engine.estimators.em_auto import log_likelihood
from crlhf.engine.incremental import states_from_fit
from crlhf.engine.simulate import CrowdConfig, SimulatedCrowd, simulate_crowd
from crlhf.engine.votes import VoteSet
from crlhf.errors import EmptyVoteSet, InvalidInput, InvalidReliability


def _crowd(two_coin: bool, seed: int = 4) -> SimulatedCrowd:
    return simulate_crowd(CrowdConfig(n_samples=600, two_coin=two_coin, overlap=3, seed=seed))


def _exact_one_coin_aic(votes: VoteSet) -> float:
    """The one-coin AIC of a full one-coin fit (what the cheap bound stands in for)."""
    one = EMOneCoin(prior_strength=1.0).fit(votes)
    matrix = VoteMatrix.from_votes(votes)
    active = int(np.count_nonzero(matrix.n_votes_per_annotator))
    ll = log_likelihood(votes, matrix, one.reliability_, one.reliability_, one.class_prior_)
    return 2 * (active + 1) - 2 * ll


@pytest.mark.parametrize(("two_coin", "expected"), [(False, "one-coin"), (True, "two-coin")])
def test_picks_the_shape_of_the_crowd_and_returns_that_fit(two_coin, expected) -> None:
    crowd = _crowd(two_coin)
    auto = make_estimator("em-auto").fit(crowd.votes)
    assert isinstance(auto, EMAuto)
    assert auto.model_ == expected
    assert (auto.aic_one_coin_ < auto.aic_two_coin_) == (expected == "one-coin")
    if expected == "two-coin":  # the very same EM run as EMTwoCoin
        chosen = EMTwoCoin(prior_strength=1.0).fit(crowd.votes)
        np.testing.assert_array_equal(auto.posterior_, chosen.posterior_)
        np.testing.assert_array_equal(auto.sensitivity_, chosen.sensitivity_)
        np.testing.assert_array_equal(auto.specificity_, chosen.specificity_)
    else:  # warm-started from the two-coin labels: the same optimum, to EM's tolerance
        one = EMOneCoin(prior_strength=1.0).fit(crowd.votes)
        np.testing.assert_allclose(auto.posterior_, one.posterior_, atol=2e-3)
        np.testing.assert_allclose(auto.reliability_, one.reliability_, atol=2e-3)
        assert auto.class_prior_ == pytest.approx(one.class_prior_, abs=1e-3)
        # exposed in the two-coin shape for the incremental path
        np.testing.assert_array_equal(auto.sensitivity_, auto.specificity_)
        np.testing.assert_array_equal(auto.sensitivity_, auto.reliability_)


@pytest.mark.parametrize("two_coin", [False, True])
@pytest.mark.parametrize("seed", [0, 1])
def test_cheap_choice_is_the_choice_of_two_full_fits(two_coin, seed) -> None:
    votes = _crowd(two_coin, seed).votes
    auto = EMAuto().fit(votes)
    exact = _exact_one_coin_aic(votes)
    assert (exact < auto.aic_two_coin_) == (auto.model_ == "one-coin")
    if auto.model_ == "two-coin":
        assert auto.aic_one_coin_ >= exact - 1e-6  # an upper bound on the one-coin AIC
    else:
        assert auto.aic_one_coin_ == pytest.approx(exact, abs=1.0)


def test_log_likelihood_by_hand() -> None:
    # Line 0: votes +1 (annotator 0), −1 (annotator 1); line 1 is gold −1 with a −1 vote.
    votes = VoteSet.build([0, 0, 1], [0, 1, 0], [1, -1, -1], gold=[0, -1])
    sens, spec, p0 = np.array([0.9, 0.8]), np.array([0.7, 0.6]), 0.75
    line0 = math.log(p0 * 0.9 * 0.2 + (1 - p0) * 0.3 * 0.6)
    line1 = math.log(1 - p0) + math.log(0.7)
    got = log_likelihood(votes, VoteMatrix.from_votes(votes), sens, spec, p0)
    assert got == pytest.approx(line0 + line1)


# Four lines, three annotators (annotator 2 only on lines 2–3); line 3 is a honeypot (+1).
TINY = VoteSet.build(
    [0, 0, 1, 1, 2, 2, 2, 3, 3],
    [0, 1, 0, 1, 0, 1, 2, 0, 2],
    [1, 1, -1, 1, 1, -1, -1, 1, -1],
    n_annotators=3,
    gold=[0, 0, 0, 1],
)


def _hand_log_likelihood(sens: list[float], spec: list[float], p0: float) -> float:
    """log P(votes, gold) with explicit loops over lines and votes."""
    by_line: dict[int, list[tuple[int, int]]] = {}
    for line, ann, vote in zip(TINY.line, TINY.annotator, TINY.vote, strict=True):
        by_line.setdefault(int(line), []).append((int(ann), int(vote)))
    total = 0.0
    for line, line_votes in by_line.items():
        if_correct, if_wrong = p0, 1 - p0
        for ann, vote in line_votes:
            if_correct *= sens[ann] if vote > 0 else 1 - sens[ann]
            if_wrong *= 1 - spec[ann] if vote > 0 else spec[ann]
        gold = int(TINY.gold[line])
        total += math.log(
            if_correct if gold > 0 else if_wrong if gold < 0 else if_correct + if_wrong
        )
    return total


def test_aic_and_the_one_coin_bound_by_hand() -> None:
    auto = EMAuto(tol=1e-10).fit(TINY)
    two = EMTwoCoin(prior_strength=1.0, tol=1e-10).fit(TINY)
    sens, spec = two.sensitivity_.tolist(), two.specificity_.tolist()
    # k = 2 rates × 3 annotators + p0
    expected_two = 2 * 7 - 2 * _hand_log_likelihood(sens, spec, two.class_prior_)
    assert auto.aic_two_coin_ == pytest.approx(expected_two, rel=1e-9)

    # The bound: one one-coin M-step (ν = 0.7, m = 1) from the two-coin labels, gold clamped.
    q = two.posterior_.tolist()
    q[3] = 1.0
    right = [0.0, 0.0, 0.0]
    n = [0, 0, 0]
    for line, ann, vote in zip(TINY.line, TINY.annotator, TINY.vote, strict=True):
        right[ann] += q[line] if vote > 0 else 1 - q[line]
        n[ann] += 1
    p = [(right[i] + 0.7) / (n[i] + 1.0) for i in range(3)]
    p0 = (sum(q) + 1) / (4 + 2)  # all four lines are informative
    bound = 2 * 4 - 2 * _hand_log_likelihood(p, p, p0)
    # Four lines cannot pay for three extra rates: the bound already wins, so the one-coin
    # EM runs on, and its converged AIC is reported (no worse than the bound).
    assert bound < auto.aic_two_coin_
    assert auto.model_ == "one-coin"
    rel = auto.reliability_.tolist()
    converged = 2 * 4 - 2 * _hand_log_likelihood(rel, rel, auto.class_prior_)
    assert auto.aic_one_coin_ == pytest.approx(converged, rel=1e-9)
    assert auto.aic_one_coin_ <= bound + 1e-9


def test_the_bound_reported_when_two_coin_is_kept() -> None:
    votes = _crowd(True).votes
    auto = EMAuto().fit(votes)
    assert auto.model_ == "two-coin"
    q = auto.posterior_.copy()
    q[votes.gold != 0] = (votes.gold[votes.gold != 0] > 0).astype(float)
    right = np.where(votes.vote > 0, q[votes.line], 1 - q[votes.line])
    n = np.bincount(votes.annotator, minlength=votes.n_annotators)
    p = (np.bincount(votes.annotator, weights=right, minlength=votes.n_annotators) + 0.7) / (n + 1)
    informative = np.bincount(votes.line, minlength=votes.n_lines) > 0
    p0 = (q[informative].sum() + 1) / (informative.sum() + 2)
    ll = log_likelihood(votes, VoteMatrix.from_votes(votes), p, p, p0)
    active = int(np.count_nonzero(n))
    assert auto.aic_one_coin_ == pytest.approx(2 * (active + 1) - 2 * ll, rel=1e-9)


def test_a_fixed_prior_is_not_a_parameter() -> None:
    auto = EMAuto(prior=0.5, tol=1e-10).fit(TINY)
    two = EMTwoCoin(prior_strength=1.0, prior=0.5, tol=1e-10).fit(TINY)
    ll = _hand_log_likelihood(two.sensitivity_.tolist(), two.specificity_.tolist(), 0.5)
    assert auto.aic_two_coin_ == pytest.approx(2 * 6 - 2 * ll, rel=1e-9)
    assert auto.class_prior_ == 0.5


@pytest.mark.parametrize("two_coin", [False, True])
def test_recovers_the_rates_of_a_simulated_crowd(two_coin) -> None:
    crowd = simulate_crowd(CrowdConfig(n_samples=2000, two_coin=two_coin, overlap=5, seed=7))
    auto = EMAuto().fit(crowd.votes)
    n = np.bincount(crowd.votes.annotator, minlength=crowd.votes.n_annotators)
    busy = n >= 200
    assert np.abs(auto.sensitivity_ - crowd.sensitivity)[busy].mean() < 0.03
    assert np.abs(auto.specificity_ - crowd.specificity)[busy].mean() < 0.04
    assert auto.class_prior_ == pytest.approx(0.7, abs=0.02)
    unknown = crowd.votes.gold == 0
    accuracy = np.mean((auto.posterior_ > 0.5)[unknown] == (crowd.truth[unknown] > 0))
    assert accuracy > 0.9


def test_one_coin_choice_feeds_the_incremental_state() -> None:
    votes = _crowd(False).votes
    auto = EMAuto().fit(votes)
    assert auto.model_ == "one-coin"
    states = states_from_fit(auto, EngineConfig(), votes)
    cfg = EngineConfig()
    got = [(s.sensitivity(cfg), s.specificity(cfg)) for s in states]
    expected = np.clip(auto.reliability_, cfg.reliability_min, cfg.reliability_max)
    np.testing.assert_allclose([g[0] for g in got], expected)
    np.testing.assert_allclose([g[1] for g in got], expected)


def test_bad_input_raises_typed_errors() -> None:
    empty = VoteSet.build([], [], [], n_lines=2, n_annotators=1)
    with pytest.raises(EmptyVoteSet):
        EMAuto().fit(empty)
    with pytest.raises(InvalidInput):
        EMAuto().fit("not votes")  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        EMAuto(prior_strength=0.0)
    with pytest.raises(InvalidReliability):
        EMAuto(nu=1.5)
    with pytest.raises(InvalidReliability):
        EMAuto(prior=math.nan)
    with pytest.raises(InvalidInput):
        make_estimator("em-auto", coins=3)
