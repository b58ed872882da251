"""Beta-Binomial estimates from honeypot counts, one-coin and two-coin."""

import numpy as np
import pytest

from crlhf.engine.estimators import BetaReliability, BetaTwoCoin
from crlhf.engine.posterior import line_posterior, two_coin_posterior
from crlhf.engine.votes import VoteSet

from .crowd import make_crowd


@pytest.fixture
def votes():
    # Lines 0-3 are honeypots (truth +1, +1, −1, −1); line 4 is not.
    # Annotator 0: right on all 4. Annotator 1: right on the correct lines, misses both bugs.
    # Annotator 2: only votes on line 4 (no gold evidence).
    return VoteSet.build(
        [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 4],
        [0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 2],
        [1, 1, 1, 1, -1, 1, -1, 1, -1, 1, 1],
        gold=[1, 1, -1, -1, 0],
    )


def test_one_coin_counts(votes):
    est = BetaReliability(nu=0.7, prior_strength=4.0).fit(votes)
    # (k + ν m) / (n + m): annotator 0: (4 + 2.8)/8, annotator 1: (2 + 2.8)/8, annotator 2: ν.
    np.testing.assert_allclose(est.reliability_, [6.8 / 8, 4.8 / 8, 0.7])
    np.testing.assert_allclose(est.posterior_, line_posterior(votes, est.reliability_))


def test_two_coin_counts_per_class(votes):
    est = BetaTwoCoin(nu=0.7, prior_strength=4.0).fit(votes)
    np.testing.assert_allclose(est.sensitivity_, [4.8 / 6, 4.8 / 6, 0.7])
    np.testing.assert_allclose(est.specificity_, [4.8 / 6, 2.8 / 6, 0.7])
    assert est.class_prior_ == pytest.approx(3 / 6)  # 2 correct, 2 wrong, +1 each
    np.testing.assert_allclose(
        est.posterior_,
        two_coin_posterior(votes, est.sensitivity_, est.specificity_, est.class_prior_),
    )
    # Annotator 1's +1 is weak evidence (they never flag), annotator 0's −1 is strong.
    assert est.posterior_[4] < 0.5


def test_fixed_prior_is_used(votes):
    assert BetaTwoCoin(prior=0.8).fit(votes).class_prior_ == 0.8


def test_estimate_converges_to_true_accuracy():
    rng = np.random.default_rng(0)
    n = 20_000
    truth = np.where(rng.random(n) < 0.5, 1, -1)
    right = rng.random(n) < 0.83
    votes = VoteSet.build(
        np.arange(n), np.zeros(n, int), np.where(right, truth, -truth), gold=truth
    )
    assert BetaReliability().fit(votes).reliability_[0] == pytest.approx(0.83, abs=0.01)


def test_two_coin_recovers_rates_from_honeypots():
    rng = np.random.default_rng(6)
    sens = rng.uniform(0.8, 0.97, 10)
    spec = rng.uniform(0.3, 0.7, 10)
    crowd = make_crowd(sens, spec, n_samples=4000, honeypot_share=0.5, seed=6)
    est = BetaTwoCoin().fit(crowd.votes)
    assert np.abs(est.sensitivity_ - sens).max() < 0.04
    assert np.abs(est.specificity_ - spec).max() < 0.06
    assert est.class_prior_ == pytest.approx(crowd.p0, abs=0.03)
