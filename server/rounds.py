"""Training rounds: requested -> running -> succeeded | failed; cancelled from the first two.

The server only keeps the record and enforces the moves; a worker (``crlhf worker``) or
``crlhf train-round`` does the work and reports each move through the admin API.

A worker *claims* the oldest requested round with a lease and then sends heartbeats; a
running round whose last heartbeat is older than its lease has lost its worker (killed,
crashed, cut off) and is failed. There is no background thread for this: the check runs
lazily in one place, :func:`expire_leases`, at the start of every rounds read, claim,
heartbeat and transition and of the current-adapter read, so anything that looks at a
round sees it already failed. The *current adapter* (:mod:`server.adapters`) is the
version of the latest finished succeeded round unless an admin chose one since, so a
failed, killed or cancelled round never changes it.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timedelta

from crlhf_server import adapters, views
from crlhf_server.clock import now_iso
from crlhf_server.deps import Context

from crlhf.errors import Conflict, InvalidInput, InvalidTransition, RoundNotFound
from crlhf.schemas import (
    RoundClaim,
    RoundHeartbeat,
    RoundRegistration,
    RoundStatus,
    RoundTransition,
    TrainingRound,
    TrainingRoundIn,
    WebhookEvent,
)

ALLOWED: dict[RoundStatus, frozenset[RoundStatus]] = {
    RoundStatus.REQUESTED: frozenset({RoundStatus.RUNNING, RoundStatus.CANCELLED}),
    RoundStatus.RUNNING: frozenset(
        {RoundStatus.SUCCEEDED, RoundStatus.FAILED, RoundStatus.CANCELLED}
    ),
    RoundStatus.SUCCEEDED: frozenset(),
    RoundStatus.FAILED: frozenset(),
    RoundStatus.CANCELLED: frozenset(),
}
FINAL = frozenset(status for status, moves in ALLOWED.items() if not moves)


def create(conn: sqlite3.Connection, body: TrainingRoundIn, now: str) -> TrainingRound:
    cursor = conn.execute(
        "INSERT INTO training_rounds (status, params, note, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?)",
        (RoundStatus.REQUESTED.value, json.dumps(body.params), body.note, now, now),
    )
    return get(conn, int(cursor.lastrowid or 0))


def register(conn: sqlite3.Connection, body: RoundRegistration, now: str) -> TrainingRound:
    """Record a round trained elsewhere as succeeded, in one insert (never claimable)."""
    adapters.check_new_version(conn, 0, body.adapter_version)
    cursor = conn.execute(
        "INSERT INTO training_rounds (status, params, note, message, adapter_version, metrics, "
        "created_at, updated_at, started_at, finished_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            RoundStatus.SUCCEEDED.value,
            json.dumps(body.params),
            body.note,
            body.message,
            body.adapter_version,
            json.dumps(body.metrics),
            now,
            now,
            now,
            now,
        ),
    )
    return get(conn, int(cursor.lastrowid or 0))


def retry(conn: sqlite3.Connection, round_id: int, now: str) -> TrainingRound:
    """A new requested round with the params of failed or cancelled round ``round_id``.

    A new round, not a reset: the failed one keeps its reason, and the new one's note
    says which round it retries.
    """
    failed = get(conn, round_id)
    if failed.status not in (RoundStatus.FAILED, RoundStatus.CANCELLED):
        raise InvalidTransition(
            f"round {round_id} is {failed.status.value}; only a failed or cancelled round "
            "can be retried",
            field="status",
        )
    note = f"retry of round {round_id}" + (f": {failed.note}" if failed.note else "")
    return create(conn, TrainingRoundIn(params=failed.params, note=note[:2_000]), now)


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
        reason = f" ({current.message})" if current.status in FINAL and current.message else ""
        raise InvalidTransition(
            f"round {round_id} is {current.status.value}{reason}; it can move to "
            f"{', '.join(allowed)}, not {body.status.value}",
            field="status",
        )
    if body.status is RoundStatus.SUCCEEDED and not body.adapter_version:
        raise InvalidInput(
            "a succeeded round must name the adapter version it produced (it becomes the "
            "current adapter)",
            field="adapter_version",
        )
    if body.status is RoundStatus.SUCCEEDED and body.adapter_version:
        adapters.check_new_version(conn, round_id, body.adapter_version)
    metrics = {**current.metrics, **(body.metrics or {})}
    conn.execute(
        "UPDATE training_rounds SET status = ?, message = COALESCE(?, message), "
        "adapter_version = COALESCE(?, adapter_version), metrics = ?, updated_at = ?, "
        "started_at = CASE WHEN ? THEN COALESCE(started_at, ?) ELSE started_at END, "
        "finished_at = CASE WHEN ? THEN ? ELSE finished_at END "
        "WHERE id = ?",
        (
            body.status.value,
            body.message,
            body.adapter_version,
            json.dumps(metrics),
            now,
            body.status is RoundStatus.RUNNING,
            now,
            body.status in FINAL,
            now,
            round_id,
        ),
    )
    return get(conn, round_id)


def claim(conn: sqlite3.Connection, body: RoundClaim, now: str) -> TrainingRound | None:
    """Move the oldest requested round to running for ``body.worker``; None if none waits.

    Call inside one write transaction: the writer lock makes the select and the update
    one step, so two workers never claim the same round.
    """
    row = conn.execute(
        "SELECT id FROM training_rounds WHERE status = ? ORDER BY id LIMIT 1",
        (RoundStatus.REQUESTED.value,),
    ).fetchone()
    if row is None:
        return None
    conn.execute(
        "UPDATE training_rounds SET status = ?, worker = ?, lease_s = ?, heartbeat_at = ?, "
        "started_at = ?, updated_at = ?, progress = '{}' WHERE id = ?",
        (RoundStatus.RUNNING.value, body.worker, body.lease_s, now, now, now, row["id"]),
    )
    return get(conn, int(row["id"]))


def heartbeat(
    conn: sqlite3.Connection, round_id: int, body: RoundHeartbeat, now: str
) -> TrainingRound:
    """Record the worker's progress; a cancelled round is answered as it is (the worker
    stops), any other round that is not running, or not this worker's, is a conflict."""
    current = get(conn, round_id)
    if current.status is RoundStatus.CANCELLED:
        return current
    if current.status is not RoundStatus.RUNNING:
        reason = f": {current.message}" if current.message else ""
        raise InvalidTransition(
            f"round {round_id} is {current.status.value}, not running{reason}", field="status"
        )
    if current.worker != body.worker:
        holder = f"worker {current.worker!r}" if current.worker else "no worker (train-round)"
        raise Conflict(f"round {round_id} is run by {holder}, not {body.worker!r}", field="worker")
    conn.execute(
        "UPDATE training_rounds SET heartbeat_at = ?, progress = ?, updated_at = ? WHERE id = ?",
        (now, body.progress.model_dump_json(exclude_none=True), now, round_id),
    )
    return get(conn, round_id)


