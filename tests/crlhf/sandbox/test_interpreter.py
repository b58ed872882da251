"""Choosing an interpreter an unprivileged uid can run."""

from __future__ import annotations

import shutil
import stat
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from crlhf.sandbox import interpreter


def test_the_host_interpreter_when_no_uid_is_dropped() -> None:
    assert interpreter.choose(False) == sys.executable


@pytest.mark.skipif(sys.platform != "linux", reason="POSIX permissions")
def test_an_interpreter_others_can_run_when_a_uid_is_dropped() -> None:
    chosen = Path(interpreter.choose(True))
    assert interpreter.usable_by_others(chosen)
    resolved = chosen.resolve()
    assert all(parent.stat().st_mode & stat.S_IXOTH for parent in resolved.parents)


@pytest.fixture
def open_dir() -> Iterator[Path]:
    """A directory every user can traverse (pytest's tmp_path is private to root)."""
    path = Path(tempfile.mkdtemp(dir="/tmp"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path)


@pytest.mark.skipif(sys.platform != "linux", reason="POSIX permissions")
def test_a_private_directory_on_the_path_disqualifies(open_dir: Path) -> None:
    prefix = open_dir / "python"
    (prefix / "bin").mkdir(parents=True)
    (prefix / "lib" / "python3.11").mkdir(parents=True)
    (prefix / "lib" / "python3.11" / "os.py").write_text("")
    binary = prefix / "bin" / "python3"
    binary.write_text("")
    binary.chmod(0o755)
    for directory in (prefix, prefix / "bin", prefix / "lib", prefix / "lib" / "python3.11"):
        directory.chmod(0o755)
    assert interpreter.usable_by_others(binary)
    prefix.chmod(0o700)  # like /root
    assert not interpreter.usable_by_others(binary)
    prefix.chmod(0o755)
    (prefix / "lib" / "python3.11" / "os.py").chmod(0o600)  # stdlib unreadable
    assert not interpreter.usable_by_others(binary)
