"""The persistent offline submission queue shared by the TUI and the language server.

A submission is written here, and committed, before any network call; :meth:`sync`
then sends what is pending in batches. Every row is in exactly one state:

- ``pending``: not yet acknowledged by the server (sent or not);
- ``synced``: the server returned a receipt for it (a replayed receipt counts);
- ``rejected``: the server refused it for a reason of its own (unknown sample, bad
  labels...); kept with the server's message so the user can see it, never dropped.

The process can die at any moment: a row moves to ``synced`` only after the server's
receipt, so the worst case is sending an acknowledged submission again, and the
server's idempotent submission ids make that replay harmless.

One SQLite file per (server, token) pair, in WAL mode with ``synchronous=FULL`` (the
annotator pressed submit: it must survive a power cut too, and it is one fsync per
human action). Several processes (a TUI and a language server) may share the file.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
import re
import sqlite3
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Protocol
from uuid import UUID

from pydantic import ValidationError

from crlhf.client_config import ClientConfig, data_dir
from crlhf.errors import (
    Conflict,
    CrlhfError,
    InvalidInput,
    PayloadTooLarge,
    RateLimited,
    SampleNotFound,
    ServerUnreachable,
)
from crlhf.local_schema import LocalFile
from crlhf.schemas import MAX_BATCH_SUBMISSIONS, BatchReceipt, Submission

logger = logging.getLogger(__name__)

REJECTING_ERRORS: tuple[type[CrlhfError], ...] = (
    InvalidInput,
    SampleNotFound,
    Conflict,
    PayloadTooLarge,
)
"""Errors that blame the submissions in a batch (bisect and reject the culprits).

Anything else (a bad token, a server bug, a 404 from a wrong URL) says nothing about the
submissions: sync stops and the queue keeps every row pending.
"""

RETRYABLE_ERRORS: tuple[type[CrlhfError], ...] = (ServerUnreachable, RateLimited)

_SCHEMA_STEPS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE IF NOT EXISTS submissions (
            seq           INTEGER PRIMARY KEY AUTOINCREMENT,
            submission_id TEXT NOT NULL UNIQUE,
            sample_id     TEXT NOT NULL,
            body          TEXT NOT NULL,
            state         TEXT NOT NULL DEFAULT 'pending'
                          CHECK (state IN ('pending', 'synced', 'rejected')),
            attempts      INTEGER NOT NULL DEFAULT 0,
            enqueued_at   TEXT NOT NULL,
            synced_at     TEXT,
            error_code    TEXT,
            error_message TEXT
        )""",
        "CREATE INDEX IF NOT EXISTS submissions_state_seq ON submissions (state, seq)",
    ),
)
"""The queue file's schema, one step per version (:mod:`crlhf.local_schema`). The file
lives on annotators' machines with votes that may not have reached the server yet: never
edit a shipped step, append one."""

_BATCH_INDEX = re.compile(r"^submissions\[(\d+)\]")


class QueueState(StrEnum):
    PENDING = "pending"
    SYNCED = "synced"
    REJECTED = "rejected"


@dataclass(frozen=True)
class QueuedSubmission:
    """One row of the queue."""

    submission: Submission
    state: QueueState
    enqueued_at: datetime
    attempts: int
    """How many times it was sent (a batch that failed counts for each of its rows)."""
    error_code: str | None = None
    error_message: str | None = None
    """The server's reason, for a rejected row."""

    @property
    def submission_id(self) -> UUID:
        return self.submission.submission_id


@dataclass(frozen=True)
class SyncResult:
    """What one :meth:`OfflineQueue.sync` call did."""

    synced: int
    """Rows acknowledged by the server during this call (replays included)."""
    rejected: list[QueuedSubmission] = field(default_factory=list)
    """Rows the server refused during this call, with its messages."""
    pending: int = 0
    """Rows still pending afterwards."""
    offline: bool = False
    """True when the call stopped because the server stayed unreachable."""


class BatchSubmitter(Protocol):
    """The one client method sync needs (a :class:`~crlhf.client.CrlhfClient`)."""

    async def submit_batch(self, submissions: list[Submission], /) -> BatchReceipt: ...


Sleep = Callable[[float], Awaitable[None]]


def queue_path(server: str, token: str, directory: Path | None = None) -> Path:
    """``<data dir>/queue-<hash>.db``: one queue per server and annotator (token).

    The token is hashed, never stored in the name; two tokens for one server never mix
    their submissions.
    """
    digest = hashlib.sha256(f"{server}\n{token}".encode()).hexdigest()[:16]
    return (data_dir() if directory is None else directory) / f"queue-{digest}.db"


def _now() -> str:
    return datetime.now(UTC).isoformat()


