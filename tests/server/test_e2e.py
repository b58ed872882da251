"""End to end against a real ``crlhf serve`` process (the ``live_server`` fixture)."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import threading
import time
from typing import Any

import httpx
import pytest

from tests.conftest import REPO_ROOT, LiveServer
from tests.server.conftest import bearer, submission_for

pytestmark = pytest.mark.e2e


def _annotator(client: httpx.Client, server: LiveServer, name: str) -> dict[str, str]:
    response = client.post(
        "/v1/admin/annotators", json={"name": name}, headers=bearer(server.admin_token)
    )
    assert response.status_code == 201, response.text
    return bearer(response.json()["token"])


def test_first_start_prints_the_admin_token_and_next_step(live_server: LiveServer) -> None:
    log = live_server.log()
    assert live_server.admin_token in log
    expected = (
        f"crlhf admin create-annotator NAME --server {live_server.url} "
        f"--token {live_server.admin_token}"
    )
    assert expected in log
    _printed_commands_run_as_printed(live_server)
    live_server.stop()
    live_server.start()  # a restart neither re-seeds nor prints the token again
    assert live_server.log().count("Admin token") == 1
    with httpx.Client(base_url=live_server.url) as client:
        samples = client.get("/v1/admin/samples", headers=bearer(live_server.admin_token)).json()
        assert len(samples) == len({s["id"] for s in samples}) >= 20


def _printed_commands_run_as_printed(live_server: LiveServer) -> None:
    """The hint runs as printed (``.venv/bin/crlhf`` when the venv is not on PATH), and so
    does the TUI command that create-annotator prints in turn."""
    printed = next(
        line.strip() for line in live_server.log().splitlines() if "create-annotator NAME" in line
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRLHF_")}
    result = subprocess.run(
        printed.replace("NAME", "bob"),
        shell=True,
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    tui = next(line.split()[-1] for line in result.stdout.splitlines() if "CRLHF_TOKEN=" in line)
    assert tui.endswith("crlhf-tui")
    located = shutil.which(tui, path=env["PATH"]) if os.sep not in tui else str(REPO_ROOT / tui)
    assert located is not None and os.access(located, os.X_OK)


def test_annotate_replay_and_atomic_batch(live_server: LiveServer) -> None:
    with httpx.Client(base_url=live_server.url) as client:
        alice = _annotator(client, live_server, "alice")
        tasks = client.get("/v1/tasks/next?count=3", headers=alice).json()
        assert len(tasks) == 3
        lowered = str(tasks).lower()
        assert "gold" not in lowered and "honeypot" not in lowered
        body = submission_for(tasks[0])
        assert client.post("/v1/submissions", json=body, headers=alice).status_code == 201
        replay = client.post("/v1/submissions", json=body, headers=alice)
        assert replay.status_code == 200 and replay.json()["replayed"] is True
        bad = submission_for(tasks[2])
        bad["labels"][0]["label"] = 0
        batch = {"submissions": [submission_for(tasks[1]), bad]}
        response = client.post("/v1/submissions/batch", json=batch, headers=alice)
        assert response.status_code == 422
        assert response.json()["details"][0]["field"] == "submissions[1].labels[0].label"
        stats = client.get("/v1/me/stats", headers=alice).json()
        assert stats["samples_done"] == 1
        assert stats["votes"] == len(body["labels"])


def _load(
    server: LiveServer, headers: dict[str, str], acked: list[str], stop: threading.Event
) -> None:
    """Fetch tasks and submit them in batches of two until stopped or the server dies."""
    with httpx.Client(base_url=server.url, timeout=10) as client:
        while not stop.is_set():
            try:
                tasks: list[dict[str, Any]] = client.get(
                    "/v1/tasks/next?count=2", headers=headers
                ).json()
                if not tasks:
                    return
                batch = [submission_for(t) for t in tasks]
                response = client.post(
                    "/v1/submissions/batch", json={"submissions": batch}, headers=headers
                )
            except httpx.TransportError:
                return
            if response.status_code == 200:
                acked.extend(r["submission_id"] for r in response.json()["receipts"])


def test_every_acknowledged_submission_survives_sigkill(live_server: LiveServer) -> None:
    with httpx.Client(base_url=live_server.url) as client:
        people = [_annotator(client, live_server, f"load{i}") for i in range(4)]
    acked: list[str] = []
    stop = threading.Event()
    threads = [threading.Thread(target=_load, args=(live_server, h, acked, stop)) for h in people]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 30
    while len(acked) < 20 and time.monotonic() < deadline:
        time.sleep(0.01)
    live_server.kill()  # mid-load: the threads still have requests in flight
    stop.set()
    for thread in threads:
        thread.join()
    assert len(acked) >= 20, live_server.log()
    live_server.start()  # recovers the WAL the killed process left
    with sqlite3.connect(live_server.db_path) as conn:
        stored = {r[0] for r in conn.execute("SELECT submission_id FROM submissions")}
        stored_votes = conn.execute("SELECT COUNT(*) FROM votes").fetchone()[0]
    assert set(acked) <= stored
    with httpx.Client(base_url=live_server.url) as client:
        rewards = client.get("/v1/admin/rewards", headers=bearer(live_server.admin_token)).json()
        assert sum(r["n_votes"] for r in rewards) == stored_votes  # consensus matches votes
