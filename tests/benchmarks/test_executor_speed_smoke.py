"""Smoke test: the executor speed benchmark runs and both executors pass every solution."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_executor_speed_quick(tmp_path: Path) -> None:
    out = tmp_path / "speed.json"
    command = [sys.executable, "benchmarks/executor_speed.py", "--quick", "--json", str(out)]
    done = subprocess.run(
        command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=600, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(out.read_text())
    assert report["samples"] == 164
    assert report["crlhf_passed"] == report["human_eval_passed"] == 164
    assert report["ratio"] > 0