class OfflineQueue(LocalFile):
    """A durable FIFO of submissions waiting for the server (see the module docstring).

    Methods are thread-safe (one connection behind a lock) and quick enough to call from
    an event loop: each is one small indexed SQLite statement.
    """

    def __init__(self, path: Path) -> None:
        super().__init__(path, _SCHEMA_STEPS)
        self._sync_lock: asyncio.Lock | None = None
        self._db.execute("PRAGMA synchronous=FULL")

    @classmethod
    def for_config(cls, config: ClientConfig, directory: Path | None = None) -> OfflineQueue:
        return cls(queue_path(config.server, config.token, directory))

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    # ------------------------------------------------------------------ writes

    def enqueue(self, submission: Submission) -> bool:
        """Store ``submission`` durably; return False if its id was already queued.

        Committed (and fsynced) before this returns, so the caller may send it, crash
        or go offline afterwards without losing it. Queuing the same id twice with
        different content is a client bug and raises :class:`InvalidInput`.
        """
        body = submission.model_dump_json(exclude_none=True)
        sid = str(submission.submission_id)
        with self._transaction() as db:
            row = db.execute("SELECT body FROM submissions WHERE submission_id = ?", (sid,))
            existing = row.fetchone()
            if existing is not None:
                if existing[0] != body:
                    raise InvalidInput(
                        f"submission {sid} is already queued with different content",
                        field="submission_id",
                    )
                return False
            db.execute(
                "INSERT INTO submissions (submission_id, sample_id, body, enqueued_at) "
                "VALUES (?, ?, ?, ?)",
                (sid, submission.sample_id, body, _now()),
            )
        logger.debug("queued submission %s for sample %s", sid, submission.sample_id)
        return True

    def mark_synced(self, ids: Iterable[UUID]) -> int:
        """Mark rows acknowledged by the server; return how many were pending."""
        keys = [(_now(), str(i)) for i in ids]
        with self._transaction() as db:
            before = db.total_changes
            db.executemany(
                "UPDATE submissions SET state = 'synced', synced_at = ?, error_code = NULL, "
                "error_message = NULL WHERE submission_id = ? AND state = 'pending'",
                keys,
            )
            return db.total_changes - before

    def mark_rejected(self, submission_id: UUID, code: str, message: str) -> None:
        """Set a row aside with the server's reason; it stays listable in :meth:`rejected`."""
        with self._transaction() as db:
            db.execute(
                "UPDATE submissions SET state = 'rejected', error_code = ?, error_message = ? "
                "WHERE submission_id = ? AND state = 'pending'",
                (code, message, str(submission_id)),
            )

    def _count_attempt(self, ids: Iterable[UUID]) -> None:
        with self._transaction() as db:
            db.executemany(
                "UPDATE submissions SET attempts = attempts + 1 WHERE submission_id = ?",
                [(str(i),) for i in ids],
            )

    # ------------------------------------------------------------------- reads

    def _select(self, state: QueueState, limit: int | None = None) -> list[QueuedSubmission]:
        with self._lock:
            rows = self._db.execute(
                "SELECT submission_id, body, enqueued_at, attempts, error_code, "
                "error_message FROM submissions WHERE state = ? ORDER BY seq LIMIT ?",
                (state.value, -1 if limit is None else limit),
            ).fetchall()
        items: list[QueuedSubmission] = []
        for sid, body, enqueued_at, attempts, code, message in rows:
            try:
                submission = Submission.model_validate_json(body)
            except ValidationError:
                # Only a hand-edited file gets here; set it aside rather than block sync.
                logger.warning("queued submission %s is unreadable; marking it rejected", sid)
                self.mark_rejected(UUID(sid), "invalid_input", "unreadable in the local queue")
                continue
            items.append(
                QueuedSubmission(
                    submission=submission,
                    state=state,
                    enqueued_at=datetime.fromisoformat(enqueued_at),
                    attempts=attempts,
                    error_code=code,
                    error_message=message,
                )
            )
        return items

    def pending(self, limit: int | None = None) -> list[QueuedSubmission]:
        """Pending rows, oldest first."""
        return self._select(QueueState.PENDING, limit)

    def rejected(self) -> list[QueuedSubmission]:
        """Rows the server refused, oldest first, with its messages."""
        return self._select(QueueState.REJECTED)

    def count(self, state: QueueState = QueueState.PENDING) -> int:
        with self._lock:
            row = self._db.execute(
                "SELECT count(*) FROM submissions WHERE state = ?", (state.value,)
            ).fetchone()
        return int(row[0])

    def counts(self) -> Mapping[QueueState, int]:
        with self._lock:
            rows = self._db.execute(
                "SELECT state, count(*) FROM submissions GROUP BY state"
            ).fetchall()
        found = {QueueState(state): int(n) for state, n in rows}
        return {state: found.get(state, 0) for state in QueueState}

    def pending_sample_ids(self) -> set[str]:
        """Samples with a submission still waiting: the server still counts them as open."""
        with self._lock:
            rows = self._db.execute(
                "SELECT DISTINCT sample_id FROM submissions WHERE state = 'pending'"
            ).fetchall()
        return {row[0] for row in rows}

    # -------------------------------------------------------------------- sync

    async def sync(
        self,
        client: BatchSubmitter,
        *,
        batch_size: int = 50,
        max_attempts: int = 5,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        sleep: Sleep = asyncio.sleep,
    ) -> SyncResult:
        """Send every pending row in batches of ``batch_size``; return what happened.

        On :class:`ServerUnreachable` (or 429) a batch is retried up to ``max_attempts``
        times, waiting ``backoff * 2**attempt`` seconds (capped at ``max_backoff``) with
        jitter so many clients coming back online do not hit the server in step; after
        that the call returns with ``offline=True`` and the rows stay pending. A batch
        refused because of its content is bisected until the bad submission(s) are
        isolated; those are marked rejected, the rest synced. Errors that do not blame
        the submissions (401, 403, a server bug) propagate with nothing changed.

        Concurrent calls on one queue run one after the other.
        """
        if not 1 <= batch_size <= MAX_BATCH_SUBMISSIONS:
            raise InvalidInput(
                f"batch_size must be in 1..{MAX_BATCH_SUBMISSIONS}", field="batch_size"
            )
        if max_attempts < 1:
            raise InvalidInput("max_attempts must be at least 1", field="max_attempts")
        if self._sync_lock is None:
            self._sync_lock = asyncio.Lock()
        async with self._sync_lock:
            sender = _BatchSender(self, client, max_attempts, backoff, max_backoff, sleep)
            synced = 0
            rejected: list[QueuedSubmission] = []
            offline = False
            while batch := self.pending(batch_size):
                try:
                    done, refused = await sender.send(batch)
                except ServerUnreachable as exc:
                    logger.info("sync stopped, server unreachable: %s", exc)
                    offline = True
                    break
                synced += done
                rejected.extend(refused)
                if not done and not refused:
                    # The server answered without acknowledging any of them (it should
                    # not): stop rather than resend the same batch forever.
                    logger.warning("server acknowledged none of %d submissions", len(batch))
                    break
            return SyncResult(synced, rejected, self.count(), offline)


