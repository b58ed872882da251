"""Admin: benchmark results per training round (posted by ``crlhf bench --server``)."""

from __future__ import annotations

from crlhf_server import benchmarks
from crlhf_server.auth import CurrentAdmin
from crlhf_server.clock import now_iso
from crlhf_server.deps import Ctx
from crlhf_server.responses import JsonAnswer
from fastapi import APIRouter, Response, status

from crlhf.schemas import BenchmarkResult, BenchmarkResultIn, DbInt, ErrorBody, WebhookEvent

router = APIRouter(prefix="/v1/admin/benchmarks", tags=["admin"])

_RESULT = JsonAnswer(BenchmarkResult)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=BenchmarkResult,
    responses={
        200: {"model": BenchmarkResult, "description": "replaced the result of this run_id"},
        404: {"model": ErrorBody},
        422: {"model": ErrorBody},
    },
)
def post_result(body: BenchmarkResultIn, ctx: Ctx, admin: CurrentAdmin) -> Response:
    with ctx.store.write() as conn:
        result, created = benchmarks.record(conn, body, now_iso())
    ctx.webhooks.emit(WebhookEvent.BENCHMARK_FINISHED, result.model_dump(mode="json"))
    return _RESULT(result, status.HTTP_201_CREATED if created else status.HTTP_200_OK)


@router.get("")
def list_results(
    ctx: Ctx, admin: CurrentAdmin, round: DbInt | None = None, suite: str | None = None
) -> list[BenchmarkResult]:
    """Results oldest round first: the baseline (``round`` null), then round 1, 2, ..."""
    return benchmarks.list_results(ctx.store.read(), round_id=round, suite=suite)
