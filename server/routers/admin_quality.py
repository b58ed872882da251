"""Admin: the quality policy's view of annotators, pausing and reinstating, the action log,
and agreement metrics (see server/quality.py and docs/quality.md)."""

from __future__ import annotations

from crlhf_server import quality
from crlhf_server.auth import CurrentAdmin
from crlhf_server.clock import now_iso
from crlhf_server.deps import Ctx
from crlhf_server.hooks import emit_pauses
from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from crlhf.schemas import AgreementReport, AnnotatorQuality, DbInt, QualityAction

router = APIRouter(prefix="/v1/admin/quality", tags=["admin"])


class ReinstateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(default=None, max_length=2_000)


@router.get("/annotators")
def annotators(ctx: Ctx, admin: CurrentAdmin, flagged: bool = False) -> list[AnnotatorQuality]:
    """Every annotator with the policy's verdict; ``flagged=true``: only those down-weighted,
    lazy or paused."""
    with ctx.store.snapshot() as conn:
        rows = quality.report(conn, ctx.settings)
    return [r for r in rows if not flagged or r.action != "none" or r.lazy]


@router.post("/evaluate")
def evaluate(ctx: Ctx, admin: CurrentAdmin) -> list[QualityAction]:
    """Apply the policy to every annotator now; returns the pauses it made."""
    with ctx.store.write() as conn:
        taken = quality.evaluate(conn, ctx.settings, now_iso())
    emit_pauses(ctx, taken)
    return taken


@router.post("/annotators/{annotator_id}/reinstate")
def reinstate(
    annotator_id: DbInt, ctx: Ctx, admin: CurrentAdmin, body: ReinstateIn | None = None
) -> QualityAction:
    with ctx.store.write() as conn:
        return quality.reinstate(
            conn, annotator_id, f"admin:{admin.name}", body.reason if body else None, now_iso()
        )


@router.get("/actions")
def actions(
    ctx: Ctx, admin: CurrentAdmin, annotator_id: DbInt | None = None
) -> list[QualityAction]:
    return quality.actions(ctx.store.read(), annotator_id)


@router.get("/agreement")
def agreement(
    ctx: Ctx, admin: CurrentAdmin, problem_id: str | None = None, round: DbInt | None = None
) -> AgreementReport:
    with ctx.store.snapshot() as conn:
        return quality.agreement(conn, problem_id, round)
