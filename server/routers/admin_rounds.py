"""Admin: training rounds (the table, the state machine and its endpoints)."""

from __future__ import annotations

from fastapi import APIRouter, status

from crlhf.schemas import (
    RoundStatus,
    RoundTransition,
    TrainingRound,
    TrainingRoundIn,
    WebhookEvent,
)
from server import benchmarks, rounds, webhooks
from server.auth import CurrentAdmin
from server.clock import now_iso
from server.deps import Ctx

router = APIRouter(prefix="/v1/admin/rounds", tags=["admin"])


@router.post("", status_code=status.HTTP_201_CREATED)
def create_round(body: TrainingRoundIn, ctx: Ctx, admin: CurrentAdmin) -> TrainingRound:
    with ctx.store.write() as conn:
        return rounds.create(conn, body, now_iso())


@router.get("")
def list_rounds(
    ctx: Ctx, admin: CurrentAdmin, status: RoundStatus | None = None
) -> list[TrainingRound]:
    return rounds.list_rounds(ctx.store.read(), status)


@router.get("/{round_id}")
def get_round(round_id: int, ctx: Ctx, admin: CurrentAdmin) -> TrainingRound:
    """The round with its benchmark results (``benchmarks``; lists leave it out)."""
    with ctx.store.snapshot() as conn:
        found = rounds.get(conn, round_id)
        results = benchmarks.list_results(conn, round_id=round_id)
    return found.model_copy(update={"benchmarks": results})


@router.post("/{round_id}/transition")
def transition_round(
    round_id: int, body: RoundTransition, ctx: Ctx, admin: CurrentAdmin
) -> TrainingRound:
    with ctx.store.write() as conn:
        changed = rounds.transition(conn, round_id, body, now_iso())
    webhooks.emit(ctx, WebhookEvent.ROUND_CHANGED, changed.model_dump(mode="json"))
    return changed
