"""Admin: rewards, full refit and the (x, y, s) export."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from crlhf_server import views
from crlhf_server.auth import CurrentAdmin
from crlhf_server.clock import now_iso
from crlhf_server.deps import Ctx
from crlhf_server.export import export_rows
from crlhf_server.machines import refresh_all_targets
from crlhf_server.refit import refit
from crlhf_server.task_routing import RoutingPolicy
from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from crlhf.schemas import (
    EXPORT_SCHEMA_HEADER,
    EXPORT_SCHEMA_VERSION,
    REFIT_HEADER,
    DbInt,
    RefitRequest,
    RefitResult,
    SampleReward,
)

router = APIRouter(prefix="/v1/admin", tags=["admin"])


@router.get("/rewards")
def rewards(
    ctx: Ctx,
    admin: CurrentAdmin,
    problem_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=100_000)] = 10_000,
    offset: Annotated[DbInt, Query(ge=0)] = 0,
) -> list[SampleReward]:
    where, params = ("problem_id = ?", (problem_id,)) if problem_id else ("1 = 1", ())
    rows = ctx.store.read().execute(
        f"SELECT * FROM samples WHERE {where} ORDER BY seq LIMIT ? OFFSET ?",
        (*params, limit, offset),
    )
    return [views.reward(row) for row in rows]


@router.post("/refit")
def run_refit(body: RefitRequest, ctx: Ctx, admin: CurrentAdmin) -> RefitResult:
    with ctx.store.write() as conn:
        result = refit(conn, ctx.engine, body.estimator, dict(body.options), now_iso())
        refresh_all_targets(conn, ctx.engine, RoutingPolicy.from_settings(ctx.settings))
        return result


@router.get(
    "/export",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/x-ndjson": {}}, "description": "ExportRow per line"}},
)
def export(
    ctx: Ctx,
    admin: CurrentAdmin,
    *,
    min_votes: Annotated[DbInt, Query(ge=1)] = 1,
    min_annotators: Annotated[DbInt, Query(ge=1)] = 1,
    estimator: str | None = None,
    refit_first: Annotated[bool, Query(alias="refit")] = True,
) -> StreamingResponse:
    """Refit with ``estimator`` (default: the engine's), unless ``refit=false``, then stream
    one ExportRow per line. The refit's :class:`RefitResult` (what it changed) comes in the
    ``X-Crlhf-Refit`` header; ``X-Crlhf-Export-Schema`` names the rows' schema version."""
    headers = {EXPORT_SCHEMA_HEADER: str(EXPORT_SCHEMA_VERSION)}
    with ctx.store.write() as conn:
        if refit_first:
            result = refit(conn, ctx.engine, estimator, {}, now_iso())
            refresh_all_targets(conn, ctx.engine, RoutingPolicy.from_settings(ctx.settings))
            headers[REFIT_HEADER] = result.model_dump_json()
        rows = export_rows(conn, min_votes, min_annotators)

    def lines() -> Iterator[str]:
        for row in rows:
            yield row.model_dump_json() + "\n"

    return StreamingResponse(lines(), media_type="application/x-ndjson", headers=headers)
