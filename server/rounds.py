"""Training rounds: requested -> running -> succeeded | failed; cancelled from the first two.

The server only keeps the record and enforces the moves; the worker (issue "Training
rounds") does the work and reports each move through the admin API.
"""

from __future__ import annotations

import json
import sqlite3

from crlhf.errors import InvalidTransition, RoundNotFound
from crlhf.schemas import RoundStatus, RoundTransition, TrainingRound, TrainingRoundIn
from server import views

ALLOWED: dict[RoundStatus, frozenset[RoundStatus]] = {
    RoundStatus.REQUESTED: frozenset({RoundStatus.RUNNING, RoundStatus.CANCELLED}),
    RoundStatus.RUNNING: frozenset(
        {RoundStatus.SUCCEEDED, RoundStatus.FAILED, RoundStatus.CANCELLED}
    ),
    RoundStatus.SUCCEEDED: frozenset(),
    RoundStatus.FAILED: frozenset(),
    RoundStatus.CANCELLED: frozenset(),
}


def create(conn: sqlite3.Connection, body: TrainingRoundIn, now: str) -> TrainingRound:
    cursor = conn.execute(
        "INSERT INTO training_rounds (status, params, note, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?)",
        (RoundStatus.REQUESTED.value, json.dumps(body.params), body.note, now, now),
    )
    return get(conn, int(cursor.lastrowid or 0))


def get(conn: sqlite3.Connection, round_id: int) -> TrainingRound:
    row = conn.execute("SELECT * FROM training_rounds WHERE id = ?", (round_id,)).fetchone()
    if row is None:
        raise RoundNotFound(f"no training round {round_id}", field="round_id")
    return views.training_round(row)


def list_rounds(conn: sqlite3.Connection, status: RoundStatus | None) -> list[TrainingRound]:
    if status is None:
        rows = conn.execute("SELECT * FROM training_rounds ORDER BY id DESC")
    else:
        rows = conn.execute(
            "SELECT * FROM training_rounds WHERE status = ? ORDER BY id DESC", (status.value,)
        )
    return [views.training_round(row) for row in rows]


def transition(
    conn: sqlite3.Connection, round_id: int, body: RoundTransition, now: str
) -> TrainingRound:
    current = get(conn, round_id)
    if body.status not in ALLOWED[current.status]:
        allowed = sorted(s.value for s in ALLOWED[current.status]) or ["none (final state)"]
        raise InvalidTransition(
            f"round {round_id} is {current.status.value}; it can move to {', '.join(allowed)}, "
            f"not {body.status.value}",
            field="status",
        )
    metrics = {**current.metrics, **(body.metrics or {})}
    conn.execute(
        "UPDATE training_rounds SET status = ?, message = COALESCE(?, message), "
        "adapter_version = COALESCE(?, adapter_version), metrics = ?, updated_at = ? "
        "WHERE id = ?",
        (body.status.value, body.message, body.adapter_version, json.dumps(metrics), now, round_id),
    )
    return get(conn, round_id)
