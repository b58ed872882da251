"""The memory and precision-drift benchmarks' --quick modes run to the end and print
their tables (the measurements themselves are in docs/training.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.benchmarks.conftest import run_quick


@pytest.mark.slow
@pytest.mark.e2e
def test_training_memory_quick(tmp_path: Path) -> None:
    out = run_quick("training_memory.py", "--records", str(tmp_path / "runs.json"), timeout=400)
    rows = [line for line in out.splitlines() if line.startswith("| 10M |")]
    assert len(rows) == 4  # float32 and bfloat16, checkpointing off and on
    assert "| StarCoder2 15B |" in out and "ESTIMATE" in out
    # The records make a rerun free: nothing is measured twice.
    again = run_quick("training_memory.py", "--records", str(tmp_path / "runs.json"), timeout=400)
    assert [line for line in again.splitlines() if line.startswith("| 10M |")] == rows


@pytest.mark.slow
@pytest.mark.e2e
def test_precision_drift_quick() -> None:
    out = run_quick("precision_drift.py", "--threads", "1", timeout=400)
    assert "| testbed | bfloat16 | bfloat16 |" in out
    assert "| tiny llama | float16 | float16 |" in out
