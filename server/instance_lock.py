"""Whether a running server holds a database file: one exclusive lock per database.

``crlhf serve`` takes the lock before it opens the database and keeps it for the life of
the process; anything else that must not run beside a server (the local recovery command
``crlhf admin reset-token``, a second server on the same file) takes it too and is refused
with :class:`~crlhf.errors.DatabaseInUse` while it is held.

The lock is ``flock(LOCK_EX | LOCK_NB)`` on a sidecar file ``<db>.lock`` (not on the
database itself, whose own locks SQLite manages). The kernel drops it when the process
ends, however it ends (SIGKILL included), so a crash never leaves a stale lock; the file
stays behind and holds the last holder's pid only to name it in the refusal.

POSIX only (``flock``); on Windows no lock is taken and a warning says so.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from crlhf.errors import DatabaseInUse

logger = logging.getLogger(__name__)


def lock_path(db: Path) -> Path:
    return db.with_name(db.name + ".lock")


class InstanceLock:
    """The exclusive hold on one database; :meth:`release` (or process exit) lets go."""

    def __init__(self, db: Path) -> None:
        self.db = db
        self.path = lock_path(db)
        self._fd: int | None = None

    def acquire(self, purpose: str = "use it") -> InstanceLock:
        """Take the lock or raise :class:`DatabaseInUse` naming the holder's pid."""
        if sys.platform == "win32":
            logger.warning("no instance lock on Windows: nothing detects a running server")
            return self
        import fcntl

        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode("ascii", "replace").strip() or "unknown"
            os.close(fd)
            raise DatabaseInUse(
                f"{self.db} is held by a running server (pid {holder}); stop it to {purpose}",
                field="db",
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode("ascii"))
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the flock
            self._fd = None


@contextmanager
def held(db: Path, purpose: str = "use it") -> Iterator[InstanceLock]:
    """Hold the lock for a block (a local command that must not run beside a server)."""
    lock = InstanceLock(db).acquire(purpose)
    try:
        yield lock
    finally:
        lock.release()
