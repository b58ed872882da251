"""An annotator's marks on each task, kept on disk so an editor restart loses nothing.

The language server writes every mark here as it is made, and the state of a task's
submission once it is sent or queued: when the annotator reopens the task file (after a
restart, or days later) the marks come back, and a submitted task says so instead of
silently accepting a second, different judgement.

A task is keyed by its sample id *and* a hash of its content (the lines and which are
judged): marks made on one text never reappear on another text under the same id. The
file lives in the client data dir, beside the offline queues (``marks.db``); it holds no
token and no server reply beyond the revision number, so one file serves every account.
Schema changes are numbered migrations recorded in ``PRAGMA user_version``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from crlhf.client_config import data_dir
from crlhf.local_schema import LocalFile
from crlhf.schemas import Label, Task

FILE_NAME = "marks.db"

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE task_marks (
            sample_id TEXT NOT NULL,
            content_hash TEXT NOT NULL,
            marks TEXT NOT NULL,            -- {"line": label} of the marks shown now
            submitted_at TEXT,              -- when the current revision was submitted (UTC)
            revision INTEGER,               -- the server's revision; NULL while queued
            votes TEXT,                     -- {"line": label} of the current revision
            updated_at TEXT NOT NULL,
            PRIMARY KEY (sample_id, content_hash)
        )""",
    ),
)
"""Step ``i`` (its statements) takes the file from ``user_version`` i to i + 1
(:mod:`crlhf.local_schema`)."""


def content_hash(task: Task) -> str:
    """Fingerprint of what the annotator judges: every line's number, text and judged flag."""
    payload = [[line.number, line.text, line.judged] for line in task.lines]
    encoded = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(encoded.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class SubmittedState:
    """The annotator's current submission of a task, as far as this machine knows."""

    at: datetime
    votes: dict[int, Label]
    """Every judged line's label as submitted."""
    revision: int | None = None
    """The server's revision number; ``None`` while it waits in the offline queue."""

    @property
    def queued(self) -> bool:
        return self.revision is None


@dataclass(frozen=True)
class TaskMarks:
    marks: dict[int, Label] = field(default_factory=dict)
    submitted: SubmittedState | None = None


def _encode(labels: dict[int, Label]) -> str:
    return json.dumps({str(n): int(label) for n, label in sorted(labels.items())})


def _decode(text: str | None) -> dict[int, Label]:
    return {int(n): Label(v) for n, v in json.loads(text).items()} if text else {}


def _now() -> str:
    return datetime.now(UTC).isoformat()


class MarksStore(LocalFile):
    """One SQLite file of task marks; thread-safe (one connection behind a lock)."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, MIGRATIONS)

    @classmethod
    def open_default(cls, directory: Path | None = None) -> MarksStore:
        """``<data dir>/marks.db`` (``$CRLHF_DATA_DIR`` or the platform's data dir)."""
        return cls((data_dir() if directory is None else directory) / FILE_NAME)

    def load(self, task: Task) -> TaskMarks:
        """What was stored for this task and text (empty when nothing was)."""
        with self._lock:
            row = self._db.execute(
                "SELECT marks, submitted_at, revision, votes FROM task_marks "
                "WHERE sample_id = ? AND content_hash = ?",
                (task.sample_id, content_hash(task)),
            ).fetchone()
        if row is None:
            return TaskMarks()
        submitted = None
        if row[1] is not None:
            submitted = SubmittedState(
                at=datetime.fromisoformat(row[1]), votes=_decode(row[3]), revision=row[2]
            )
        return TaskMarks(marks=_decode(row[0]), submitted=submitted)

    def save(self, task: Task, state: TaskMarks) -> None:
        """Replace what is stored for this task (one statement: all of it or nothing)."""
        submitted = state.submitted
        with self._lock:
            self._db.execute(
                "INSERT INTO task_marks (sample_id, content_hash, marks, submitted_at, revision, "
                "votes, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (sample_id, content_hash) DO UPDATE SET marks = excluded.marks, "
                "submitted_at = excluded.submitted_at, revision = excluded.revision, "
                "votes = excluded.votes, updated_at = excluded.updated_at",
                (
                    task.sample_id,
                    content_hash(task),
                    _encode(state.marks),
                    submitted.at.isoformat() if submitted else None,
                    submitted.revision if submitted else None,
                    _encode(submitted.votes) if submitted else None,
                    _now(),
                ),
            )
