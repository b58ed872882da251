"""What an annotator may see of a sample after judging it: the consensus and their own votes."""

from __future__ import annotations

from crlhf_server.auth import CurrentHuman
from crlhf_server.consensus import line_consensus
from crlhf_server.deps import Ctx
from crlhf_server.own_view import shown_posteriors, shown_voters
from fastapi import APIRouter

from crlhf.errors import NotFound, NotServed, SampleNotFound
from crlhf.schemas import LineConsensus, LineLabel, OwnSubmission

router = APIRouter(prefix="/v1", tags=["annotator"])


@router.get("/samples/{sample_id:path}/consensus")  # ids may hold "/"
async def consensus(sample_id: str, ctx: Ctx, user: CurrentHuman) -> list[LineConsensus]:
    with ctx.store.snapshot() as conn:
        if conn.execute("SELECT 1 FROM samples WHERE id = ?", (sample_id,)).fetchone() is None:
            raise SampleNotFound(f"no sample {sample_id!r}", field="sample_id")
        submitted = conn.execute(
            "SELECT 1 FROM submissions WHERE annotator_id = ? AND sample_id = ? LIMIT 1",
            (user.id, sample_id),
        ).fetchone()
        if submitted is None:
            raise NotServed(
                f"submit your own judgement of sample {sample_id!r} before seeing the consensus",
                field="sample_id",
            )
        voters = shown_voters(conn, [sample_id], user.id, ctx.settings.max_annotators_per_sample)
        shown = shown_posteriors(conn, ctx.engine, [sample_id], voters)[sample_id]
        return line_consensus(conn, sample_id, shown, voters[sample_id])


@router.get("/samples/{sample_id:path}/mine")
async def my_submission(sample_id: str, ctx: Ctx, user: CurrentHuman) -> OwnSubmission:
    """The caller's current revision of a sample: an editor reopening a task shows it."""
    with ctx.store.snapshot() as conn:
        row = conn.execute(
            "SELECT id, submission_id, revision, created_at FROM submissions "
            "WHERE annotator_id = ? AND sample_id = ? AND is_current = 1",
            (user.id, sample_id),
        ).fetchone()
        if row is None:
            raise NotFound(f"you have not submitted sample {sample_id!r}", field="sample_id")
        labels = [
            LineLabel(line=r[0], label=r[1], comment=r[2])
            for r in conn.execute(
                "SELECT line, label, comment FROM votes WHERE submission = ? ORDER BY line",
                (row["id"],),
            )
        ]
    return OwnSubmission(
        sample_id=sample_id,
        submission_id=row["submission_id"],
        revision=row["revision"],
        submitted_at=row["created_at"],
        labels=labels,
    )
