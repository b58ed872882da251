"""Rows to the core's models, in one place so every route shows a resource the same way.

Annotator-facing views (:func:`task`) are built from an explicit allow-list of columns:
nothing that marks a honeypot or holds gold is ever read into them.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from functools import lru_cache

from crlhf.schemas import (
    Annotator,
    AnnotatorKind,
    CodeLine,
    GenerationMeta,
    Problem,
    ProblemView,
    Role,
    Sample,
    SampleReward,
    Task,
    TrainingRound,
    split_code,
)


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value)


def annotator(row: sqlite3.Row, *, own_view: bool = False) -> Annotator:
    """``own_view``: the annotator's own view, with the reliability of the last refit."""
    return Annotator(
        id=row["id"],
        name=row["name"],
        role=Role(row["role"]),
        active=bool(row["active"]),
        reliability=row["shown_reliability" if own_view else "reliability"],
        created_at=parse_time(row["created_at"]),
        kind=AnnotatorKind(row["kind"]),
        checker=row["checker"],
        checker_version=row["checker_version"],
    )


def problem(row: sqlite3.Row) -> Problem:
    return Problem(
        id=row["id"],
        title=row["title"],
        description=row["description"],
        entry_point=row["entry_point"],
        tests=row["tests"],
        reference_solution=row["reference_solution"],
        prompt=row["prompt"],
        language=row["language"],
        created_at=parse_time(row["created_at"]),
    )


def sample(row: sqlite3.Row) -> Sample:
    return Sample(
        id=row["id"],
        problem_id=row["problem_id"],
        code=row["code"],
        lines=split_code(row["code"]),
        meta=GenerationMeta.model_validate_json(row["meta"]),
        is_honeypot=bool(row["is_honeypot"]),
        created_at=parse_time(row["created_at"]),
        author_id=row["author_id"] if "author_id" in row.keys() else None,  # noqa: SIM118
        archived=row["archived_at"] is not None if "archived_at" in row.keys() else False,  # noqa: SIM118
    )


@lru_cache(maxsize=8192)
def _lines(code: str) -> tuple[CodeLine, ...]:
    """A sample's numbered lines; cached because a sample's code never changes (imports
    refuse to change it) and every task of a popular sample splits it again."""
    return tuple(split_code(code))


def task(row: sqlite3.Row) -> Task:
    """A served task from the allow-listed columns of :mod:`server.task_routing`'s query."""
    return Task(
        sample_id=row["sample_id"],
        problem=ProblemView(
            id=row["problem_id"],
            title=row["title"],
            description=row["description"],
            tests=row["tests"] or "",
            language=row["language"],
        ),
        lines=list(_lines(row["code"])),
        served_at=parse_time(row["served_at"]),
    )


def reward(row: sqlite3.Row) -> SampleReward:
    return SampleReward(
        sample_id=row["id"],
        problem_id=row["problem_id"],
        reward=row["reward"],
        correct_lines=row["correct_lines"],
        judged_lines=row["judged_count"],
        n_votes=row["n_votes"],
        n_annotators=row["n_annotators"],
    )


def training_round(row: sqlite3.Row) -> TrainingRound:
    return TrainingRound(
        id=row["id"],
        status=row["status"],
        params=json.loads(row["params"]),
        note=row["note"],
        message=row["message"],
        adapter_version=row["adapter_version"],
        metrics=json.loads(row["metrics"]),
        created_at=parse_time(row["created_at"]),
        updated_at=parse_time(row["updated_at"]),
        worker=row["worker"],
        lease_s=row["lease_s"],
        heartbeat_at=_optional_time(row["heartbeat_at"]),
        progress=json.loads(row["progress"]) or None,
        started_at=_optional_time(row["started_at"]),
        finished_at=_optional_time(row["finished_at"]),
    )


def _optional_time(value: str | None) -> datetime | None:
    return None if value is None else parse_time(value)
