"""``crlhf demo --quick`` as a user runs it: a real process with a server and a worker."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

DEMO_TIMEOUT_S = 300


def _stored_votes(db: Path) -> set[tuple[int, str, int, int]]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT s.annotator_id, s.sample_id, v.line, v.label FROM votes v "
            "JOIN submissions s ON s.id = v.submission WHERE s.is_current = 1"
        ).fetchall()
    return {(int(a), str(s), int(line), int(label)) for a, s, line, label in rows}


def _demo(tmp_path: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRLHF_")}
    env["CRLHF_CONFIG_DIR"] = str(tmp_path / "config")
    env["CRLHF_DATA_DIR"] = str(tmp_path / "data")
    return subprocess.run(
        [sys.executable, "-m", "crlhf", "demo", "--quick", *arguments],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=DEMO_TIMEOUT_S,
        check=False,
    )


def test_quick_demo_runs_two_rounds_end_to_end(tmp_path: Path) -> None:
    workdir = tmp_path / "demo"
    started = time.monotonic()
    done = _demo(tmp_path, "--workdir", str(workdir), "--no-progress")
    seconds = time.monotonic() - started
    worker_log = (workdir / "worker.log").read_text() if (workdir / "worker.log").exists() else ""
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}\nworker:\n{worker_log[-3000:]}"
    assert "Traceback" not in done.stderr
    print(f"crlhf demo --quick took {seconds:.0f} s")

    # The table: round 0 (base) and two trained rounds, each with a held-out pass@1.
    record = json.loads((workdir / "demo.json").read_text())
    rounds = record["rounds"]
    assert [r["round"] for r in rounds] == [0, 1, 2]
    assert rounds[0]["adapter_version"] is None
    assert [r["adapter_version"] for r in rounds[1:]] == ["v0001", "v0002"]
    assert all(r["pass1"] is not None and 0.0 <= r["pass1"] <= 1.0 for r in rounds)
    assert all(0.0 <= r["reward_mean"] <= 1.0 for r in rounds[1:])
    assert "held-out pass@1" in done.stdout and "v0002" in done.stdout

    # The server's record agrees: two succeeded rounds with their adapters, a baseline
    # and one benchmark result per round.
    db = workdir / "crlhf.db"
    with sqlite3.connect(db) as conn:
        trained = conn.execute(
            "SELECT status, adapter_version FROM training_rounds ORDER BY id"
        ).fetchall()
        benchmarks = conn.execute("SELECT round FROM benchmark_results ORDER BY id").fetchall()
    assert trained == [("succeeded", "v0001"), ("succeeded", "v0002")]
    assert [b[0] for b in benchmarks] == [None, 1, 2]
    assert (workdir / "adapters" / "v0002" / "manifest.json").is_file()

    # Every vote the simulated annotators sent is stored, and nothing else.
    sent = set()
    for line in (workdir / "crowd_votes.jsonl").read_text().splitlines():
        row = json.loads(line)
        for number, label in row["labels"].items():
            sent.add((row["annotator_id"], row["sample_id"], int(number), label))
    assert sent and _stored_votes(db) == sent
    assert sum(a["votes"] for a in record["crowd"]) == len(sent)

    png = workdir / "demo_pass1.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert str(png) in done.stdout

    # Run again in the same workdir: refused without --reset (no traceback), base kept.
    again = _demo(tmp_path, "--workdir", str(workdir))
    assert again.returncode == 1
    assert "--reset" in again.stderr and "Traceback" not in again.stderr
