"""Incremental updates pinned to hand-computed values."""

from __future__ import annotations

import json
import math
from typing import Self

import numpy as np
import numpy.typing as npt
import pytest

from crlhf.engine.config import EngineConfig
from crlhf.engine.estimators.base import Estimator, TwoCoinEstimator
from crlhf.engine.incremental import (
    AnnotatorState,
    SampleVote,
    apply_submission,
    sample_consensus,
    states_from_fit,
)
from crlhf.engine.votes import FloatArray, VoteSet
from crlhf.errors import (
    EmptySample,
    InvalidInput,
    InvalidReliability,
    InvalidVote,
    UnknownAnnotator,
)

CFG = EngineConfig()


def one_coin(p: float, weight: float = 10.0) -> AnnotatorState:
    return AnnotatorState(p * weight, (1 - p) * weight, p * weight, (1 - p) * weight)


def sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


def test_initial_state_is_the_beta_prior_at_nu() -> None:
    state = AnnotatorState.initial(CFG)
    assert state.to_dict() == pytest.approx(
        {"good_right": 2.8, "good_wrong": 1.2, "bad_right": 2.8, "bad_wrong": 1.2}
    )
    assert state.reliability(CFG) == pytest.approx(0.7)
    plus, minus = state.weights(CFG)
    assert plus == pytest.approx(math.log(0.7 / 0.3))
    assert minus == pytest.approx(-math.log(0.7 / 0.3))


def test_method_md_worked_check() -> None:
    """Votes (+1, +1, −1) from reliabilities (0.8, 0.7, 0.3) give σ(3.081) ≈ 0.956."""
    states = {0: one_coin(0.8), 1: one_coin(0.7), 2: one_coin(0.3)}
    votes = [SampleVote(0, 1, 1), SampleVote(1, 1, 1), SampleVote(2, 1, -1)]
    out = sample_consensus(CFG, [1, 2], votes, states)
    assert out.posteriors[1] == pytest.approx(0.956, abs=5e-4)
    assert out.posteriors[2] == 0.5  # unvoted line keeps the prior
    # τ = 0.5 and 0.5 is not above τ: c = 1 of k = 2.
    assert (out.correct_lines, out.judged_lines, out.reward) == (1, 2, 0.5)
    assert (out.n_votes, out.n_annotators) == (3, 3)


def test_two_coin_weights() -> None:
    # sens = P(+1 | correct) = 0.9, spec = P(−1 | wrong) = 0.6:
    # w(+1) = log(0.9/0.4), w(−1) = log(0.1/0.6).
    state = AnnotatorState(good_right=9, good_wrong=1, bad_right=6, bad_wrong=4)
    assert state.sensitivity(CFG) == pytest.approx(0.9)
    assert state.specificity(CFG) == pytest.approx(0.6)
    # One-coin summary p0·sens + (1 − p0)·spec with p0 = 0.5.
    assert state.reliability(CFG) == pytest.approx(0.75)
    assert state.reliability(EngineConfig(prior=0.8)) == pytest.approx(0.8 * 0.9 + 0.2 * 0.6)
    out = sample_consensus(CFG, [3, 4], [SampleVote(7, 3, 1), SampleVote(7, 4, -1)], {7: state})
    assert out.posteriors[3] == pytest.approx(sigmoid(math.log(0.9 / 0.4)))
    assert out.posteriors[4] == pytest.approx(sigmoid(math.log(0.1 / 0.6)))
    assert out.reward == 0.5


def test_prior_shifts_the_log_odds() -> None:
    cfg = EngineConfig(prior=0.8)
    out = sample_consensus(cfg, [1, 2], [SampleVote(0, 1, -1)], {0: one_coin(0.7)})
    assert out.posteriors[1] == pytest.approx(sigmoid(math.log(4) - math.log(0.7 / 0.3)))
    assert out.posteriors[2] == pytest.approx(0.8)


def test_no_votes_no_reward() -> None:
    out = sample_consensus(CFG, [1, 2, 3], [], {})
    assert out.reward is None
    assert (out.n_votes, out.n_annotators, out.judged_lines) == (0, 0, 3)


def test_gold_lines_update_the_counts_exactly() -> None:
    gold = {1: 1, 2: -1, 3: -1}
    votes = [SampleVote(5, 1, 1), SampleVote(5, 2, 1), SampleVote(5, 3, -1)]
    update = apply_submission(CFG, 5, [1, 2, 3], votes, {5: AnnotatorState.initial(CFG)}, gold)
    # good line voted +1: good_right + 1; wrong line voted +1: bad_wrong + 1; wrong line
    # voted −1: bad_right + 1.
    assert update.annotator_state.to_dict() == pytest.approx(
        {"good_right": 3.8, "good_wrong": 1.2, "bad_right": 3.8, "bad_wrong": 2.2}
    )
    # The consensus uses the new state: sens = 3.8/5, spec = 3.8/6.
    sens, spec = 3.8 / 5, 3.8 / 6
    assert update.consensus.posteriors[2] == pytest.approx(sigmoid(math.log(sens / (1 - spec))))
    assert update.consensus.posteriors[3] == pytest.approx(sigmoid(math.log((1 - sens) / spec)))
    assert update.consensus.reward == pytest.approx(2 / 3)


