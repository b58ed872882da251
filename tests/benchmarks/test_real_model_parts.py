"""The real-model benchmark's own arithmetic: the reference extraction, reply agreement and
the Wilson interval (the benchmark itself needs the checkpoint and hours; see
docs/benchmarks.md for its measured tables)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    sys.path.insert(0, str(BENCHMARKS))
    spec = importlib.util.spec_from_file_location("real_model", BENCHMARKS / "real_model.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_reference_extraction_takes_the_first_block_or_the_whole_reply(bench) -> None:
    assert bench.reference_code("Here:\n```python\nx = 1\n```\nand ```py\ny\n```") == "x = 1\n"
    assert bench.reference_code("```python\ncut off") == "cut off"
    assert bench.reference_code("no fence") == "no fence"


def test_same_replies_counts_a_product_reply_that_starts_the_reference(bench) -> None:
    product = {"a": "```python\nx\n```", "b": "other", "c": ""}
    reference = {"a": "```python\nx\n```\nExplanation.", "b": "different", "c": ""}
    assert bench.same_replies(product, reference) == 1


def test_wilson_interval_matches_hand_computed_values(bench) -> None:
    low, high = bench.wilson(0, 10)
    assert low == 0.0 and high == pytest.approx(0.2775, abs=1e-4)
    low, high = bench.wilson(5, 10)
    assert (low, high) == (pytest.approx(0.2366, abs=1e-4), pytest.approx(0.7634, abs=1e-4))
