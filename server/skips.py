"""Skipping a task: the annotator passes on a sample they were served.

A skipped assignment stays in ``assignments`` (so routing never serves the sample to that
annotator again) with ``skipped_at`` set, and gives back what serving it took: its slot
under the per-sample annotator cap (``samples.n_served``) and its place in the annotator's
warm-up window (``annotators.tasks_served``); a skipped honeypot does not count toward the
q warm-up honeypots, so another takes its place (server/task_routing.py). While an
annotator is in the window they may skip at most ``warmup_max_skips`` tasks: without the
limit, skipping every task would page through the honeypots. Honeypots and ordinary
samples are treated alike, so the answer to a skip says nothing about which one it was.
"""

from __future__ import annotations

import sqlite3

from crlhf.errors import NotServed, SampleNotFound, SkipRefused


def skip(
    conn: sqlite3.Connection,
    annotator_id: int,
    sample_id: str,
    now: str,
    *,
    window: int = 0,
    max_skips: int = 0,
) -> bool:
    """Mark the caller's open assignment of ``sample_id`` skipped. Call inside a write.

    Returns False when it was already skipped (a replay changes nothing). Raises
    :class:`SampleNotFound` for an unknown sample, :class:`NotServed` when it was never
    served to the caller or they already submitted it, and :class:`SkipRefused` when the
    caller is within their first ``window`` tasks and has skipped ``max_skips`` already.
    """
    row = conn.execute(
        "SELECT a.submitted, a.skipped_at, a.lease_expired_at, "
        "a.annotator_id IS NOT NULL AS served FROM samples s "
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
    (served, skipped) = conn.execute(
        "SELECT tasks_served, (SELECT COUNT(*) FROM assignments WHERE annotator_id = ? "
        "AND skipped_at IS NOT NULL) FROM annotators WHERE id = ?",
        (annotator_id, annotator_id),
    ).fetchone()
    if served <= window and skipped >= max_skips:
        raise SkipRefused(
            f"during your first {window} tasks you may skip {max_skips}; please judge this one",
            field="sample_id",
        )
    conn.execute(
        "UPDATE assignments SET skipped_at = ? WHERE annotator_id = ? AND sample_id = ?",
        (now, annotator_id, sample_id),
    )
    if row["lease_expired_at"] is None:  # an expired lease gave its slot back already
        conn.execute("UPDATE samples SET n_served = n_served - 1 WHERE id = ?", (sample_id,))
    conn.execute(
        "UPDATE annotators SET tasks_served = tasks_served - 1 WHERE id = ?", (annotator_id,)
    )
    return True
