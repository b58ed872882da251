"""Every estimator on E2's simulated crowd (mixed kinds, skewed activity, honeypot samples)."""

import numpy as np
import pytest

from crlhf.engine.estimators import ESTIMATORS, make_estimator
from crlhf.engine.simulate import CrowdConfig, SimulatedCrowd, simulate_crowd


@pytest.fixture(scope="module", params=[False, True], ids=["one-coin", "two-coin"])
def crowd(request: pytest.FixtureRequest) -> SimulatedCrowd:
    config = CrowdConfig(n_samples=1500, n_annotators=60, two_coin=request.param, seed=7)
    return simulate_crowd(config)


def accuracy(name: str, crowd: SimulatedCrowd, **options: object) -> float:
    est = make_estimator(name, **options).fit(crowd.votes, line_sample=crowd.line_sample)
    unknown = crowd.votes.gold == 0
    return float(np.mean((est.posterior_[unknown] > 0.5) == (crowd.truth[unknown] > 0)))


@pytest.mark.parametrize("name", ["beta", "beta-two-coin", "em-two-coin", "sparse-logreg"])
def test_principled_estimators_beat_majority(crowd, name):
    assert accuracy(name, crowd) > accuracy("majority", crowd) + 0.01


def test_two_coin_em_recovers_every_active_annotator(crowd):
    est = make_estimator("em-two-coin").fit(crowd.votes)
    active = np.bincount(crowd.votes.annotator, minlength=crowd.votes.n_annotators) >= 200
    error = np.abs(est.reliability_ - crowd.reliability)[active]
    assert error.mean() < 0.02
    assert error.max() < 0.08


def test_literal_paper_rule_is_the_worst(crowd):
    scores = {name: accuracy(name, crowd) for name in ESTIMATORS}
    assert min(scores, key=scores.__getitem__) == "paper"
