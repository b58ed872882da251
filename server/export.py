"""The (x, y, s) training set: one row per judged, non-honeypot sample.

Read after a full refit (see :mod:`server.refit`) unless the admin asks for the stored
rewards, so exported rewards never carry the staleness of incremental updates by accident.
Honeypots are never exported: their rewards would leak gold into training and their
presence would reveal which samples they are. Archived samples are never exported either.
Each row carries its lines' posteriors (already stored by every refit, so no migration):
``reward_mode=line`` rounds place one reward per judged line from them.
"""

from __future__ import annotations

import json
import sqlite3

from crlhf_server.consensus import line_comments

from crlhf.schemas import (
    EXPORT_SCHEMA_VERSION,
    ExportComment,
    ExportPosterior,
    ExportRow,
    GenerationMeta,
)


def export_rows(
    conn: sqlite3.Connection, min_votes: int, min_annotators: int = 1
) -> list[ExportRow]:
    """Rows with at least ``min_votes`` line votes and ``min_annotators`` annotators."""
    rows = conn.execute(
        "SELECT s.id, s.problem_id, p.title, p.description, s.code, s.reward, s.correct_lines, "
        "s.judged_count, s.n_votes, s.n_annotators, s.meta, s.posteriors FROM samples s "
        "JOIN problems p ON p.id = s.problem_id "
        "WHERE s.is_honeypot = 0 AND s.archived_at IS NULL AND s.reward IS NOT NULL "
        "AND s.n_votes >= ? AND s.n_annotators >= ? ORDER BY s.seq",
        (min_votes, min_annotators),
    ).fetchall()
    return [
        ExportRow(
            sample_id=r[0],
            problem_id=r[1],
            problem_title=r[2],
            prompt=r[3],
            code=r[4],
            reward=r[5],
            correct_lines=r[6],
            judged_lines=r[7],
            n_votes=r[8],
            n_annotators=r[9],
            meta=GenerationMeta.model_validate_json(r[10]),
            comments=[
                ExportComment(line=line, text=text)
                for line, texts in line_comments(conn, r[0]).items()
                for text in texts
            ],
            line_posteriors=[
                ExportPosterior(line=int(line), posterior=float(p))
                for line, p in sorted(json.loads(r[11] or "{}").items(), key=lambda i: int(i[0]))
            ],
            schema_version=EXPORT_SCHEMA_VERSION,
        )
        for r in rows
    ]
