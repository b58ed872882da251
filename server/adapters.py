"""Adapter versions: which exist, which is current, and an admin's choice among them.

A version exists when a succeeded round produced it; nothing else is accepted as a
version (``crlhf admin adapters set v9999`` is refused, and a round cannot claim a version
another round produced). The current adapter is the later of two events: the latest
succeeded round, and the latest admin choice (``set`` or ``rollback``, kept in
``adapter_selections``). So a choice holds until the next round succeeds, and that round,
parented on the chosen version by the worker, becomes current as usual.
"""

from __future__ import annotations

import sqlite3

from crlhf_server import views

from crlhf.errors import AdapterNotFound, Conflict
from crlhf.schemas import AdapterVersion, CurrentAdapter, RoundStatus


def produced(conn: sqlite3.Connection) -> list[AdapterVersion]:
    """Every version a succeeded round produced, oldest first (``current`` not yet set)."""
    rows = conn.execute(
        "SELECT id, adapter_version, finished_at FROM training_rounds "
        "WHERE status = ? AND adapter_version IS NOT NULL ORDER BY finished_at, id",
        (RoundStatus.SUCCEEDED.value,),
    ).fetchall()
    return [
        AdapterVersion(
            version=row["adapter_version"],
            round_id=row["id"],
            finished_at=None
            if row["finished_at"] is None
            else views.parse_time(row["finished_at"]),
        )
        for row in rows
    ]


def current_adapter(conn: sqlite3.Connection) -> CurrentAdapter:
    versions = produced(conn)
    latest = versions[-1] if versions else None
    choice = conn.execute(
        "SELECT version, set_at FROM adapter_selections ORDER BY id DESC LIMIT 1"
    ).fetchone()
    if choice is not None and (
        latest is None
        or latest.finished_at is None
        or views.parse_time(choice["set_at"]) >= latest.finished_at
    ):
        round_id = next((v.round_id for v in versions if v.version == choice["version"]), None)
        return CurrentAdapter(
            version=choice["version"],
            round_id=round_id,
            since=views.parse_time(choice["set_at"]),
            pinned=True,
        )
    if latest is None:
        return CurrentAdapter()
    return CurrentAdapter(
        version=latest.version, round_id=latest.round_id, since=latest.finished_at
    )


def list_versions(conn: sqlite3.Connection) -> list[AdapterVersion]:
    """The produced versions, newest first, the current one flagged."""
    current = current_adapter(conn).version
    return [
        version.model_copy(update={"current": version.version == current})
        for version in reversed(produced(conn))
    ]


def select(conn: sqlite3.Connection, version: str | None, now: str) -> CurrentAdapter:
    """Make ``version`` (None: the base model) current. Call inside a write."""
    if version is not None and version not in {v.version for v in produced(conn)}:
        raise AdapterNotFound(
            f"no succeeded round produced adapter version {version!r}; "
            "see crlhf admin adapters list",
            field="version",
        )
    _record(conn, version, "set", now)
    return current_adapter(conn)


def rollback(conn: sqlite3.Connection, now: str) -> CurrentAdapter:
    """Make the version produced before the current one current (the base model before
    the first). Call inside a write."""
    current = current_adapter(conn)
    if current.version is None:
        raise Conflict("the base model is current; there is nothing to roll back", field="version")
    versions = [v.version for v in produced(conn)]
    index = versions.index(current.version)
    _record(conn, versions[index - 1] if index > 0 else None, "rollback", now)
    return current_adapter(conn)


def check_new_version(conn: sqlite3.Connection, round_id: int, version: str) -> None:
    """A succeeding round must name a version no other round produced."""
    row = conn.execute(
        "SELECT id FROM training_rounds WHERE status = ? AND adapter_version = ? AND id <> ?",
        (RoundStatus.SUCCEEDED.value, version, round_id),
    ).fetchone()
    if row is not None:
        raise Conflict(
            f"adapter version {version!r} was produced by round {row['id']}; versions are "
            "immutable, name a new one",
            field="adapter_version",
        )


def _record(conn: sqlite3.Connection, version: str | None, action: str, now: str) -> None:
    conn.execute(
        "INSERT INTO adapter_selections (version, action, set_at) VALUES (?, ?, ?)",
        (version, action, now),
    )
