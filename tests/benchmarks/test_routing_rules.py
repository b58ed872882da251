"""The ranking rules benchmarks/routing.py compares the server's rule with: hand values,
and the flaw that retired the summed entropy."""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path
from types import ModuleType

import pytest
from crlhf_server.task_routing import sample_uncertainty

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture(scope="module")
def rules() -> ModuleType:
    sys.path.insert(0, str(BENCHMARKS))
    spec = importlib.util.spec_from_file_location("routing_bench", BENCHMARKS / "routing.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


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
