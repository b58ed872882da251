"""The crowd simulator: seeded, shaped as configured, and honest about its truth."""

from __future__ import annotations

import numpy as np
import pytest

from crlhf.engine.simulate import (
    ANNOTATOR_KINDS,
    CrowdConfig,
    Population,
    SimulatedCrowd,
    simulate_crowd,
)
from crlhf.engine.votes import FloatArray
from crlhf.errors import InvalidInput


def empirical_rates(crowd: SimulatedCrowd) -> tuple[FloatArray, FloatArray]:
    """Observed P(+1 | correct) and P(−1 | wrong) per annotator."""
    v = crowd.votes
    truth = crowd.truth[v.line]
    m = v.n_annotators
    on_good = np.bincount(v.annotator[truth > 0], minlength=m)
    on_bad = np.bincount(v.annotator[truth < 0], minlength=m)
    plus_on_good = np.bincount(v.annotator[(truth > 0) & (v.vote > 0)], minlength=m)
    minus_on_bad = np.bincount(v.annotator[(truth < 0) & (v.vote < 0)], minlength=m)
    return plus_on_good / on_good, minus_on_bad / on_bad


def test_same_seed_same_crowd_other_seed_other_crowd() -> None:
    a = simulate_crowd(CrowdConfig(n_samples=200, seed=3))
    b = simulate_crowd(CrowdConfig(n_samples=200, seed=3))
    c = simulate_crowd(CrowdConfig(n_samples=200, seed=4))
    np.testing.assert_array_equal(a.votes.vote, b.votes.vote)
    np.testing.assert_array_equal(a.votes.annotator, b.votes.annotator)
    assert not np.array_equal(a.truth[:100], c.truth[:100])


def test_shape_overlap_and_honeypots() -> None:
    cfg = CrowdConfig(n_samples=2000, overlap=3, honeypot_rate=0.2, lines_min=4, lines_max=6)
    crowd = simulate_crowd(cfg)
    v = crowd.votes
    assert v.n_votes == 3 * v.n_lines
    lines_per_sample = np.bincount(crowd.line_sample)
    assert lines_per_sample.min() >= 4
    assert lines_per_sample.max() <= 6
    # Each sample: the same 3 distinct annotators on every line.
    sample_of_vote = crowd.line_sample[v.line]
    for s in (0, 1, 999):
        on_sample = v.annotator[sample_of_vote == s].reshape(-1, 3)
        assert len(set(on_sample[0])) == 3
        assert (on_sample == on_sample[0]).all()
    # Gold exactly on honeypot samples, and equal to the truth there.
    gold_lines = v.gold != 0
    np.testing.assert_array_equal(gold_lines, crowd.honeypot[crowd.line_sample])
    np.testing.assert_array_equal(v.gold[gold_lines], crowd.truth[gold_lines])
    assert 0.15 < crowd.honeypot.mean() < 0.25
    assert 0.27 < (crowd.truth < 0).mean() < 0.33


def test_one_coin_votes_follow_the_true_reliability() -> None:
    crowd = simulate_crowd(CrowdConfig(n_samples=4000, n_annotators=20, activity_sigma=0.0))
    sens, spec = empirical_rates(crowd)
    np.testing.assert_allclose(crowd.sensitivity, crowd.specificity)
    np.testing.assert_allclose(sens, crowd.reliability, atol=0.03)
    np.testing.assert_allclose(spec, crowd.reliability, atol=0.05)


def test_two_coin_annotators_miss_bugs_but_keep_their_accuracy() -> None:
    cfg = CrowdConfig(n_samples=4000, n_annotators=20, two_coin=True, activity_sigma=0.0, seed=2)
    crowd = simulate_crowd(cfg)
    sens, spec = empirical_rates(crowd)
    np.testing.assert_allclose(sens, crowd.sensitivity, atol=0.03)
    np.testing.assert_allclose(spec, crowd.specificity, atol=0.05)
    not_spam = crowd.kind != ANNOTATOR_KINDS.index("spammer")
    assert (crowd.specificity[not_spam] < crowd.sensitivity[not_spam]).all()
    v = crowd.votes
    right = v.vote == crowd.truth[v.line]
    accuracy = np.bincount(v.annotator, weights=right) / np.bincount(v.annotator)
    np.testing.assert_allclose(accuracy, crowd.reliability, atol=0.03)


def test_population_shares_select_kinds() -> None:
    only_spam = Population(competent=0, sloppy=0, spammer=1, adversarial=0)
    crowd = simulate_crowd(CrowdConfig(n_samples=50, population=only_spam))
    assert (crowd.reliability == 0.5).all()
    adversarial = Population(competent=0, sloppy=0, spammer=0, adversarial=1)
    crowd = simulate_crowd(CrowdConfig(n_samples=50, population=adversarial))
    assert (crowd.reliability < 0.5).all()


@pytest.mark.parametrize(
    "kwargs",
    [
        {"overlap": 0},
        {"overlap": 300},
        {"wrong_share": 1.5},
        {"honeypot_rate": -0.1},
        {"lines_min": 5, "lines_max": 4},
        {"n_samples": 0},
        {"bug_gap": 0.6},
        {"activity_sigma": float("nan")},
    ],
)
def test_bad_config(kwargs: dict[str, float]) -> None:
    with pytest.raises(InvalidInput):
        CrowdConfig(**kwargs)  # type: ignore[arg-type]


def test_bad_population() -> None:
    with pytest.raises(InvalidInput):
        Population(competent=0, sloppy=0, spammer=0, adversarial=0)
    with pytest.raises(InvalidInput):
        Population(competent=-1)
