"""Numbered schema steps for the SQLite files that live on annotators' machines.

The server migrates its database with sqlite-utils' ``Migrations``; a client file (the
offline queue) is tiny and must not need that dependency, so it records its version in
``PRAGMA user_version`` instead. Step N brings a file from version N-1 to N, each in its
own transaction together with the version bump, so a crash mid-upgrade leaves the file at
the last whole step. A file written by a newer crlhf is refused, never rewritten: it may
hold queued votes in a shape this version does not know.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Self

from crlhf.errors import InvalidFile

Step = Sequence[str]
"""The SQL statements of one step."""


def migrate(db: sqlite3.Connection, steps: Sequence[Step], path: Path) -> int:
    """Apply the steps ``db`` has not run yet (``db`` in autocommit mode); return the version.

    Step 1 should be idempotent (``IF NOT EXISTS``) where files from before versioning
    exist: those read as version 0 and already hold its tables. The version is read again
    under the write lock, so two processes opening the same file migrate it once.
    """
    while (version := _version(db)) < len(steps):
        db.execute("BEGIN IMMEDIATE")
        try:
            version = _version(db)
            if version < len(steps):
                for statement in steps[version]:
                    db.execute(statement)
                db.execute(f"PRAGMA user_version = {version + 1}")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
    if version > len(steps):
        raise InvalidFile(
            f"{path} was written by a newer crlhf (schema {version}, this one knows "
            f"{len(steps)}); upgrade crlhf or move the file away"
        )
    return version


def _version(db: sqlite3.Connection) -> int:
    return int(db.execute("PRAGMA user_version").fetchone()[0])


def open_local(path: Path, steps: Sequence[Step]) -> sqlite3.Connection:
    """Open (creating it private to the user) a client file in WAL mode, migrated to ``steps``.

    Autocommit mode, usable from any thread (callers hold their own lock). Closed again
    when it cannot be migrated, so a refused file is never held open.
    """
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
    try:
        _enable_wal(db)
        migrate(db, steps, path)
    except BaseException:
        db.close()
        raise
    return db


def _enable_wal(db: sqlite3.Connection, attempts: int = 50) -> None:
    """Switch to WAL, retrying while another connection holds the file.

    Changing the journal mode needs an exclusive lock and SQLite answers SQLITE_BUSY at
    once instead of calling the busy handler, so two processes (two editors, or the TUI and
    an editor) opening the same file together would otherwise fail with "database is
    locked".
    """
    for attempt in range(attempts):
        try:
            db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == attempts - 1:
                raise
            time.sleep(0.1)


class LocalFile:
    """A client file held open as one connection behind a lock, closed on ``with`` exit.

    Why the lock: :func:`open_local`'s connection may be used from any thread (a Textual
    worker, the event loop), and one connection must not run two statements at once."""

    def __init__(self, path: Path, steps: Sequence[Step]) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._db = open_local(path, steps)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