@dataclass
class _BatchSender:
    """One sync run: retries with backoff, and bisection of refused batches."""

    queue: OfflineQueue
    client: BatchSubmitter
    max_attempts: int
    backoff: float
    max_backoff: float
    sleep: Sleep

    async def _submit(self, rows: list[QueuedSubmission]) -> BatchReceipt:
        """Submit with retries; raises the last :class:`ServerUnreachable` when out of tries."""
        for attempt in range(self.max_attempts):
            self.queue._count_attempt(r.submission_id for r in rows)
            try:
                return await self.client.submit_batch([r.submission for r in rows])
            except RETRYABLE_ERRORS as exc:
                if attempt + 1 == self.max_attempts:
                    raise ServerUnreachable(str(exc)) from exc
                delay = min(self.max_backoff, self.backoff * 2**attempt)
                delay *= 0.5 + random.random() / 2  # jitter: de-synchronise clients
                logger.debug("batch of %d failed (%s); retrying in %.2fs", len(rows), exc, delay)
                await self.sleep(delay)
        raise AssertionError("unreachable: the loop returns or raises")

    async def send(self, rows: list[QueuedSubmission]) -> tuple[int, list[QueuedSubmission]]:
        """Send ``rows``; return (rows synced, rows rejected)."""
        try:
            receipt = await self._submit(rows)
        except REJECTING_ERRORS as exc:
            if len(rows) == 1:
                row = rows[0]
                logger.warning("server rejected submission %s: %s", row.submission_id, exc)
                self.queue.mark_rejected(row.submission_id, exc.code, str(exc))
                refused = QueuedSubmission(
                    row.submission,
                    QueueState.REJECTED,
                    row.enqueued_at,
                    row.attempts + 1,
                    exc.code,
                    str(exc),
                )
                return 0, [refused]
            first, rest = _split(rows, exc.field)
            done_a, refused_a = await self.send(first)
            done_b, refused_b = await self.send(rest)
            return done_a + done_b, refused_a + refused_b
        acknowledged = [r.submission_id for r in receipt.receipts]
        missing = {r.submission_id for r in rows} - set(acknowledged)
        if missing:
            logger.warning("server acknowledged %d of %d", len(acknowledged), len(rows))
        return self.queue.mark_synced(acknowledged), []


def _split(
    rows: list[QueuedSubmission], field_name: str | None
) -> tuple[list[QueuedSubmission], list[QueuedSubmission]]:
    """Split a refused batch in two for bisection.

    When the server named the culprit (``submissions[i]...``), try it alone first and
    the rest together: two requests isolate it instead of log2(n). Otherwise halve.
    """
    match = _BATCH_INDEX.match(field_name or "")
    if match and int(match.group(1)) < len(rows):
        i = int(match.group(1))
        return [rows[i]], rows[:i] + rows[i + 1 :]
    middle = len(rows) // 2
    return rows[:middle], rows[middle:]
