"""Machines calibrated on lines people settled: hand-counted states, eq. 7 added, broken
checkers weighed near zero, and people's fit untouched by any machine vote."""

from __future__ import annotations

import math

import numpy as np
import pytest

from crlhf.engine.config import EngineConfig
from crlhf.engine.estimators import make_estimator
from crlhf.engine.incremental import AnnotatorState
from crlhf.engine.machine_calibration import (
    fit_with_machines,
    machine_states,
    with_machine_votes,
)
from crlhf.engine.votes import VoteSet

CONFIG = EngineConfig()


def test_states_count_only_lines_people_settled() -> None:
    # Lines 0-3; people's posterior settles 0 (good) and 1 (bad); 2 is unsure; 3 is gold bad.
    votes = VoteSet.build([0, 1, 2, 3], [5, 5, 5, 5], [1, 1, -1, -1], n_lines=4, gold=[0, 0, 0, -1])
    states = machine_states(votes, [5], [0.99, 0.01, 0.6, 0.5], CONFIG)
    prior = AnnotatorState.initial(CONFIG)
    assert states[5] == AnnotatorState(
        good_right=prior.good_right + 1,
        good_wrong=prior.good_wrong,
        bad_right=prior.bad_right + 1,
        bad_wrong=prior.bad_wrong + 1,
    )


def test_machine_votes_add_their_weights_to_peoples_log_odds() -> None:
    votes = VoteSet.build([0, 1], [1, 1], [1, -1], n_lines=3)
    state = AnnotatorState(good_right=9, good_wrong=1, bad_right=8, bad_wrong=2)
    plus, minus = state.weights(CONFIG)
    posterior = with_machine_votes(votes, [0.5, 0.8, 0.3], {1: state}, CONFIG)
    assert posterior[0] == pytest.approx(1 / (1 + math.exp(-plus)))
    assert posterior[1] == pytest.approx(1 / (1 + math.exp(-(math.log(4) + minus))))
    assert posterior[2] == pytest.approx(0.3)  # no machine vote: people's posterior


def _crowd(seed: int = 0) -> tuple[list[int], list[int], list[int], np.ndarray]:
    rng = np.random.default_rng(seed)
    truth = np.where(rng.random(300) < 0.75, 1, -1)
    line, who, vote = [], [], []
    for index, label in enumerate(truth):
        for person in rng.choice(8, size=3, replace=False):
            line.append(index)
            who.append(int(person))
            vote.append(int(label) if rng.random() < 0.9 else -int(label))
    return line, who, vote, truth


@pytest.mark.parametrize("broken", ["random", "always correct"])
def test_broken_checkers_weigh_little_and_people_are_untouched(broken: str) -> None:
    line, who, vote, truth = _crowd()
    rng = np.random.default_rng(1)
    machine = 8
    for index in range(truth.size):
        line.append(index)
        who.append(machine)
        vote.append(int(rng.choice([1, -1])) if broken == "random" else 1)
    votes = VoteSet.build(line, who, vote, n_lines=truth.size, n_annotators=9)
    line_sample = np.arange(truth.size) // 5
    estimator = make_estimator("em-two-coin")
    fitted = fit_with_machines(estimator, votes, [False] * 8 + [True], line_sample, CONFIG)
    plus, minus = fitted.states[machine].weights(CONFIG)
    assert abs(plus) < 0.3  # "always correct" casts only +1 votes: minus never applies
    assert broken != "random" or abs(minus) < 0.3
    accuracy = float(((fitted.posterior > 0.5) == (truth == 1)).mean())
    people = VoteSet.build(line[: -truth.size], who[: -truth.size], vote[: -truth.size])
    alone = make_estimator("em-two-coin").fit(people, line_sample=line_sample)
    assert accuracy >= float(((alone.posterior_ > 0.5) == (truth == 1)).mean()) - 0.005
    assert np.allclose(estimator.reliability_, alone.reliability_)  # machines never enter


def test_a_good_checker_settles_lines_and_machines_alone_keep_the_prior() -> None:
    line, who, vote, truth = _crowd()
    for index, label in enumerate(truth):
        line.append(index)
        who.append(8)
        vote.append(int(label))
    votes = VoteSet.build(line, who, vote, n_lines=truth.size, n_annotators=9)
    fitted = fit_with_machines(
        make_estimator("em-two-coin"), votes, [False] * 8 + [True], np.zeros(truth.size), CONFIG
    )
    plus, minus = fitted.states[8].weights(CONFIG)
    assert plus > 2.0 and minus < -2.0
    only = VoteSet.build([0, 1], [0, 0], [1, -1], n_lines=2)
    alone = fit_with_machines(make_estimator("em-two-coin"), only, [True], [0, 0], CONFIG)
    assert alone.class_prior is None and alone.states[0].weights(CONFIG)[0] == pytest.approx(
        math.log(0.7 / 0.3)
    )
