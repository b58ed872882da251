"""Archiving a sample: an admin takes it out of service without erasing its history.

An archived sample is never served (:mod:`server.task_routing`) nor exported
(:mod:`server.export`); its votes, consensus and reward history stay, so provenance of a
past round still explains every reward it trained on. Archiving cannot be undone by
design: a sample worth serving again is imported again under a new id.
"""

from __future__ import annotations

import sqlite3

from crlhf_server import views

from crlhf.errors import SampleNotFound
from crlhf.schemas import Sample


def archive_sample(conn: sqlite3.Connection, sample_id: str, now: str) -> Sample:
    """Mark ``sample_id`` archived (again: unchanged) and return it. Call inside a write."""
    found = conn.execute("SELECT 1 FROM samples WHERE id = ?", (sample_id,)).fetchone()
    if found is None:
        raise SampleNotFound(f"no sample {sample_id!r}", field="sample_id")
    conn.execute(
        "UPDATE samples SET archived_at = COALESCE(archived_at, ?) WHERE id = ?", (now, sample_id)
    )
    return views.sample(conn.execute("SELECT * FROM samples WHERE id = ?", (sample_id,)).fetchone())
