"""The machine-annotator benchmarks' --quick modes run to the end, checkers included."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.benchmarks.conftest import BENCHMARKS, run_quick

MBPP = BENCHMARKS.parents[1] / "shared" / "data" / "mbpp" / "mbpp.jsonl"

pytestmark = pytest.mark.e2e


def run_cached(script: str, cache: Path) -> str:
    return run_quick(script, env={"CRLHF_MACHINE_BENCH_CACHE": str(cache)})


@pytest.mark.skipif(not MBPP.exists(), reason="needs ../shared/data/mbpp/mbpp.jsonl")
def test_machine_checkers_quick(tmp_path: Path) -> None:
    out = run_cached("machine_checkers.py", tmp_path)
    assert "honeypot accuracy" in out and "tests    testbed" in out


def test_machine_crowd_quick(tmp_path: Path) -> None:
    out = run_cached("machine_crowd.py", tmp_path)
    assert "<- first to meet" in out and "always correct" in out
