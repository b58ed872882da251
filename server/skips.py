"""Skipping a task: the annotator passes on a sample they were served.

A skipped assignment stays in ``assignments`` (so routing never serves the sample to that
annotator again) with ``skipped_at`` set, and gives back what serving it took: its slot
under the per-sample annotator cap (``samples.n_served``) and its place among the
annotator's first q tasks (``annotators.tasks_served``), so a skipped warm-up honeypot is
replaced by another honeypot. Honeypots and ordinary samples are treated alike, so the
answer to a skip says nothing about which one it was.
"""

from __future__ import annotations

import sqlite3

from crlhf.errors import NotServed, SampleNotFound


def skip(conn: sqlite3.Connection, annotator_id: int, sample_id: str, now: str) -> bool:
    """Mark the caller's open assignment of ``sample_id`` skipped. Call inside a write.

    Returns False when it was already skipped (a replay changes nothing). Raises
    :class:`SampleNotFound` for an unknown sample and :class:`NotServed` when it was never
    served to the caller or they already submitted it.
    """
    row = conn.execute(
        "SELECT a.submitted, a.skipped_at, a.annotator_id IS NOT NULL AS served FROM samples s "
        "LEFT JOIN assignments a ON a.sample_id = s.id AND a.annotator_id = ? WHERE s.id = ?",
        (annotator_id, sample_id),
    ).fetchone()
    if row is None:
        raise SampleNotFound(f"no sample {sample_id!r}", field="sample_id")
    if not row["served"] or row["submitted"]:
        raise NotServed(
            f"sample {sample_id!r} is not an open task of yours (never served, or already "
            "submitted); only open tasks can be skipped",
            field="sample_id",
        )
    if row["skipped_at"] is not None:
        return False
    conn.execute(
        "UPDATE assignments SET skipped_at = ? WHERE annotator_id = ? AND sample_id = ?",
        (now, annotator_id, sample_id),
    )
    conn.execute("UPDATE samples SET n_served = n_served - 1 WHERE id = ?", (sample_id,))
    conn.execute(
        "UPDATE annotators SET tasks_served = tasks_served - 1 WHERE id = ?", (annotator_id,)
    )
    return True
