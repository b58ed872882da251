"""Numbered schema steps for the SQLite files that live on annotators' machines.

The server migrates its database with sqlite-utils' ``Migrations``; a client file (the
offline queue) is tiny and must not need that dependency, so it records its version in
``PRAGMA user_version`` instead. Step N brings a file from version N-1 to N, each in its
own transaction together with the version bump, so a crash mid-upgrade leaves the file at
the last whole step. A file written by a newer crlhf is refused, never rewritten: it may
hold queued votes in a shape this version does not know.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path

from crlhf.errors import InvalidFile


def migrate(db: sqlite3.Connection, steps: Sequence[str], path: Path) -> int:
    """Apply the steps ``db`` has not run yet (``db`` in autocommit mode); return the version.

    A step is an SQL script. Step 1 should be idempotent (``IF NOT EXISTS``) when files
    from before versioning exist: those read as version 0 and already hold its tables.
    """
    version = int(db.execute("PRAGMA user_version").fetchone()[0])
    if version > len(steps):
        raise InvalidFile(
            f"{path} was written by a newer crlhf (schema {version}, this one knows "
            f"{len(steps)}); upgrade crlhf to read it"
        )
    for number, script in enumerate(steps[version:], start=version + 1):
        db.execute("BEGIN IMMEDIATE")
        try:
            for statement in _statements(script):
                db.execute(statement)
            db.execute(f"PRAGMA user_version = {number}")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
    return len(steps)


def _statements(script: str) -> list[str]:
    """Split a script of plain DDL at semicolons (no triggers or string literals with ';')."""
    return [s.strip() for s in script.split(";") if s.strip()]
