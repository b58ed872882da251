"""The quality-control benchmark's --quick mode runs to the end and meets its target."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.mark.e2e
def test_quality_control_quick() -> None:
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / "quality_control.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=280,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    match = re.search(r"weighting alone \(one-coin Beta\): ([+-]\d+\.\d)%", done.stdout)
    assert match, done.stdout
    assert float(match.group(1)) <= -33.0
    assert "Lazy annotators paused: 100%" in done.stdout
