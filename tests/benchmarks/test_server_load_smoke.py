"""The server load benchmark's --quick mode runs to the end and checks its own counts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "server_load.py"


@pytest.mark.e2e
def test_server_load_quick() -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick"],
        capture_output=True,
        text=True,
        timeout=280,
        check=False,
    )
    # exit status 1 means an error or acked != stored (the script checks both)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    rows = [line.split() for line in done.stdout.splitlines() if line.split()[:1] == ["5"]]
    assert len(rows) == 1, done.stdout
    row = rows[0]
    acked, stored = int(row[9]), int(row[10])
    assert acked == stored > 0
