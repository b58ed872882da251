"""The ranking rules benchmarks/routing.py compares the server's rule with: hand values,
and the flaw that retired the summed entropy."""

from __future__ import annotations

import math
from types import ModuleType

import pytest
from crlhf_server.task_routing import sample_uncertainty

from tests.benchmarks.conftest import load_benchmark


@pytest.fixture(scope="module")
def rules() -> ModuleType:
    return load_benchmark("routing.py")


def test_entropy_is_zero_at_certainty_and_ln_2_at_one_half(rules) -> None:
    assert rules.binary_entropy(0.0) == rules.binary_entropy(1.0) == 0.0
    assert rules.binary_entropy(0.5) == pytest.approx(math.log(2), abs=1e-12)
    assert rules.binary_entropy(0.9) < rules.binary_entropy(0.6) < rules.binary_entropy(0.5)
    assert rules.summed_entropy([0.5, 0.5]) == pytest.approx(2 * math.log(2), abs=1e-12)
    assert rules.mean_entropy([0.5, 1.0]) == pytest.approx(math.log(2) / 2, abs=1e-12)
    assert rules.mean_entropy([]) == 0.0 and rules.max_entropy([]) == 0.0
    assert rules.max_entropy([0.9, 0.5]) == pytest.approx(math.log(2), abs=1e-12)


def test_summed_entropy_put_long_settled_samples_first_and_the_server_rule_does_not(
    rules,
) -> None:
    long_mostly_settled = [0.99] * 19 + [0.6]
    short_unsure = [0.6, 0.9]
    assert rules.summed_entropy(long_mostly_settled) > rules.summed_entropy(short_unsure)
    assert sample_uncertainty(short_unsure) > sample_uncertainty(long_mostly_settled)
