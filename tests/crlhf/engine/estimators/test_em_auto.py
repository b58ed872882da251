"""EM that picks one coin or two by AIC: the right shape, exactly the chosen fit's numbers."""

import math

import numpy as np
import pytest

from crlhf.engine.estimators import EMAuto, EMOneCoin, EMTwoCoin, make_estimator
from crlhf.engine.estimators.design import VoteMatrix
from crlhf.engine.estimators.em_auto import log_likelihood
from crlhf.engine.simulate import CrowdConfig, simulate_crowd
from crlhf.engine.votes import VoteSet


@pytest.mark.parametrize(("two_coin", "expected"), [(False, "one-coin"), (True, "two-coin")])
def test_picks_the_shape_of_the_crowd_and_returns_that_fit(two_coin, expected) -> None:
    crowd = simulate_crowd(CrowdConfig(n_samples=600, two_coin=two_coin, overlap=3, seed=4))
    auto = make_estimator("em-auto").fit(crowd.votes)
    assert isinstance(auto, EMAuto)
    assert auto.model_ == expected
    assert (auto.aic_one_coin_ < auto.aic_two_coin_) == (expected == "one-coin")
    chosen_class = EMOneCoin if expected == "one-coin" else EMTwoCoin
    chosen = chosen_class(prior_strength=1.0).fit(crowd.votes)
    np.testing.assert_array_equal(auto.posterior_, chosen.posterior_)
    np.testing.assert_array_equal(auto.reliability_, chosen.reliability_)
    if expected == "one-coin":  # exposed in the two-coin shape for the incremental path
        np.testing.assert_array_equal(auto.sensitivity_, auto.specificity_)


def test_log_likelihood_by_hand() -> None:
    # Line 0: votes +1 (annotator 0), −1 (annotator 1); line 1 is gold −1 with a −1 vote.
    votes = VoteSet.build([0, 0, 1], [0, 1, 0], [1, -1, -1], gold=[0, -1])
    sens, spec, p0 = np.array([0.9, 0.8]), np.array([0.7, 0.6]), 0.75
    line0 = math.log(p0 * 0.9 * 0.2 + (1 - p0) * 0.3 * 0.6)
    line1 = math.log(1 - p0) + math.log(0.7)
    got = log_likelihood(votes, VoteMatrix.from_votes(votes), sens, spec, p0)
    assert got == pytest.approx(line0 + line1)
