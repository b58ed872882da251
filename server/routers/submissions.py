"""Receiving submissions, one at a time or in atomic batches."""

from __future__ import annotations

from crlhf_server import submissions
from crlhf_server.auth import CurrentHuman
from crlhf_server.clock import now_iso
from crlhf_server.deps import Ctx
from crlhf_server.hooks import after_accept, confident_samples
from crlhf_server.responses import JsonAnswer
from fastapi import APIRouter, Response, status

from crlhf.errors import InvalidInput
from crlhf.schemas import BatchReceipt, ErrorBody, Submission, SubmissionBatch, SubmissionReceipt

router = APIRouter(prefix="/v1", tags=["annotator"])

_ERRORS: dict[int | str, dict[str, object]] = {
    code: {"model": ErrorBody} for code in (401, 404, 409, 413, 422)
}


_RECEIPT = JsonAnswer(SubmissionReceipt)
_BATCH_RECEIPT = JsonAnswer(BatchReceipt)


@router.post(
    "/submissions",
    status_code=status.HTTP_201_CREATED,
    response_model=SubmissionReceipt,
    responses={200: {"model": SubmissionReceipt, "description": "replayed id"}, **_ERRORS},
)
async def submit(submission: Submission, ctx: Ctx, user: CurrentHuman) -> Response:
    before = confident_samples(
        ctx.store.read(), [submission.sample_id], ctx.settings.target_confidence
    )
    with ctx.store.write() as conn:
        receipt = submissions.accept(conn, ctx.engine, user.id, submission, now=now_iso())
    after_accept(ctx, user.id, [receipt], before)
    return _RECEIPT(receipt, status.HTTP_200_OK if receipt.replayed else status.HTTP_201_CREATED)


@router.post("/submissions/batch", response_model=BatchReceipt, responses=_ERRORS)
async def submit_batch(batch: SubmissionBatch, ctx: Ctx, user: CurrentHuman) -> Response:
    seen: dict[str, int] = {}
    for i, item in enumerate(batch.submissions):
        key = str(item.submission_id)
        if key in seen:
            raise InvalidInput(
                f"submission_id repeats submissions[{seen[key]}]",
                field=f"submissions[{i}].submission_id",
            )
        seen[key] = i
    now = now_iso()
    before = confident_samples(
        ctx.store.read(), [s.sample_id for s in batch.submissions], ctx.settings.target_confidence
    )
    with ctx.store.write() as conn:
        receipts = [
            submissions.accept(
                conn, ctx.engine, user.id, item, now=now, prefix=f"submissions[{i}]."
            )
            for i, item in enumerate(batch.submissions)
        ]
    after_accept(ctx, user.id, receipts, before)
    return _BATCH_RECEIPT(BatchReceipt(receipts=receipts))
