"""The aggregation benchmarks' --quick modes run to the end, so the scripts cannot rot."""

from __future__ import annotations

import sys

import pytest

from tests.benchmarks.conftest import BENCHMARKS, run_quick


def test_sign_test_is_exact_and_survives_large_counts() -> None:
    sys.path.insert(0, str(BENCHMARKS))
    from aggregation_quality import sign_test

    assert sign_test(0, 10) == pytest.approx(2 / 1024)
    assert sign_test(5, 5) == 1.0
    assert sign_test(0, 0) == 1.0
    assert 0.0 < sign_test(700, 800) < 0.02  # n = 1500: 2.0**n would overflow


@pytest.mark.e2e
def test_quality_quick() -> None:
    out = run_quick("aggregation_quality.py")
    for setting in ("one-coin, overlap 3", "one-coin, overlap 5", "two-coin, overlap 3"):
        assert setting in out
    assert "| em-two-coin" in out
    assert "(engine default)" in out  # the default's row is marked, whatever it is
    assert "| ck DawidSkene (gold)" in out
    assert "Tie rules:" in out
    assert "two-coin overlap 5:" in out  # the target check ran


@pytest.mark.e2e
def test_speed_quick() -> None:
    out = run_quick("aggregation_speed.py")
    assert "DS / ours" in out
    assert "honeypot sample, soft_counts=False" in out


@pytest.mark.e2e
def test_replay_quick() -> None:
    out = run_quick("incremental_replay.py")
    assert "one-coin crowd" in out
    assert "two-coin crowd" in out
    assert "fresh read" in out
    assert "refit (" in out
