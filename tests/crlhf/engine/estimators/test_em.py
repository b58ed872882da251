"""Dawid–Skene EM: reduction to Beta counts, gold clamping, convergence, recovery."""

import logging

import numpy as np
import pytest

from crlhf.engine.estimators import (
    BetaReliability,
    BetaTwoCoin,
    EMOneCoin,
    EMTwoCoin,
    Estimator,
    MajorityVote,
)
from crlhf.engine.posterior import line_posterior, two_coin_posterior
from crlhf.engine.votes import VoteSet

from .crowd import make_crowd


@pytest.fixture(scope="module")
def asymmetric():
    """Annotators who miss bugs (specificity ≪ sensitivity); one adversary."""
    rng = np.random.default_rng(11)
    sens = rng.uniform(0.8, 0.97, 20)
    spec = rng.uniform(0.35, 0.8, 20)
    sens[0], spec[0] = 0.2, 0.25
    return make_crowd(sens, spec, n_samples=3000, annotators_per_sample=4, seed=11)


def test_all_gold_reduces_to_beta_counts():
    rng = np.random.default_rng(2)
    p = rng.uniform(0.55, 0.95, 8)
    crowd = make_crowd(p, p, n_samples=200, honeypot_share=1.0, seed=2)
    assert (crowd.votes.gold != 0).all()
    em1 = EMOneCoin().fit(crowd.votes)
    np.testing.assert_allclose(em1.reliability_, BetaReliability().fit(crowd.votes).reliability_)
    em2 = EMTwoCoin().fit(crowd.votes)
    beta2 = BetaTwoCoin().fit(crowd.votes)
    np.testing.assert_allclose(em2.sensitivity_, beta2.sensitivity_)
    np.testing.assert_allclose(em2.specificity_, beta2.specificity_)
    assert em2.class_prior_ == pytest.approx(beta2.class_prior_)
    assert em1.n_iter_ == em2.n_iter_ == 1  # clamped labels: nothing left to move


def test_two_coin_recovers_sensitivity_and_specificity(asymmetric):
    est = EMTwoCoin().fit(asymmetric.votes)
    assert np.abs(est.sensitivity_ - asymmetric.sensitivity).max() < 0.05
    assert np.abs(est.specificity_ - asymmetric.specificity).max() < 0.06
    assert est.class_prior_ == pytest.approx(asymmetric.p0, abs=0.02)
    assert est.reliability_[0] < 0.5  # the adversary is found and read inverted


def test_two_coin_beats_majority_on_missed_bugs(asymmetric):
    unknown = asymmetric.votes.gold == 0
    truth = asymmetric.truth[unknown] > 0

    def accuracy(est: Estimator) -> float:
        return float(np.mean((est.fit(asymmetric.votes).posterior_[unknown] > 0.5) == truth))

    assert accuracy(EMTwoCoin()) > accuracy(MajorityVote()) + 0.03


def test_one_coin_recovers_symmetric_reliabilities():
    rng = np.random.default_rng(4)
    p = rng.uniform(0.6, 0.95, 15)
    p[3] = 0.3
    crowd = make_crowd(p, p, n_samples=3000, annotators_per_sample=4, p0=0.5, seed=4)
    est = EMOneCoin().fit(crowd.votes)
    assert np.abs(est.reliability_ - p).max() < 0.04
    assert est.reliability_[3] < 0.5


def test_posterior_is_the_votes_only_model_posterior(asymmetric):
    est = EMTwoCoin().fit(asymmetric.votes)
    expected = two_coin_posterior(
        asymmetric.votes, est.sensitivity_, est.specificity_, est.class_prior_
    )
    np.testing.assert_allclose(est.posterior_, expected, atol=1e-12)
    one = EMOneCoin(prior=0.5).fit(asymmetric.votes)
    assert one.class_prior_ == 0.5
    np.testing.assert_allclose(one.posterior_, line_posterior(asymmetric.votes, one.reliability_))


def test_honeypots_are_clamped_in_the_e_step():
    # Two annotators disagree on every line; only the honeypots say who is right.
    n = 40
    line = np.repeat(np.arange(n), 2)
    ann = np.tile([0, 1], n)
    truth = np.where(np.arange(n) % 3 == 0, -1, 1)
    vote = np.stack([truth, -truth], axis=1).reshape(-1)
    gold = np.where(np.arange(n) < 10, truth, 0)
    est = EMOneCoin().fit(VoteSet.build(line, ann, vote, gold=gold))
    assert est.reliability_[0] > 0.8 > 0.2 > est.reliability_[1]
    np.testing.assert_array_equal(est.posterior_[10:] > 0.5, truth[10:] > 0)


def test_iteration_cap_warns(asymmetric, caplog):
    with caplog.at_level(logging.WARNING, logger="crlhf.engine.estimators.em"):
        est = EMTwoCoin(max_iter=1, tol=1e-12).fit(asymmetric.votes)
    assert est.n_iter_ == 1
    assert "did not converge" in caplog.text


def test_rates_stay_inside_the_unit_interval():
    # A perfect annotator on all-gold data would get rate 1 without smoothing.
    votes = VoteSet.build([0, 1, 2], [0, 0, 0], [1, -1, 1], gold=[1, -1, 1])
    est = EMTwoCoin().fit(votes)
    assert 0 < est.specificity_[0] < 1
    assert 0 < est.sensitivity_[0] < 1
