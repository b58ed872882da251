"""Task leases: a task served and never judged gives its slot back after a while.

Routing caps how many people a sample is served to (``samples.n_served`` against
``max_annotators_per_sample``). Without a lease, an annotator who fetches a task and walks
away holds that slot forever, and the sample never gets its last judgements. With
``task_lease_s`` set, an assignment still open that long after it was served expires: its
slot returns to the pool (``n_served`` − 1) and it is no longer served back to its
annotator as an open task. Expiry is lazy, swept at the start of every task request, so it
needs no timer and follows the request's clock (tests pass their own ``now``).

A late judgement is not lost: the assignment row stays, so a client that still holds the
task (a TUI buffer, an editor's task file, an offline queue) submits it as usual; the
annotator takes a slot again then (``n_served`` + 1), once, however often the submission is
replayed.
"""

from __future__ import annotations

import sqlite3
from datetime import timedelta

from crlhf_server.views import parse_time

OPEN_LEASE = "a.lease_expired_at IS NULL"
"""An assignment whose lease has not run out (see :func:`expire`)."""


def expire(conn: sqlite3.Connection, now: str, lease_s: float | None) -> int:
    """Expire the open assignments served more than ``lease_s`` before ``now``; return how
    many. Call inside a write."""
    if lease_s is None:
        return 0
    cutoff = (parse_time(now) - timedelta(seconds=lease_s)).isoformat()
    expired = conn.execute(
        "SELECT annotator_id, sample_id FROM assignments WHERE submitted = 0 "
        "AND skipped_at IS NULL AND lease_expired_at IS NULL AND served_at < ?",
        (cutoff,),
    ).fetchall()
    if expired:
        conn.executemany(
            "UPDATE assignments SET lease_expired_at = ? WHERE annotator_id = ? AND sample_id = ?",
            [(now, r["annotator_id"], r["sample_id"]) for r in expired],
        )
        conn.executemany(
            "UPDATE samples SET n_served = MAX(n_served - 1, 0) WHERE id = ?",
            [(r["sample_id"],) for r in expired],
        )
    return len(expired)


def reclaim(conn: sqlite3.Connection, annotator_id: int, sample_id: str) -> bool:
    """A judgement of an expired task arrived: its annotator holds a slot again. True when
    the assignment had expired (only the first such judgement counts). Call inside a write."""
    reclaimed = conn.execute(
        "UPDATE assignments SET lease_expired_at = NULL "
        "WHERE annotator_id = ? AND sample_id = ? AND lease_expired_at IS NOT NULL",
        (annotator_id, sample_id),
    ).rowcount
    if reclaimed:
        conn.execute("UPDATE samples SET n_served = n_served + 1 WHERE id = ?", (sample_id,))
    return bool(reclaimed)
