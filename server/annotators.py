"""Annotator accounts and their statistics."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime

from crlhf_server import views
from crlhf_server.auth import hash_token, new_token
from crlhf_server.own_view import shown_posteriors

from crlhf.engine.config import EngineConfig
from crlhf.engine.incremental import AnnotatorState
from crlhf.errors import AnnotatorNotFound, Conflict
from crlhf.schemas import Annotator, AnnotatorCreated, AnnotatorKind, AnnotatorStats, Role


def create(
    conn: sqlite3.Connection,
    engine: EngineConfig,
    name: str,
    role: Role,
    *,
    now: str,
    token: str | None = None,
    kind: AnnotatorKind = AnnotatorKind.HUMAN,
    checker: str | None = None,
    checker_version: str | None = None,
) -> AnnotatorCreated:
    """Create an account; the returned token is the only copy that will ever exist.

    A machine annotator (``kind`` machine) names its checker; its token works only on
    the machine routes (server/routers/machines.py)."""
    if conn.execute("SELECT 1 FROM annotators WHERE name = ?", (name,)).fetchone():
        raise Conflict(f"an annotator named {name!r} exists", field="name")
    token = token or new_token()
    state = AnnotatorState.initial(engine)
    encoded = json.dumps(state.to_dict())
    reliability = state.reliability(engine)
    cursor = conn.execute(
        "INSERT INTO annotators (name, role, active, token_hash, state, reliability, "
        "shown_state, shown_reliability, created_at, kind, checker, checker_version) "
        "VALUES (?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            name,
            role.value,
            hash_token(token),
            encoded,
            reliability,
            encoded,
            reliability,
            now,
            kind.value,
            checker,
            checker_version,
        ),
    )
    conn.execute(
        "INSERT INTO reliability_history (annotator_id, reliability, state, source, created_at) "
        "VALUES (?, ?, ?, 'initial', ?)",
        (cursor.lastrowid, reliability, encoded, now),
    )
    return AnnotatorCreated(annotator=get(conn, int(cursor.lastrowid or 0)), token=token)


def get(conn: sqlite3.Connection, annotator_id: int, *, own_view: bool = False) -> Annotator:
    """An account; ``own_view`` is what the annotator may see of it (see :func:`stats`)."""
    row = conn.execute("SELECT * FROM annotators WHERE id = ?", (annotator_id,)).fetchone()
    if row is None:
        raise AnnotatorNotFound(f"no annotator {annotator_id}", field="annotator_id")
    return views.annotator(row, own_view=own_view)


def set_active(conn: sqlite3.Connection, annotator_id: int, active: bool) -> Annotator:
    get(conn, annotator_id)
    conn.execute("UPDATE annotators SET active = ? WHERE id = ?", (int(active), annotator_id))
    return get(conn, annotator_id)


def stats(
    conn: sqlite3.Connection,
    engine: EngineConfig,
    annotator_id: int,
    *,
    own_view: bool = False,
    today: datetime | None = None,
) -> AnnotatorStats:
    """Samples done, votes, agreement with the current consensus label, reliability.

    Agreement compares each current vote with its line's posterior (>= 0.5 means correct).
    ``own_view`` (the annotator asking about themselves): reliability and posteriors are
    those of the shown states (see :mod:`server.own_view`), so no number moves because a
    sample was a honeypot; admins get the live ones.
    """
    annotator = get(conn, annotator_id, own_view=own_view)
    day = (today or datetime.now(UTC)).date().isoformat()
    samples_done = samples_today = votes = agreeing = 0
    rows = conn.execute(
        "SELECT s.id AS submission, s.sample_id AS sample_id, s.created_at AS created_at, "
        "m.posteriors AS posteriors FROM submissions s JOIN samples m ON m.id = s.sample_id "
        "WHERE s.annotator_id = ? AND s.is_current = 1",
        (annotator_id,),
    ).fetchall()
    shown = shown_posteriors(conn, engine, [r["sample_id"] for r in rows]) if own_view else {}
    for row in rows:
        samples_done += 1
        samples_today += str(row["created_at"]).startswith(day)
        if own_view:
            posteriors = shown[row["sample_id"]]
        else:
            posteriors = {int(k): v for k, v in json.loads(row["posteriors"]).items()}
        for line, label in conn.execute(
            "SELECT line, label FROM votes WHERE submission = ?", (row["submission"],)
        ):
            votes += 1
            consensus = 1 if posteriors[line] >= 0.5 else -1
            agreeing += consensus == label
    return AnnotatorStats(
        annotator_id=annotator.id,
        name=annotator.name,
        samples_done=samples_done,
        votes=votes,
        agreement=agreeing / votes if votes else None,
        reliability=annotator.reliability,
        samples_today=samples_today,
    )
