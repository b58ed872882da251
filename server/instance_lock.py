"""One server per database file: an exclusive lock on ``<db>.lock`` that names its holder.

Each server keeps engine state in memory, so two servers on one SQLite file would diverge.
``crlhf serve`` takes the lock before it migrates, seeds or binds; any local tool that
writes the database behind a server's back (``crlhf admin reset-token --db``) asks
:func:`holder` first and refuses while a server holds the file.

The lock is ``fcntl.flock`` on a side file, not SQLite's own locking: SQLite locks only
for the length of a transaction, and a server is idle most of the time. The kernel drops
a flock when its process dies, however it dies, so a lock file left by a killed server is
never mistaken for a live one: the next server simply takes the lock and overwrites the
stale PID and port. The side file itself is never deleted (deleting a flock'ed file races
with a process that has just opened it, and two servers could each lock a different inode).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from crlhf.errors import DatabaseInUse

READ_RETRIES = 20
"""A holder writes its JSON just after it takes the lock; a reader that lands in that gap
(an empty file) retries for up to READ_RETRIES * READ_RETRY_S seconds."""
READ_RETRY_S = 0.01


@dataclass(frozen=True)
class Holder:
    """The server process that holds a database (what the lock file says)."""

    pid: int | None
    host: str | None
    port: int | None

    def describe(self) -> str:
        """``PID 1234, port 8000``: for one-line refusals."""
        pid = "an unknown PID" if self.pid is None else f"PID {self.pid}"
        port = "an unknown port" if self.port is None else f"port {self.port}"
        return f"{pid}, {port}"


def lock_path(db: Path) -> Path:
    """``<db>.lock`` beside the database (absolute, so two spellings of one file agree)."""
    db = db.expanduser().resolve()
    return db.with_name(db.name + ".lock")


def _read(handle: IO[str]) -> Holder:
    for _ in range(READ_RETRIES):
        handle.seek(0)
        text = handle.read()
        if text.strip():
            try:
                data = json.loads(text)
            except json.JSONDecodeError:
                break
            if isinstance(data, dict):
                pid, host, port = data.get("pid"), data.get("host"), data.get("port")
                return Holder(
                    pid=pid if isinstance(pid, int) else None,
                    host=host if isinstance(host, str) else None,
                    port=port if isinstance(port, int) else None,
                )
            break
        time.sleep(READ_RETRY_S)
    return Holder(pid=None, host=None, port=None)


def holder(db: Path) -> Holder | None:
    """Which live server holds ``db``, or None when none does.

    A lock file whose process has died is reported as None (its flock went with it).
    Cheap and safe to call while a server runs: it only tries a shared lock and lets go.
    """
    path = lock_path(db)
    try:
        handle = path.open("r", encoding="utf-8")
    except FileNotFoundError:
        return None
    with handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _read(handle)
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        return None


class InstanceLock:
    """The exclusive lock a running server holds on its database; release() or process exit
    lets it go. Use :func:`acquire`."""

    def __init__(self, db: Path, handle: IO[str]) -> None:
        self.db = db
        self._handle: IO[str] | None = handle

    def record(self, *, host: str | None, port: int | None) -> None:
        """Write who holds the lock (once the port is known, which may be after binding)."""
        if self._handle is None:
            raise RuntimeError("the instance lock was released")
        self._handle.seek(0)
        self._handle.truncate()
        self._handle.write(json.dumps({"pid": os.getpid(), "host": host, "port": port}))
        self._handle.flush()

    def release(self) -> None:
        """Empty the file and drop the lock (idempotent)."""
        if self._handle is None:
            return
        with contextlib.suppress(OSError):
            self._handle.seek(0)
            self._handle.truncate()
            self._handle.flush()
        fcntl.flock(self._handle.fileno(), fcntl.LOCK_UN)
        self._handle.close()
        self._handle = None

    def __enter__(self) -> InstanceLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def acquire(
    db: Path,
    *,
    host: str | None = None,
    port: int | None = None,
    purpose: str = "serve it (or use another --db)",
) -> InstanceLock:
    """Take ``db``'s instance lock for this process and record ``host`` and ``port`` (a
    server's; a local command such as ``crlhf admin reset-token`` records neither).

    Raises :class:`~crlhf.errors.DatabaseInUse`, naming the holder's PID and port and what
    the caller wanted (``purpose``), when another live process holds it.
    """
    path = lock_path(db)
    path.parent.mkdir(parents=True, exist_ok=True)
    # "a+" creates the file without truncating a holder's record before we own the lock.
    handle = path.open("a+", encoding="utf-8")
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        try:
            holder = _read(handle)
            raise DatabaseInUse(
                f"{db} is held by a running crlhf server ({holder.describe()}); "
                f"stop it first to {purpose}",
                field="db",
            ) from None
        finally:
            handle.close()
    lock = InstanceLock(db, handle)
    lock.record(host=host, port=port)
    return lock
