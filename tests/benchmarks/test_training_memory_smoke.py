"""The memory and precision-drift benchmarks' --quick modes run to the end and print
their tables (the measurements themselves are in docs/training.md)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def _run(script: str, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), "--quick", *args],
        capture_output=True,
        text=True,
        timeout=400,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


@pytest.mark.slow
@pytest.mark.e2e
def test_training_memory_quick(tmp_path: Path) -> None:
    out = _run("training_memory.py", "--records", str(tmp_path / "runs.json"))
    rows = [line for line in out.splitlines() if line.startswith("| 10M |")]
    assert len(rows) == 4  # float32 and bfloat16, checkpointing off and on
    assert "| StarCoder2 15B |" in out and "ESTIMATE" in out
    # The records make a rerun free: nothing is measured twice.
    again = _run("training_memory.py", "--records", str(tmp_path / "runs.json"))
    assert [line for line in again.splitlines() if line.startswith("| 10M |")] == rows


@pytest.mark.slow
@pytest.mark.e2e
def test_precision_drift_quick() -> None:
    out = _run("precision_drift.py", "--threads", "1")
    assert "| testbed | bfloat16 | bfloat16 |" in out
    assert "| tiny llama | float16 | float16 |" in out
