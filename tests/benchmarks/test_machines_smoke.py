"""The machine-annotator benchmarks' --quick modes run to the end, checkers included."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
MBPP = BENCHMARKS.parents[1] / "shared" / "data" / "mbpp" / "mbpp.jsonl"

pytestmark = pytest.mark.e2e


def run_quick(script: str, cache: Path) -> str:
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), "--quick"],
        capture_output=True,
        text=True,
        timeout=280,
        check=False,
        env={**os.environ, "CRLHF_MACHINE_BENCH_CACHE": str(cache)},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.mark.skipif(not MBPP.exists(), reason="needs ../shared/data/mbpp/mbpp.jsonl")
def test_machine_checkers_quick(tmp_path: Path) -> None:
    out = run_quick("machine_checkers.py", tmp_path)
    assert "honeypot accuracy" in out and "tests    testbed" in out


def test_machine_crowd_quick(tmp_path: Path) -> None:
    out = run_quick("machine_crowd.py", tmp_path)
    assert "<- first to meet" in out and "always correct" in out
