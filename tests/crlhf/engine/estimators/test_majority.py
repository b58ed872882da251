"""Majority vote: shares, the tie rule, agreement with the majority."""

import numpy as np

from crlhf.engine.estimators import MajorityVote
from crlhf.engine.votes import VoteSet

from .crowd import make_crowd


def test_shares_ties_and_unvoted_lines():
    # line 0: 3×(+1) 1×(−1); line 1: tie; line 2: no votes; line 3: all −1.
    votes = VoteSet.build(
        [0, 0, 0, 0, 1, 1, 3, 3],
        [0, 1, 2, 3, 0, 3, 1, 2],
        [1, 1, 1, -1, 1, -1, -1, -1],
        n_lines=4,
    )
    est = MajorityVote().fit(votes)
    np.testing.assert_allclose(est.posterior_, [0.75, 0.5, 0.5, 0.0])
    # Agreement over decided lines (0 and 3); the tie on line 1 is skipped.
    np.testing.assert_allclose(est.reliability_, [1.0, 1.0, 1.0, 0.0])


def test_annotator_with_only_tied_lines_gets_one_half():
    votes = VoteSet.build([0, 0, 1], [0, 1, 2], [1, -1, 1])
    est = MajorityVote().fit(votes)
    assert est.reliability_[0] == 0.5
    assert est.reliability_[2] == 1.0


def test_gold_is_ignored():
    line, ann, vote = [0, 0, 0], [0, 1, 2], [1, 1, -1]
    plain = MajorityVote().fit(VoteSet.build(line, ann, vote))
    gold = MajorityVote().fit(VoteSet.build(line, ann, vote, gold=[-1]))
    np.testing.assert_array_equal(plain.posterior_, gold.posterior_)


def test_agreement_tracks_reliability_in_a_large_honest_crowd():
    rng = np.random.default_rng(3)
    p = rng.uniform(0.75, 0.95, 12)
    crowd = make_crowd(p, p, n_samples=1500, annotators_per_sample=9, seed=3)
    est = MajorityVote().fit(crowd.votes)
    # With 9 good voters per line the majority is almost always right.
    assert np.abs(est.reliability_ - p).max() < 0.03
