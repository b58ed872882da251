"""Annotator accounts and their statistics."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime

from crlhf_server import views
from crlhf_server.auth import hash_token, new_token
from crlhf_server.own_view import shown_posteriors, shown_voters
from crlhf_server.task_routing import RoutingPolicy, tasks_left

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


def set_active(
    conn: sqlite3.Connection, annotator_id: int, active: bool, *, actor_id: int | None = None
) -> Annotator:
    """Enable or disable an account. Call inside a write.

    Disabling is refused (409) for the caller's own account and for the last active admin:
    the server creates an admin only on an empty database, so either would lock every admin
    out (the local recovery is ``crlhf admin reset-token --db``, see docs/server.md).
    """
    target = get(conn, annotator_id)
    if not active and annotator_id == actor_id:
        raise Conflict(
            "you cannot disable your own account; ask another admin", field="annotator_id"
        )
    if not active and target.role is Role.ADMIN and target.active:
        (others,) = conn.execute(
            "SELECT COUNT(*) FROM annotators WHERE role = 'admin' AND active = 1 AND id <> ?",
            (annotator_id,),
        ).fetchone()
        if not others:
            raise Conflict(
                f"annotator {annotator_id} is the last active admin; create or enable "
                "another admin first",
                field="annotator_id",
            )
    conn.execute("UPDATE annotators SET active = ? WHERE id = ?", (int(active), annotator_id))
    return get(conn, annotator_id)


def stats(
    conn: sqlite3.Connection,
    engine: EngineConfig,
    annotator_id: int,
    *,
    own_view: bool = False,
    cap: int | None = None,
    today: datetime | None = None,
    policy: RoutingPolicy | None = None,
) -> AnnotatorStats:
    """Samples done, votes, agreement with the current consensus label, reliability, and
    with a routing ``policy`` the tasks left for them.

    Agreement compares each current vote with its line's posterior (>= 0.5 means correct),
    on lines another annotator also voted on: where the annotator is the only voter the
    consensus is their own vote, and "100 % agreement" would say nothing.
    ``own_view`` (the annotator asking about themselves): reliability and posteriors are
    those of the shown states (see :mod:`server.own_view`), so no number moves because a
    sample was a honeypot; admins get the live ones. ``cap`` (with ``own_view``): the
    consensus is that of at most ``cap`` voters, as :mod:`server.own_view` shows it.
    """
    annotator = get(conn, annotator_id, own_view=own_view)
    day = (today or datetime.now(UTC)).date().isoformat()
    samples_done = samples_today = votes = shared = agreeing = 0
    rows = conn.execute(
        "SELECT s.id AS submission, s.sample_id AS sample_id, s.created_at AS created_at, "
        "m.posteriors AS posteriors FROM submissions s JOIN samples m ON m.id = s.sample_id "
        "WHERE s.annotator_id = ? AND s.is_current = 1",
        (annotator_id,),
    ).fetchall()
    shown: dict[str, dict[int, float]] = {}
    if own_view:
        ids = [r["sample_id"] for r in rows]
        voters = shown_voters(conn, ids, annotator_id, cap) if cap is not None else None
        shown = shown_posteriors(conn, engine, ids, voters)
    for row in rows:
        samples_done += 1
        samples_today += str(row["created_at"]).startswith(day)
        if own_view:
            posteriors = shown[row["sample_id"]]
        else:
            posteriors = {int(k): v for k, v in json.loads(row["posteriors"]).items()}
        others = {
            int(r[0])
            for r in conn.execute(
                "SELECT DISTINCT v.line FROM submissions s JOIN votes v ON v.submission = s.id "
                "WHERE s.sample_id = ? AND s.is_current = 1 AND s.annotator_id <> ?",
                (row["sample_id"], annotator_id),
            )
        }
        for line, label in conn.execute(
            "SELECT line, label FROM votes WHERE submission = ?", (row["submission"],)
        ):
            votes += 1
            if line not in others:
                continue
            shared += 1
            consensus = 1 if posteriors[line] >= 0.5 else -1
            agreeing += consensus == label
    return AnnotatorStats(
        annotator_id=annotator.id,
        name=annotator.name,
        samples_done=samples_done,
        votes=votes,
        agreement=agreeing / shared if shared else None,
        reliability=annotator.reliability,
        samples_today=samples_today,
        tasks_left=None if policy is None else tasks_left(conn, annotator_id, policy),
    )
