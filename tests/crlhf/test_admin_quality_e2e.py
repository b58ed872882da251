"""``crlhf admin`` quality commands against a real ``crlhf serve`` process."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.crlhf.quality.conftest import REFERENCE, TESTS
from tests.crlhf.test_admin_cli_e2e import admin

pytestmark = pytest.mark.e2e


def test_make_honeypots_then_quality_views(
    live_server_factory: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    live = live_server_factory(env={"CRLHF_SEED": "false"})
    monkeypatch.setenv("CRLHF_SERVER", live.url)
    monkeypatch.setenv("CRLHF_ADMIN_TOKEN", live.admin_token)
    problems = tmp_path / "problems.jsonl"
    problem = {
        "id": "window-sums",
        "title": "Window sums",
        "description": "Sums of windows, a search and a ratio.",
        "tests": TESTS,
        "reference_solution": REFERENCE,
    }
    problems.write_text(json.dumps(problem) + "\n")
    admin(capsys, "import-problems", str(problems))

    out = admin(capsys, "make-honeypots", "--per-problem", "4", "--model", "tiny")
    assert "Made 4 honeypot(s) from 1 problem(s); imported 4" in out

    written = tmp_path / "pots.jsonl"
    admin(capsys, "make-honeypots", "--per-problem", "2", "--seed", "3", "--out", str(written))
    rows = [json.loads(line) for line in written.read_text().splitlines()]
    assert len(rows) == 2 and all(r["gold"] and r["meta"]["model"] is None for r in rows)

    assert admin(capsys, "quality") == "(none)\n"
    assert admin(capsys, "quality-actions") == "(none)\n"
    created = json.loads(admin(capsys, "rounds", "create", "--json"))
    out = admin(capsys, "provenance", "--round", str(created["id"]))
    assert f"round {created['id']} as of" in out and "0 sample(s), 0 vote(s)" in out
    report = json.loads(admin(capsys, "agreement", "--json"))
    assert report["n_votes"] == 0 and report["krippendorff_alpha"] is None
