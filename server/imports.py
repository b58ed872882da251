"""Bulk import of problems and samples (admin routes and the first-start seed).

Runs inside the caller's write transaction, so an import is all or nothing. A sample's
judged lines are fixed at import: votes refer to its line numbers, so changing the code of
a sample that exists is refused (409); import it under a new id instead.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Sequence

from crlhf_server.consensus import store_consensus

from crlhf.engine.config import EngineConfig
from crlhf.engine.incremental import sample_consensus
from crlhf.errors import Conflict, ProblemNotFound, UnknownAnnotator
from crlhf.schemas import ImportResult, ProblemIn, SampleIn, judged_line_numbers

_PROBLEM_FIELDS = (
    "title",
    "description",
    "entry_point",
    "tests",
    "reference_solution",
    "prompt",
    "language",
)


def import_problems(
    conn: sqlite3.Connection, problems: Sequence[ProblemIn], now: str
) -> ImportResult:
    created = unchanged = updated = 0
    for problem in problems:
        values = tuple(getattr(problem, name) for name in _PROBLEM_FIELDS)
        row = conn.execute(
            f"SELECT {', '.join(_PROBLEM_FIELDS)} FROM problems WHERE id = ?", (problem.id,)
        ).fetchone()
        if row is None:
            conn.execute(
                f"INSERT INTO problems (id, {', '.join(_PROBLEM_FIELDS)}, created_at) "
                f"VALUES (?, {', '.join('?' * len(_PROBLEM_FIELDS))}, ?)",
                (problem.id, *values, now),
            )
            created += 1
        elif tuple(row) == values:
            unchanged += 1
        else:
            assignments = ", ".join(f"{name} = ?" for name in _PROBLEM_FIELDS)
            conn.execute(f"UPDATE problems SET {assignments} WHERE id = ?", (*values, problem.id))
            updated += 1
    return ImportResult(
        created=created, unchanged=unchanged, updated=updated, ids=[p.id for p in problems]
    )


def _gold_json(sample: SampleIn) -> str | None:
    if sample.gold is None:
        return None
    return json.dumps({str(line): int(label) for line, label in sorted(sample.gold.items())})


def import_samples(
    conn: sqlite3.Connection,
    engine: EngineConfig,
    samples: Sequence[SampleIn],
    now: str,
    *,
    starter: bool = False,
) -> ImportResult:
    """Import ``samples``; ``starter`` marks the bundled starter set, which routing serves
    only after every imported sample (:mod:`server.task_routing`)."""
    created = unchanged = 0
    ids: list[str] = []
    for i, sample in enumerate(samples):
        sample_id = sample.id or f"s-{uuid.uuid4().hex[:12]}"
        ids.append(sample_id)
        exists = conn.execute("SELECT 1 FROM problems WHERE id = ?", (sample.problem_id,))
        if exists.fetchone() is None:
            raise ProblemNotFound(
                f"no problem {sample.problem_id!r}; import it first", field=f"[{i}].problem_id"
            )
        if (
            sample.author_id is not None
            and not conn.execute(
                "SELECT 1 FROM annotators WHERE id = ?", (sample.author_id,)
            ).fetchone()
        ):
            raise UnknownAnnotator(
                f"no annotator {sample.author_id} (author_id names the annotator who wrote the "
                "code)",
                field=f"[{i}].author_id",
            )
        meta = sample.meta.model_dump_json()
        gold = _gold_json(sample)
        row = conn.execute(
            "SELECT problem_id, code, meta, gold FROM samples WHERE id = ?", (sample_id,)
        ).fetchone()
        if row is not None:
            if tuple(row) != (sample.problem_id, sample.code, meta, gold):
                raise Conflict(
                    f"sample {sample_id!r} exists with different content; votes refer to its "
                    "line numbers, so import changed code under a new id",
                    field=f"[{i}].id",
                )
            unchanged += 1
            continue
        judged = judged_line_numbers(sample.code)
        conn.execute(
            "INSERT INTO samples (id, problem_id, code, meta, round, judged_lines, gold, "
            "is_honeypot, judged_count, uncertainty, created_at, author_id, starter) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?)",
            (
                sample_id,
                sample.problem_id,
                sample.code,
                meta,
                sample.meta.round,
                json.dumps(judged),
                gold,
                int(gold is not None),
                len(judged),
                now,
                sample.author_id,
                int(starter),
            ),
        )
        store_consensus(
            conn,
            sample_id,
            sample_consensus(engine, judged, [], {}),
            source="import",
            submission_pk=None,
            now=now,
        )
        created += 1
    return ImportResult(created=created, unchanged=unchanged, ids=ids)
