"""Agreement metrics pinned to textbook values and to an independent implementation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from crlhf.engine.simulate import CrowdConfig, simulate_crowd
from crlhf.engine.votes import VoteSet
from crlhf.errors import EmptyVoteSet, InvalidInput
from crlhf.quality.agreement import (
    category_counts,
    fleiss_kappa,
    krippendorff_alpha,
    pairwise_agreement,
)

# Fleiss (1971) as worked on Wikipedia: 10 subjects, 14 raters, 5 categories, κ = 0.210.
FLEISS_TABLE = [
    [0, 0, 0, 0, 14],
    [0, 2, 6, 4, 2],
    [0, 0, 3, 5, 6],
    [0, 3, 9, 2, 0],
    [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0],
    [3, 2, 6, 3, 0],
    [2, 5, 3, 2, 2],
    [6, 5, 2, 1, 0],
    [0, 2, 2, 3, 7],
]

# Krippendorff (2011), "Computing Krippendorff's alpha-reliability", 4 observers, 12 units
# with missing values, values 1-5 as counts per unit: nominal α = 0.743.
KRIPPENDORFF_TABLE = [
    [3, 0, 0, 0, 0],
    [0, 3, 1, 0, 0],
    [0, 0, 4, 0, 0],
    [0, 0, 4, 0, 0],
    [0, 4, 0, 0, 0],
    [1, 1, 1, 1, 0],
    [0, 0, 0, 4, 0],
    [3, 1, 0, 0, 0],
    [0, 4, 0, 0, 0],
    [0, 0, 0, 0, 3],
    [2, 0, 0, 0, 0],
    [0, 0, 1, 0, 0],
]


def test_fleiss_kappa_textbook_value() -> None:
    assert fleiss_kappa(FLEISS_TABLE) == pytest.approx(0.20993, abs=1e-5)


def test_krippendorff_alpha_textbook_value() -> None:
    assert krippendorff_alpha(KRIPPENDORFF_TABLE) == pytest.approx(0.743, abs=5e-4)


def test_hand_computed_binary_case() -> None:
    # Units (2 wrong), (2 correct), (1 + 1): n_c = (3, 3), one disagreeing unit.
    # α = 1 − 5 · 2 / (36 − 18) = 4/9; κ: P̄ = 2/3, P̄e = 1/2, κ = 1/3.
    table = [[2, 0], [0, 2], [1, 1]]
    assert krippendorff_alpha(table) == pytest.approx(4 / 9)
    assert fleiss_kappa(table) == pytest.approx(1 / 3)


def test_matches_the_krippendorff_package_on_a_simulated_crowd() -> None:
    krippendorff = pytest.importorskip("krippendorff")
    crowd = simulate_crowd(CrowdConfig(n_samples=300, n_annotators=30, overlap=3, seed=4))
    counts = category_counts(crowd.votes)
    theirs = krippendorff.alpha(value_counts=counts, level_of_measurement="nominal")
    assert krippendorff_alpha(crowd.votes) == pytest.approx(theirs, rel=1e-9)


def test_votes_and_counts_agree() -> None:
    votes = VoteSet.build([0, 0, 1, 1, 2, 2], [0, 1, 0, 1, 0, 1], [1, 1, -1, -1, 1, -1])
    assert category_counts(votes).tolist() == [[0, 2], [2, 0], [1, 1]]
    assert krippendorff_alpha(votes) == pytest.approx(4 / 9)


def test_pairwise_agreement_per_annotator() -> None:
    # Line 0: a0 +1, a1 +1, a2 −1. Line 1: a0 −1, a1 −1. a3 votes alone on line 2.
    votes = VoteSet.build([0, 0, 0, 1, 1, 2], [0, 1, 2, 0, 1, 3], [1, 1, -1, -1, -1, 1])
    share = pairwise_agreement(votes)
    assert share[:3].tolist() == pytest.approx([2 / 3, 2 / 3, 0.0])
    assert math.isnan(share[3])


def test_perfect_and_chance_crowds() -> None:
    rng = np.random.default_rng(0)
    truth = rng.choice([-1, 1], size=500)
    line = np.repeat(np.arange(500), 3)
    perfect = VoteSet.build(line, np.tile([0, 1, 2], 500), truth[line])
    assert krippendorff_alpha(perfect) == pytest.approx(1.0)
    noise = VoteSet.build(line, np.tile([0, 1, 2], 500), rng.choice([-1, 1], size=1500))
    assert abs(krippendorff_alpha(noise)) < 0.1
    assert abs(fleiss_kappa(noise)) < 0.1


def test_undefined_cases_raise() -> None:
    with pytest.raises(EmptyVoteSet):
        krippendorff_alpha([[1, 0], [0, 1]])
    with pytest.raises(EmptyVoteSet):
        fleiss_kappa([[2, 0], [3, 0]])
    with pytest.raises(InvalidInput):
        fleiss_kappa([[1], [2]])
