"""The quality-control benchmark's --quick mode runs to the end and meets its target."""

from __future__ import annotations

import re

import pytest

from tests.benchmarks.conftest import run_quick


@pytest.mark.e2e
def test_quality_control_quick() -> None:
    out = run_quick("quality_control.py")
    match = re.search(r"weighting alone \(one-coin Beta\): ([+-]\d+\.\d)%", out)
    assert match, out
    assert float(match.group(1)) <= -33.0
    assert "Lazy annotators paused: 100%" in out
