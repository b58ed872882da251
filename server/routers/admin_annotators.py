"""Admin: annotator accounts, their stats and reliability history."""

from __future__ import annotations

from crlhf_server import annotators, views
from crlhf_server.auth import CurrentAdmin
from crlhf_server.clock import now_iso
from crlhf_server.deps import Ctx
from crlhf_server.task_routing import RoutingPolicy
from fastapi import APIRouter, status

from crlhf.schemas import (
    Annotator,
    AnnotatorCreated,
    AnnotatorIn,
    AnnotatorStats,
    DbInt,
    ReliabilitySnapshot,
)

router = APIRouter(prefix="/v1/admin/annotators", tags=["admin"])


@router.post("", status_code=status.HTTP_201_CREATED)
def create_annotator(body: AnnotatorIn, ctx: Ctx, admin: CurrentAdmin) -> AnnotatorCreated:
    with ctx.store.write() as conn:
        return annotators.create(
            conn,
            ctx.engine,
            body.name,
            body.role,
            now=now_iso(),
            kind=body.kind,
            checker=body.checker,
            checker_version=body.checker_version,
        )


@router.get("")
def list_annotators(ctx: Ctx, admin: CurrentAdmin) -> list[Annotator]:
    rows = ctx.store.read().execute("SELECT * FROM annotators ORDER BY id")
    return [views.annotator(row) for row in rows]


@router.get("/{annotator_id}")
def get_annotator(annotator_id: DbInt, ctx: Ctx, admin: CurrentAdmin) -> Annotator:
    return annotators.get(ctx.store.read(), annotator_id)


@router.post("/{annotator_id}/disable")
def disable_annotator(annotator_id: DbInt, ctx: Ctx, admin: CurrentAdmin) -> Annotator:
    with ctx.store.write() as conn:
        return annotators.set_active(conn, annotator_id, active=False, actor_id=admin.id)


@router.post("/{annotator_id}/enable")
def enable_annotator(annotator_id: DbInt, ctx: Ctx, admin: CurrentAdmin) -> Annotator:
    with ctx.store.write() as conn:
        return annotators.set_active(conn, annotator_id, active=True)


@router.get("/{annotator_id}/stats")
def annotator_stats(annotator_id: DbInt, ctx: Ctx, admin: CurrentAdmin) -> AnnotatorStats:
    with ctx.store.snapshot() as conn:
        policy = RoutingPolicy.from_settings(ctx.settings)
        return annotators.stats(conn, ctx.engine, annotator_id, policy=policy)


@router.get("/{annotator_id}/reliability")
def reliability_history(
    annotator_id: DbInt, ctx: Ctx, admin: CurrentAdmin
) -> list[ReliabilitySnapshot]:
    conn = ctx.store.read()
    annotators.get(conn, annotator_id)
    rows = conn.execute(
        "SELECT h.annotator_id, h.reliability, h.source, s.submission_id, h.created_at "
        "FROM reliability_history h LEFT JOIN submissions s ON s.id = h.submission "
        "WHERE h.annotator_id = ? ORDER BY h.id",
        (annotator_id,),
    )
    return [
        ReliabilitySnapshot(
            annotator_id=r["annotator_id"],
            reliability=r["reliability"],
            source=r["source"],
            submission_id=r["submission_id"],
            created_at=views.parse_time(r["created_at"]),
        )
        for r in rows
    ]