def test_ordinary_samples_leave_counts_alone_without_soft_counts() -> None:
    start = AnnotatorState.initial(CFG)
    update = apply_submission(CFG, 0, [1], [SampleVote(0, 1, -1)], {0: start}, None)
    assert update.annotator_state == start


def test_soft_counts_weight_by_the_others_consensus() -> None:
    cfg = EngineConfig(soft_counts=True)
    states = {0: AnnotatorState.initial(cfg), 1: one_coin(0.8), 2: one_coin(0.8)}
    # Line 1: the two others say +1 -> q = σ(2 logit 0.8) = 16/17; the submitter says +1.
    # Line 2: the others disagree -> q = 0.5; the submitter says −1.
    votes = [
        SampleVote(1, 1, 1),
        SampleVote(2, 1, 1),
        SampleVote(1, 2, 1),
        SampleVote(2, 2, -1),
        SampleVote(0, 1, 1),
        SampleVote(0, 2, -1),
    ]
    new = apply_submission(cfg, 0, [1, 2], votes, states, None).annotator_state
    q = 16 / 17
    assert new.good_right == pytest.approx(2.8 + q)
    assert new.bad_wrong == pytest.approx(1.2 + (1 - q))
    assert new.good_wrong == pytest.approx(1.2 + 0.5)
    assert new.bad_right == pytest.approx(2.8 + 0.5)


def test_soft_counts_skip_lines_nobody_else_voted_on() -> None:
    # The first submitter on a sample: the others' consensus would be the prior, which says
    # nothing about the submitter, so the counts do not move.
    cfg = EngineConfig(soft_counts=True)
    start = AnnotatorState.initial(cfg)
    votes = [SampleVote(0, 1, 1), SampleVote(0, 2, -1)]
    assert apply_submission(cfg, 0, [1, 2], votes, {0: start}, None).annotator_state == start


def test_revision_withdraws_the_replaced_votes() -> None:
    gold = {1: 1, 2: -1}
    start = {3: AnnotatorState.initial(CFG)}
    first = [SampleVote(3, 1, -1), SampleVote(3, 2, 1)]
    after_first = apply_submission(CFG, 3, [1, 2], first, start, gold).annotator_state
    second = [SampleVote(3, 1, 1), SampleVote(3, 2, -1)]
    revised = apply_submission(CFG, 3, [1, 2], second, {3: after_first}, gold, previous_votes=first)
    direct = apply_submission(CFG, 3, [1, 2], second, start, gold).annotator_state
    assert revised.annotator_state.to_dict() == pytest.approx(direct.to_dict())


def test_withdrawal_never_goes_below_zero() -> None:
    empty_good = AnnotatorState(0.0, 0.0, 1.0, 1.0)
    prev = [SampleVote(0, 1, 1)]
    out = apply_submission(CFG, 0, [1], [SampleVote(0, 1, -1)], {0: empty_good}, {1: 1}, prev)
    assert out.annotator_state.good_right == 0.0
    assert out.annotator_state.good_wrong == 1.0
    # With no count left the rate falls back to ν instead of dividing by zero.
    assert AnnotatorState(0.0, 0.0, 1.0, 1.0).sensitivity(CFG) == pytest.approx(0.7)


def test_clamps_bound_the_weights() -> None:
    perfect = AnnotatorState(100.0, 0.0, 100.0, 0.0)
    assert perfect.sensitivity(CFG) == CFG.reliability_max
    plus, minus = perfect.weights(CFG)
    assert plus == pytest.approx(math.log(0.99 / 0.01))
    assert minus == pytest.approx(-plus)


def test_inputs_are_not_mutated() -> None:
    states = {0: AnnotatorState.initial(CFG)}
    before = dict(states)
    apply_submission(CFG, 0, [1], [SampleVote(0, 1, 1)], states, {1: 1})
    assert states == before


def test_state_round_trips_through_json() -> None:
    state = AnnotatorState(1.5, 0.25, 3.0, 0.0)
    assert AnnotatorState.from_dict(json.loads(json.dumps(state.to_dict()))) == state


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"good_right": 1.0, "good_wrong": 1.0, "bad_right": 1.0}, InvalidInput),
        (
            {"good_right": math.nan, "good_wrong": 1, "bad_right": 1, "bad_wrong": 1},
            InvalidReliability,
        ),
        ({"good_right": -1, "good_wrong": 1, "bad_right": 1, "bad_wrong": 1}, InvalidReliability),
        (
            {"good_right": math.inf, "good_wrong": 1, "bad_right": 1, "bad_wrong": 1},
            InvalidReliability,
        ),
        ({"good_right": 1, "good_wrong": 1, "bad_right": 1, "bad_wrong": 1, "x": 1}, InvalidInput),
    ],
)
def test_from_dict_rejects_bad_state(data: dict[str, float], error: type[Exception]) -> None:
    with pytest.raises(error):
        AnnotatorState.from_dict(data)