def _stale(conn: sqlite3.Connection, now: datetime) -> list[sqlite3.Row]:
    rows = conn.execute(
        "SELECT id, worker, lease_s, heartbeat_at FROM training_rounds "
        "WHERE status = ? AND heartbeat_at IS NOT NULL AND lease_s IS NOT NULL",
        (RoundStatus.RUNNING.value,),
    ).fetchall()
    return [
        row
        for row in rows
        if views.parse_time(row["heartbeat_at"]) + timedelta(seconds=row["lease_s"]) < now
    ]


def fail_stale(conn: sqlite3.Connection, now: str) -> list[TrainingRound]:
    """Fail every running round whose lease ran out; returns them (call in a write)."""
    failed = []
    for row in _stale(conn, views.parse_time(now)):
        beat = views.parse_time(row["heartbeat_at"]).isoformat(timespec="seconds")
        message = (
            f"worker {row['worker']} stopped reporting: no heartbeat since {beat} "
            f"(lease {row['lease_s']:g} s); the previous adapter stays current"
        )
        conn.execute(
            "UPDATE training_rounds SET status = ?, message = ?, updated_at = ?, "
            "finished_at = ? WHERE id = ?",
            (RoundStatus.FAILED.value, message, now, now, row["id"]),
        )
        failed.append(get(conn, int(row["id"])))
    return failed


def expire_leases(ctx: Context) -> None:
    """The lazy lease check (see the module docstring): a cheap read first, the write
    lock only when a lease has run out; each failed round is announced by webhook."""
    now = now_iso()
    if not _stale(ctx.store.read(), views.parse_time(now)):
        return
    with ctx.store.write() as conn:
        failed = fail_stale(conn, now)
    for changed in failed:
        ctx.webhooks.emit(WebhookEvent.ROUND_CHANGED, changed.model_dump(mode="json"))
