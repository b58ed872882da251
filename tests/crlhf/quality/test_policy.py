"""The pause policy fires only after the evidence minimum, and only on poor annotators."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from crlhf.engine.votes import VoteSet
from crlhf.errors import InvalidInput
from crlhf.quality.policy import Action, GoldEvidence, PolicyConfig, decide


def _evidence(*rows: tuple[int, int, int, int]) -> GoldEvidence:
    cols = list(zip(*rows, strict=True))
    return GoldEvidence(*(np.array(c, dtype=np.int64) for c in cols))


def test_pause_waits_for_the_evidence_minimum() -> None:
    config = PolicyConfig(min_gold_lines=30, min_gold_wrong=5)
    # A random clicker (half right on both classes), with growing evidence.
    steps = [(n - n // 4, (n - n // 4) // 2, n // 4, n // 8) for n in (8, 16, 24, 32, 64)]
    actions = [decide(_evidence(s), config).action[0] for s in steps]
    assert actions[:3] == [Action.NONE] * 3
    assert actions[3:] == [Action.PAUSE, Action.PAUSE]


def test_enough_lines_but_too_few_wrong_ones_is_not_evidence() -> None:
    decision = decide(_evidence((60, 30, 2, 0)), PolicyConfig(min_gold_wrong=5))
    assert decision.action == [Action.NONE]
    assert "not enough gold evidence" in decision.reason[0]


def test_lazy_annotator_is_paused_though_right_on_most_gold_lines() -> None:
    # Marks nothing: right on every correct gold line, wrong on every wrong one.
    decision = decide(_evidence((70, 70, 30, 0)))
    assert decision.action == [Action.PAUSE]
    assert decision.balanced_accuracy[0] < 0.6


def test_good_sloppy_and_poor_annotators() -> None:
    decision = decide(_evidence((70, 63, 30, 26), (70, 50, 30, 17), (70, 35, 30, 15)))
    assert decision.action == [Action.NONE, Action.DOWNWEIGHT, Action.PAUSE]
    assert decision.paused.tolist() == [False, False, True]
    assert "pause threshold" in decision.reason[2]


def test_lazy_flag_pauses_without_gold() -> None:
    decision = decide(_evidence((0, 0, 0, 0), (0, 0, 0, 0)), lazy=[True, False])
    assert decision.action == [Action.PAUSE, Action.NONE]
    with pytest.raises(InvalidInput):
        decide(_evidence((0, 0, 0, 0)), lazy=[True, False])


def test_evidence_from_votes() -> None:
    votes = VoteSet.build([0, 0, 1, 1, 2], [0, 1, 0, 1, 0], [1, -1, 1, -1, -1], gold=[1, -1, 0])
    ev = GoldEvidence.from_votes(votes)
    assert ev.correct_seen.tolist() == [1, 1]
    assert ev.correct_right.tolist() == [1, 0]
    assert ev.wrong_seen.tolist() == [1, 1]
    assert ev.wrong_right.tolist() == [0, 1]
    assert ev.lines.tolist() == [2, 2]


def test_thresholds_must_be_ordered() -> None:
    with pytest.raises(ValidationError):
        PolicyConfig(pause_below=0.8, downweight_below=0.7)
