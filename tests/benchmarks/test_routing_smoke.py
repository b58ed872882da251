"""benchmarks/routing.py --quick replays people through the real server to the end."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"

pytestmark = pytest.mark.e2e


def test_routing_quick(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / "routing.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=280,
        check=False,
        env={**os.environ, "CRLHF_MACHINE_BENCH_CACHE": str(tmp_path)},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    for text in ("fixed overlap (", "routed, sd of s + settled + machines (0)", "means over"):
        assert text in done.stdout
    assert "routed / fixed" in done.stdout
