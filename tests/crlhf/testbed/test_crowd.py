"""The simulated crowd: rewards track the truth, spammers blur it, weighting helps."""

from __future__ import annotations

import numpy as np
import pytest

from crlhf.errors import InvalidInput
from crlhf.testbed.crowd import CrowdSpec, judge, oracle, shuffled


def _truths(n: int, seed: int) -> list[list[bool]]:
    rng = np.random.default_rng(seed)
    return [list(rng.random(5) > 0.4) for _ in range(n)]


def _error(rewards: np.ndarray, truths: list[list[bool]]) -> float:
    true_share = np.array([sum(t) / len(t) for t in truths])
    return float(np.abs(rewards - true_share).mean())


def test_perfect_annotators_give_the_true_share() -> None:
    truths = _truths(50, 0)
    rewards = judge(truths, truths[:10], CrowdSpec.competent(5, p=1.0, estimator="majority"))
    assert rewards.reward.tolist() == pytest.approx([sum(t) / len(t) for t in truths])
    assert (rewards.n_votes == 3 * np.array([len(t) for t in truths])).all()
    assert (rewards.n_annotators == 3).all()


def test_spammers_add_error_and_reliability_weighting_removes_much_of_it() -> None:
    truths = _truths(400, 1)
    honeypots = _truths(40, 2)
    errors = {
        name: _error(judge(truths, honeypots, spec).reward, truths)
        for name, spec in {
            "competent": CrowdSpec.competent(10, estimator="majority", seed=3),
            "spam-majority": CrowdSpec.with_spammers(estimator="majority", seed=3),
            "spam-weighted": CrowdSpec.with_spammers(estimator="em-two-coin", seed=3),
        }.items()
    }
    assert errors["competent"] < errors["spam-majority"]
    assert errors["spam-weighted"] < errors["spam-majority"]


def test_shuffled_control_keeps_the_rewards_but_not_their_owners() -> None:
    rewards = [i / 10 for i in range(10)]
    control = shuffled(rewards, seed=0)
    assert sorted(control) == rewards and control != rewards


def test_bad_crowds_are_refused() -> None:
    with pytest.raises(InvalidInput):
        CrowdSpec(reliabilities=(0.9,), overlap=2)
    with pytest.raises(InvalidInput):
        judge([[]], [], CrowdSpec.competent(3))


def test_oracle_is_the_true_share() -> None:
    rewards = oracle([[True, False], [True, True, True, False]])
    assert rewards.reward.tolist() == [0.5, 0.75]
    assert rewards.n_votes.tolist() == [2, 4]


def test_checkers_join_the_crowd_and_can_judge_alone() -> None:
    from crlhf.testbed.crowd import judge_machines_only

    truths = [[True, False, True]] * 40
    perfect = [[{0: 1, 1: -1, 2: 1}] * 40]
    people = CrowdSpec.with_spammers(1, 4, 0.9, estimator="em-two-coin")
    with_machine = judge(truths, truths[:10], people, machines=perfect)
    assert with_machine.n_annotators.min() == people.overlap + 1
    alone = judge_machines_only(truths, perfect)
    # At the prior reliability a -1 vote still pulls a line below 1/2: c/k = 2/3.
    assert alone.reward == pytest.approx([2 / 3] * 40)
    assert alone.n_votes.tolist() == [3] * 40
