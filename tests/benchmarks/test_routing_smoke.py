"""benchmarks/routing.py --quick replays people through the real server to the end."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.benchmarks.conftest import run_quick

pytestmark = pytest.mark.e2e


def test_routing_quick(tmp_path: Path) -> None:
    out = run_quick("routing.py", env={"CRLHF_MACHINE_BENCH_CACHE": str(tmp_path)})
    for text in ("fixed overlap (", "routed, sd of s + settled + machines (0)", "means over"):
        assert text in out
    assert "routed / fixed" in out
