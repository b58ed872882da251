"""The training-loop benchmark's --quick mode runs to the end and writes its outputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.benchmarks.conftest import run_quick


@pytest.mark.slow
@pytest.mark.e2e
def test_training_loop_quick(tmp_path: Path) -> None:
    out = run_quick("training_loop.py", "--threads", "1", "--out", str(tmp_path))
    assert "Gain in held-out pass@1" in out
    assert "Human votes spent before each round" in out  # issue 14's votes table
    records = json.loads((tmp_path / "records.json").read_text())
    assert set(records) == {"competent", "control"}
    assert [r["round"] for r in records["control"]["0"]] == [0.0, 1.0, 2.0]
    assert (tmp_path / "training_loop.png").read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "competent-s0" / "adapters" / "v0002" / "manifest.json").is_file()
