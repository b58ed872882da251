"""The real-model benchmark's own arithmetic: the reference extraction, reply agreement and
the Wilson interval (the benchmark itself needs the checkpoint and hours; see
docs/benchmarks.md for its measured tables)."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest
import torch

from tests.benchmarks.conftest import load_benchmark


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    return load_benchmark("real_model.py")


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


def test_a_killed_reference_run_resumes_from_its_whole_lines(bench, tmp_path: Path) -> None:
    log = tmp_path / "reference.jsonl"
    log.write_text(
        '{"task_id": "a", "reply": "x", "passed": true, "seconds": 1.5}\n'
        '{"task_id": "b", "reply": "y", "passed": false, "seconds": 2.0}\n'
        '{"task_id": "c", "rep'  # torn by the kill: problem c runs again
    )
    rows = bench.finished_rows(log)
    assert sorted(rows) == ["a", "b"] and rows["a"]["passed"] is True
    assert bench.finished_rows(tmp_path / "missing.jsonl") == {}


def test_the_reference_stops_once_its_first_block_has_closed(bench) -> None:
    class Characters:  # a tokenizer whose token ids are character codes
        def decode(self, ids) -> str:
            return "".join(map(chr, ids.tolist()))

    def ids(text: str) -> torch.Tensor:
        return torch.tensor([[ord(c) for c in text]])

    stop = bench.BlockClosed(Characters(), prompt_length=2)
    assert not bool(stop(ids("P:```python\ndef f(): pass\n"), None))
    assert bool(stop(ids("P:```python\ndef f(): pass\n```"), None))
    assert not bool(stop(ids("``Sure"), None))  # the prompt's characters do not count
