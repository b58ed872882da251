"""What an annotator may see of a sample after judging it: the crowd's consensus."""

from __future__ import annotations

from crlhf_server.auth import CurrentHuman
from crlhf_server.consensus import line_consensus
from crlhf_server.deps import Ctx
from crlhf_server.own_view import shown_posteriors
from fastapi import APIRouter

from crlhf.errors import NotServed, SampleNotFound
from crlhf.schemas import LineConsensus

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
        shown = shown_posteriors(conn, ctx.engine, [sample_id])[sample_id]
        return line_consensus(conn, sample_id, shown)
