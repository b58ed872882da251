"""The marks store: per task (sample id + content hash), across reopenings, versioned schema."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import pytest

from crlhf.errors import InvalidFile
from crlhf.marks_store import MIGRATIONS, MarksStore, SubmittedState, TaskMarks, content_hash
from crlhf.schemas import Label, ProblemView, Task, split_code


def _task(code: str = "a = 1\nb = 2\n", sample_id: str = "p1:s1") -> Task:
    return Task(
        sample_id=sample_id,
        problem=ProblemView(id="p1", title="T", description="D"),
        lines=split_code(code),
        served_at=datetime.now(UTC),
    )


def test_marks_and_submission_come_back_after_reopening(tmp_path: Path) -> None:
    task = _task()
    at = datetime(2026, 12, 7, 1, 40, tzinfo=UTC)
    submitted = SubmittedState(at=at, votes={1: Label.WRONG, 2: Label.CORRECT}, revision=2)
    with MarksStore.open_default(tmp_path) as store:
        assert store.load(task) == TaskMarks()
        store.save(task, TaskMarks(marks={1: Label.WRONG}))
        store.save(task, TaskMarks(marks={1: Label.WRONG, 2: Label.CORRECT}, submitted=submitted))
    with MarksStore.open_default(tmp_path) as store:
        again = store.load(task)
    assert again.marks == {1: Label.WRONG, 2: Label.CORRECT}
    assert again.submitted == submitted
    assert not again.submitted.queued


def test_other_content_under_the_same_id_starts_empty(tmp_path: Path) -> None:
    with MarksStore.open_default(tmp_path) as store:
        store.save(_task(), TaskMarks(marks={1: Label.WRONG}))
        changed = _task("a = 1\nb = 3\n")
        assert content_hash(changed) != content_hash(_task())
        assert store.load(changed) == TaskMarks()
        assert store.load(_task(sample_id="p1:s2")) == TaskMarks()


def test_schema_version_is_recorded_and_a_newer_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "marks.db"
    MarksStore(path).close()
    with closing(sqlite3.connect(path)) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        db.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    with pytest.raises(InvalidFile, match="newer crlhf"):
        MarksStore(path)