def test_validation_errors() -> None:
    states = {0: AnnotatorState.initial(CFG)}
    with pytest.raises(EmptySample):
        sample_consensus(CFG, [], [], states)
    with pytest.raises(InvalidInput):
        sample_consensus(CFG, [1, 1], [], states)
    with pytest.raises(InvalidVote):
        sample_consensus(CFG, [1], [SampleVote(0, 1, 0)], states)
    with pytest.raises(InvalidVote):
        sample_consensus(CFG, [1], [SampleVote(0, 2, 1)], states)
    with pytest.raises(InvalidVote):
        sample_consensus(CFG, [1], [SampleVote(0, 1, 1), SampleVote(0, 1, -1)], states)
    with pytest.raises(UnknownAnnotator):
        sample_consensus(CFG, [1], [SampleVote(9, 1, 1)], states)
    with pytest.raises(UnknownAnnotator):
        apply_submission(CFG, 9, [1], [], states, None)
    with pytest.raises(InvalidVote):
        apply_submission(CFG, 0, [1], [SampleVote(0, 1, 1)], states, {1: 2})
    with pytest.raises(InvalidVote):
        apply_submission(CFG, 0, [1], [SampleVote(0, 1, 1)], states, {5: 1})
    with pytest.raises(InvalidVote):
        apply_submission(CFG, 0, [1], [], {**states, 1: states[0]}, None, [SampleVote(1, 1, 1)])


class FakeFit(Estimator):
    """A one-coin estimator whose fitted state is given, not computed."""

    def __init__(self, reliability: FloatArray, posterior: FloatArray) -> None:
        self.reliability_ = reliability
        self.posterior_ = posterior

    def fit(self, votes: VoteSet, *, line_sample: npt.ArrayLike | None = None) -> Self:
        return self


class FakeTwoCoinFit(TwoCoinEstimator):
    def __init__(
        self, reliability: FloatArray, posterior: FloatArray, sens: FloatArray, spec: FloatArray
    ) -> None:
        self.reliability_ = reliability
        self.posterior_ = posterior
        self.sensitivity_ = sens
        self.specificity_ = spec
        self.class_prior_ = 0.5

    def fit(self, votes: VoteSet, *, line_sample: npt.ArrayLike | None = None) -> Self:
        return self


def test_states_from_a_one_coin_fit_keep_the_rates() -> None:
    fit = FakeFit(np.array([0.9, 0.4]), np.array([0.5]))
    states = states_from_fit(fit, CFG)
    assert [s.reliability(CFG) for s in states] == pytest.approx([0.9, 0.4])
    assert states[0].to_dict() == pytest.approx(
        {"good_right": 3.6, "good_wrong": 0.4, "bad_right": 3.6, "bad_wrong": 0.4}
    )


def test_states_from_a_two_coin_fit_weigh_the_evidence() -> None:
    # Line 0 is gold-correct, line 1 has posterior 0.25; annotator 0 voted on both,
    # annotator 1 on line 1 only.
    votes = VoteSet.build([0, 1, 1], [0, 0, 1], [1, -1, -1], gold=[1, 0])
    fit = FakeTwoCoinFit(
        reliability=np.array([0.625, 0.6]),
        posterior=np.array([0.9, 0.25]),
        sens=np.array([0.75, 0.6]),
        spec=np.array([0.5, 0.6]),
    )
    states = states_from_fit(fit, CFG, votes)
    # Annotator 0: good weight 4 + 1 + 0.25, bad weight 4 + 0 + 0.75.
    assert states[0].to_dict() == pytest.approx(
        {
            "good_right": 0.75 * 5.25,
            "good_wrong": 0.25 * 5.25,
            "bad_right": 0.5 * 4.75,
            "bad_wrong": 0.5 * 4.75,
        }
    )
    assert states[0].sensitivity(CFG) == pytest.approx(0.75)
    assert states[0].reliability(CFG) == pytest.approx(0.625)
    assert states[1].specificity(CFG) == pytest.approx(0.6)


def test_states_from_fit_rejects_bad_fits() -> None:
    with pytest.raises(InvalidReliability):
        states_from_fit(FakeFit(np.array([math.nan]), np.array([0.5])), CFG)
    with pytest.raises(InvalidReliability):
        states_from_fit(FakeFit(np.array([1.5]), np.array([0.5])), CFG)
    votes = VoteSet.build([0], [0], [1], n_annotators=2)
    with pytest.raises(UnknownAnnotator):
        states_from_fit(FakeFit(np.array([0.5]), np.array([0.5])), CFG, votes)
