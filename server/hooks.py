"""What follows an accepted submission, after its transaction committed: webhook events
(submission accepted, sample reached its target confidence, annotator paused) and the
quality policy's look at the submitter."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence

from crlhf.schemas import QualityAction, SubmissionReceipt, WebhookEvent
from server import quality, webhooks
from server.clock import now_iso
from server.deps import Context


def confident_samples(
    conn: sqlite3.Connection, sample_ids: Iterable[str], target: float
) -> set[str]:
    """The samples among ``sample_ids`` whose every judged line has a posterior at least
    ``target`` or at most 1 − ``target`` (and that have votes)."""
    ids = sorted(set(sample_ids))
    if not ids:
        return set()
    marks = ",".join("?" * len(ids))
    rows = conn.execute(
        f"SELECT id, posteriors, judged_lines, n_votes FROM samples WHERE id IN ({marks})", ids
    )
    out = set()
    for row in rows:
        posteriors = json.loads(row["posteriors"])
        judged = json.loads(row["judged_lines"])
        if row["n_votes"] and all(
            str(n) in posteriors and max(posteriors[str(n)], 1.0 - posteriors[str(n)]) >= target
            for n in judged
        ):
            out.add(str(row["id"]))
    return out


def emit_pauses(ctx: Context, taken: Sequence[QualityAction]) -> None:
    for action in taken:
        webhooks.emit(
            ctx,
            WebhookEvent.ANNOTATOR_PAUSED,
            {"annotator_id": action.annotator_id, "reason": action.reason, "by": action.actor},
        )


def after_accept(
    ctx: Context,
    annotator_id: int,
    receipts: Sequence[SubmissionReceipt],
    confident_before: set[str],
) -> None:
    fresh = [r for r in receipts if not r.replayed]
    if not fresh:
        return
    for receipt in fresh:
        webhooks.emit(
            ctx,
            WebhookEvent.SUBMISSION_ACCEPTED,
            {
                "submission_id": str(receipt.submission_id),
                "sample_id": receipt.sample_id,
                "annotator_id": annotator_id,
                "revision": receipt.revision,
            },
        )
    now_confident = confident_samples(
        ctx.store.read(), (r.sample_id for r in fresh), ctx.settings.target_confidence
    )
    for sample_id in sorted(now_confident - confident_before):
        webhooks.emit(ctx, WebhookEvent.SAMPLE_CONFIDENT, {"sample_id": sample_id})
    if ctx.settings.auto_pause:
        with ctx.store.write() as conn:
            taken = quality.evaluate(conn, ctx.settings, now_iso(), only=annotator_id)
        emit_pauses(ctx, taken)
