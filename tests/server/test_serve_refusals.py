"""``crlhf serve`` refuses, in one line and before writing or printing "serving", a database
another server holds and a port that is taken. Real processes on a real database."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from crlhf_server import instance_lock

from tests.conftest import REPO_ROOT, LiveServer, free_port

TIMEOUT_S = 60


def serve(db: Path, port: int, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRLHF_")}
    env["CRLHF_DATA_DIR"] = str(tmp_path / "data")
    command = [sys.executable, "-m", "crlhf", "serve", "--db", str(db), "--port", str(port)]
    return subprocess.run(
        command,
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )


def test_second_server_on_one_database_names_the_first(
    live_server: LiveServer, tmp_path: Path
) -> None:
    assert live_server.process is not None
    result = serve(live_server.db_path, free_port(), tmp_path)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert f"PID {live_server.process.pid}" in lines[0]
    assert f"port {live_server.port}" in lines[0]
    assert "serving" not in result.stdout + result.stderr
    holder = instance_lock.holder(live_server.db_path)
    assert holder is not None and holder.pid == live_server.process.pid


def test_killed_server_does_not_block_the_next(live_server: LiveServer) -> None:
    live_server.kill()
    assert instance_lock.holder(live_server.db_path) is None
    live_server.start()  # same db, same port: a SIGKILLed holder left no live lock
    assert live_server.process is not None
    holder = instance_lock.holder(live_server.db_path)
    assert holder is not None and (holder.pid, holder.port) == (
        live_server.process.pid,
        live_server.port,
    )


def test_taken_port_is_one_line_before_serving(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        db = tmp_path / "fresh.db"
        result = serve(db, port, tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"crlhf serve: error: port {port} on 127.0.0.1 is already in use (another server?); "
        "pick another with --port N (make run PORT=N)"
    ]
    assert "serving" not in result.stdout
    assert "First start" not in result.stdout  # no admin token printed for a server that never ran
    assert not db.exists()  # nothing written
    assert instance_lock.holder(db) is None


def test_make_run_passes_port_and_args() -> None:
    result = subprocess.run(
        ["make", "-n", "run", "PORT=8123", "ARGS=--db ./x.db"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "/crlhf serve --port 8123 --db ./x.db" in result.stdout
