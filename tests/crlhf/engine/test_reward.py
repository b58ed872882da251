"""Per-sample rewards s = c/k against hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from crlhf.engine import reward as reward_module
from crlhf.engine.config import EngineConfig
from crlhf.engine.posterior import line_posterior
from crlhf.engine.reward import sample_rewards
from crlhf.engine.votes import VoteSet
from crlhf.errors import EmptySample, InvalidInput, InvalidReliability

CFG = EngineConfig()


def votes_three_samples() -> VoteSet:
    # Sample 0: lines 0-2; sample 1: lines 3-4; sample 2: line 5 (no votes).
    return VoteSet.build(
        line=[0, 0, 1, 2, 2, 3, 4, 4],
        annotator=[0, 1, 0, 0, 1, 2, 2, 0],
        vote=[1, 1, -1, 1, 1, 1, -1, -1],
        n_lines=6,
        n_annotators=3,
    )


def test_hand_computed_rewards() -> None:
    votes = votes_three_samples()
    posterior = np.array([0.9, 0.2, 0.51, 0.5, 0.1, 0.5])
    out = sample_rewards(posterior, [0, 0, 0, 1, 1, 2], votes, CFG)
    np.testing.assert_array_equal(out.correct_lines, [2, 0, 0])
    np.testing.assert_array_equal(out.judged_lines, [3, 2, 1])
    np.testing.assert_allclose(out.reward[:2], [2 / 3, 0.0])
    assert math.isnan(out.reward[2])
    np.testing.assert_array_equal(out.n_votes, [5, 3, 0])
    np.testing.assert_array_equal(out.n_annotators, [2, 2, 0])
    np.testing.assert_array_equal(out.has_reward, [True, True, False])


@pytest.mark.parametrize("dense_limit", [reward_module.DENSE_PAIR_LIMIT, 0])
def test_distinct_annotators_by_grid_and_by_sort(
    dense_limit: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Both counting paths give the same answer; annotator 1 votes twice on sample 0.
    monkeypatch.setattr(reward_module, "DENSE_PAIR_LIMIT", dense_limit)
    votes = VoteSet.build([0, 1, 1, 2, 3], [1, 1, 4, 2, 2], [1, 1, 1, -1, 1], n_annotators=5)
    out = sample_rewards([0.9] * 4, [0, 0, 1, 2], votes, CFG)
    np.testing.assert_array_equal(out.n_annotators, [2, 1, 1])
    np.testing.assert_array_equal(out.n_votes, [3, 1, 1])


def test_tau_moves_the_threshold() -> None:
    votes = votes_three_samples()
    posterior = np.array([0.9, 0.2, 0.51, 0.5, 0.1, 0.5])
    out = sample_rewards(posterior, [0, 0, 0, 1, 1, 2], votes, EngineConfig(tau=0.15))
    np.testing.assert_array_equal(out.correct_lines, [3, 1, 1])
    np.testing.assert_allclose(out.reward[:2], [1.0, 0.5])


def test_from_the_eq7_posterior() -> None:
    votes = votes_three_samples()
    posterior = line_posterior(votes, [0.8, 0.7, 0.9])
    out = sample_rewards(posterior, [0, 0, 0, 1, 1, 2], votes, CFG)
    # Sample 0: line 0 (+,+) correct, line 1 (−) wrong, line 2 (+,+) correct.
    # Sample 1: line 3 (+ by 0.9) correct, line 4 (− by 0.9 and 0.8) wrong.
    np.testing.assert_allclose(out.reward[:2], [2 / 3, 1 / 2])


def test_n_samples_and_unsorted_lines() -> None:
    votes = VoteSet.build([1, 0], [0, 0], [1, 1], n_lines=2)
    out = sample_rewards([0.9, 0.9], [1, 0], votes, CFG, n_samples=2)
    np.testing.assert_allclose(out.reward, [1.0, 1.0])
    with pytest.raises(EmptySample):
        sample_rewards([0.9, 0.9], [1, 0], votes, CFG, n_samples=3)


@pytest.mark.parametrize(
    ("posterior", "index", "error"),
    [
        ([0.5, 0.5], [0], InvalidInput),
        ([0.5, np.nan], [0, 0], InvalidReliability),
        ([0.5, 1.5], [0, 0], InvalidReliability),
        ([0.5, 0.5], [0.0, 1.0], InvalidInput),
        ([0.5, 0.5], [-1, 0], InvalidInput),
        ([0.5, 0.5], [0, 2], EmptySample),
    ],
)
def test_bad_input(posterior: list[float], index: list[float], error: type[Exception]) -> None:
    votes = VoteSet.build([0, 1], [0, 0], [1, 1])
    with pytest.raises(error):
        sample_rewards(posterior, index, votes, CFG)
