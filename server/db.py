"""SQLite connections and the one write path.

Connection setup: WAL journal (readers never block the writer), foreign keys on, a busy
timeout, ``synchronous=NORMAL`` (a commit survives a killed process; only an OS crash may
lose the last transactions).

The write path: one writer connection guarded by a lock. :meth:`Store.write` takes the
lock and opens ``BEGIN IMMEDIATE``; the block's writes commit together or roll back
together. Only one transaction ever writes, so concurrent requests queue on the lock
instead of failing with "database is locked". Reads use one connection per thread
(:meth:`Store.read`; :meth:`Store.snapshot` when several queries must see one state).
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlite_utils

logger = logging.getLogger(__name__)


def connect(path: Path, *, busy_timeout_ms: int = 5000) -> sqlite3.Connection:
    """Open ``path`` with the server's pragmas; the connection may move between threads."""
    conn = sqlite3.connect(
        str(path), check_same_thread=False, timeout=busy_timeout_ms / 1000, isolation_level=None
    )
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
    return conn


class Store:
    """The database of one server process: a locked writer and per-thread readers."""

    def __init__(self, path: Path, *, busy_timeout_ms: int = 5000) -> None:
        self.path = path
        self._busy_timeout_ms = busy_timeout_ms
        path.parent.mkdir(parents=True, exist_ok=True)
        self._writer = connect(path, busy_timeout_ms=busy_timeout_ms)
        self._write_lock = threading.Lock()
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()

    def utils(self) -> sqlite_utils.Database:
        """The writer wrapped by sqlite-utils, for migrations (call under :meth:`write_lock`)."""
        return sqlite_utils.Database(self._writer)

    @contextmanager
    def write_lock(self) -> Iterator[sqlite3.Connection]:
        """The writer without a transaction, for work that manages its own (migrations)."""
        with self._write_lock:
            yield self._writer

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction on the one writer: commit on success, roll back on error."""
        with self._write_lock:
            self._writer.execute("BEGIN IMMEDIATE")
            try:
                yield self._writer
            except BaseException:
                self._writer.execute("ROLLBACK")
                raise
            self._writer.execute("COMMIT")

    def read(self) -> sqlite3.Connection:
        """This thread's read connection (autocommit: every query sees the latest commit)."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = connect(self.path, busy_timeout_ms=self._busy_timeout_ms)
            conn.execute("PRAGMA query_only=ON")
            self._local.conn = conn
            with self._readers_lock:
                self._readers.append(conn)
        return conn

    @contextmanager
    def snapshot(self) -> Iterator[sqlite3.Connection]:
        """This thread's reader inside one read transaction: several queries, one state."""
        conn = self.read()
        conn.execute("BEGIN")
        try:
            yield conn
        finally:
            conn.execute("COMMIT")

    def close(self) -> None:
        with self._readers_lock:
            for conn in self._readers:
                conn.close()
            self._readers.clear()
        with self._write_lock:
            self._writer.close()
