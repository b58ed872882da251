"""server/instance_lock.py with real processes: one holder per database, named; a killed
holder leaves no live lock."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from crlhf_server import instance_lock
from crlhf_server.instance_lock import Holder

from crlhf.errors import DatabaseInUse

HOLD = """
import sys
from pathlib import Path
from crlhf_server import instance_lock
lock = instance_lock.acquire(Path(sys.argv[1]), host="127.0.0.1", port=int(sys.argv[2]))
sys.stdout.write("held\\n")
sys.stdout.flush()
sys.stdin.read()
lock.release()
"""


@pytest.fixture
def holding(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], Path]]:
    """A separate process that holds ``tmp_path/a.db`` on port 8123 until stdin closes."""
    db = tmp_path / "a.db"
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(db), "8123"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and process.stdout.readline() == "held\n"
    yield process, db
    if process.poll() is None:
        process.kill()
        process.wait(timeout=10)


def test_holder_names_the_other_process(holding: tuple[subprocess.Popen[str], Path]) -> None:
    process, db = holding
    assert instance_lock.holder(db) == Holder(pid=process.pid, host="127.0.0.1", port=8123)
    # Another spelling of the same file finds the same holder.
    relative = Path(os.path.relpath(db))
    assert instance_lock.holder(relative) == Holder(pid=process.pid, host="127.0.0.1", port=8123)


def test_second_acquire_refuses_naming_pid_and_port(
    holding: tuple[subprocess.Popen[str], Path],
) -> None:
    process, db = holding
    with pytest.raises(DatabaseInUse) as caught:
        instance_lock.acquire(db, host="127.0.0.1", port=9000)
    assert f"PID {process.pid}" in str(caught.value)
    assert "port 8123" in str(caught.value)
    # The refusal did not overwrite the holder's record.
    assert json.loads(instance_lock.lock_path(db).read_text())["pid"] == process.pid


def test_killed_holder_is_stale_and_the_lock_is_free(
    holding: tuple[subprocess.Popen[str], Path],
) -> None:
    process, db = holding
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    # The file still names the dead process, but nobody holds it.
    assert json.loads(instance_lock.lock_path(db).read_text())["pid"] == process.pid
    assert instance_lock.holder(db) is None
    with instance_lock.acquire(db, host="127.0.0.1", port=9000):
        assert instance_lock.holder(db) == Holder(pid=os.getpid(), host="127.0.0.1", port=9000)


def test_release_frees_the_database(holding: tuple[subprocess.Popen[str], Path]) -> None:
    process, db = holding
    assert process.stdin is not None
    process.stdin.close()
    assert process.wait(timeout=10) == 0
    assert instance_lock.holder(db) is None
    assert instance_lock.lock_path(db).read_text() == ""


def test_no_lock_file_means_no_holder(tmp_path: Path) -> None:
    assert instance_lock.holder(tmp_path / "never.db") is None
