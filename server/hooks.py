"""What follows an accepted submission, after its transaction committed: webhook events
(submission accepted, sample reached its target confidence, annotator paused) and the
quality policy's look at the submitter."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Sequence

from crlhf_server import quality
from crlhf_server.clock import now_iso
from crlhf_server.deps import Context

from crlhf.schemas import QualityAction, SubmissionReceipt, WebhookEvent


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


def _policy_due(
    conn: sqlite3.Connection,
    annotator_id: int,
    fresh: Sequence[SubmissionReceipt],
    every: int,
) -> bool:
    """Whether the quality policy should look at the submitter now: after every
    ``every``-th of their submissions, whatever the samples were.

    The policy scans every current submission of the annotator, so running it after each
    one made a submission's cost grow with the whole history (server CPU per submission
    went from about 1.3 ms to 7.8 ms at 80k stored votes). It used to run after every
    honeypot submission as well, since gold evidence moves only there; that made honeypot
    submissions measurably slower (23.5 ms against 3.6 ms median at 88k votes), so the
    latency of a submission told its class. The schedule is now blind to the class: a
    submission's cost depends on how many the annotator made, which they know anyway. A
    pause on gold evidence waits at most ``every - 1`` submissions. The caller also spaces
    runs by ``policy_min_interval_s``: a skipped run only delays a pause to the annotator's
    next due submission, it never loses one.
    """
    (done,) = conn.execute(
        "SELECT COUNT(*) FROM submissions WHERE annotator_id = ? AND is_current = 1",
        (annotator_id,),
    ).fetchone()
    return any((int(done) - k) % every == 0 for k in range(len(fresh)))


def emit_pauses(ctx: Context, taken: Sequence[QualityAction]) -> None:
    for action in taken:
        ctx.webhooks.emit(
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
        ctx.webhooks.emit(
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
        ctx.webhooks.emit(WebhookEvent.SAMPLE_CONFIDENT, {"sample_id": sample_id})
    clock = time.monotonic()
    if (
        ctx.settings.auto_pause
        and clock - ctx.policy_last_run >= ctx.settings.policy_min_interval_s
        and _policy_due(ctx.store.read(), annotator_id, fresh, ctx.settings.policy_check_every)
    ):
        ctx.policy_last_run = clock
        with ctx.store.write() as conn:
            taken = quality.evaluate(conn, ctx.settings, now_iso(), only=annotator_id)
        emit_pauses(ctx, taken)
