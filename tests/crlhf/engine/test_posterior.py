"""Eq. 7 and its two-coin form against hand-computed values."""

import numpy as np
import pytest

from crlhf.engine.posterior import (
    line_log_odds,
    line_posterior,
    logit,
    two_coin_log_odds,
    two_coin_posterior,
)
from crlhf.engine.votes import VoteSet
from crlhf.errors import InvalidInput, InvalidReliability, InvalidVote, UnknownAnnotator


def one_line(votes: list[int]) -> VoteSet:
    return VoteSet.build([0] * len(votes), list(range(len(votes))), votes)


def test_worked_example_of_method_md():
    # σ(logit .8 + logit .7 − logit .3) = σ(1.386 + 0.847 + 0.847) = σ(3.081)
    post = line_posterior(one_line([1, 1, -1]), [0.8, 0.7, 0.3])
    assert round(float(post[0]), 3) == 0.956


def test_coin_flipper_changes_nothing():
    base = line_log_odds(one_line([1, -1]), [0.8, 0.6])
    with_spammer = line_log_odds(one_line([1, -1, -1]), [0.8, 0.6, 0.5])
    np.testing.assert_allclose(with_spammer, base)


def test_adversarial_votes_are_read_inverted():
    adversary = line_posterior(one_line([-1]), [0.2])
    honest = line_posterior(one_line([1]), [0.8])
    np.testing.assert_allclose(adversary, honest)
    assert adversary[0] > 0.5


def test_two_coin_reduces_to_one_coin_when_rates_agree():
    votes = VoteSet.build([0, 0, 1, 1, 1], [0, 1, 0, 1, 2], [1, -1, -1, -1, 1])
    p = np.array([0.9, 0.65, 0.3])
    np.testing.assert_allclose(two_coin_log_odds(votes, p, p, 0.7), line_log_odds(votes, p, 0.7))


def test_two_coin_hand_value():
    # +1 from (s=.9, c=.4): log(.9/.6); −1 from (s=.8, c=.95): log(.2/.95); prior 0.7.
    votes = VoteSet.build([0, 0], [0, 1], [1, -1])
    expected = float(logit(0.7)) + np.log(0.9 / 0.6) + np.log(0.2 / 0.95)
    got = two_coin_log_odds(votes, [0.9, 0.8], [0.4, 0.95], 0.7)
    assert got[0] == pytest.approx(expected)
    post = two_coin_posterior(votes, [0.9, 0.8], [0.4, 0.95], 0.7)
    assert post[0] == pytest.approx(1 / (1 + np.exp(-expected)))


def test_unvoted_line_keeps_the_prior():
    votes = VoteSet.build([0], [0], [1], n_lines=2)
    assert two_coin_posterior(votes, [0.9], [0.9], 0.7)[1] == pytest.approx(0.7)


@pytest.mark.parametrize(
    ("sens", "spec", "error"),
    [
        ([np.nan, 0.8], [0.8, 0.8], InvalidReliability),
        ([0.8, 0.8], [0.8, 1.5], InvalidReliability),
        ([0.8], [0.8], UnknownAnnotator),
    ],
)
def test_two_coin_rejects_bad_rates(sens, spec, error):
    votes = VoteSet.build([0, 0], [0, 1], [1, -1])
    with pytest.raises(error):
        two_coin_log_odds(votes, sens, spec)


def test_bad_prior_and_bad_votes_raise_typed_errors():
    votes = VoteSet.build([0], [0], [1])
    with pytest.raises(InvalidInput):
        two_coin_posterior(votes, [0.8], [0.8], prior=1.0)
    with pytest.raises(InvalidReliability):
        line_posterior(votes, [np.nan])
    with pytest.raises(InvalidVote):
        VoteSet.build([0, 0], [0, 1], [1, 0])
    with pytest.raises(UnknownAnnotator):
        VoteSet.build([0], [3], [1], n_annotators=2)
