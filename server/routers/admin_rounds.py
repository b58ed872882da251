"""Admin: training rounds (the table, the state machine, worker claims and heartbeats).

Every route starts with :func:`server.rounds.expire_leases`, so a round whose worker
stopped reporting is already failed when anyone looks at it.
"""

from __future__ import annotations

from crlhf_server import benchmarks, rounds
from crlhf_server.auth import CurrentAdmin
from crlhf_server.clock import now_iso
from crlhf_server.deps import Ctx
from fastapi import APIRouter, Response, status

from crlhf.schemas import (
    DbInt,
    ErrorBody,
    RoundClaim,
    RoundHeartbeat,
    RoundRegistration,
    RoundStatus,
    RoundTransition,
    TrainingRound,
    TrainingRoundIn,
    WebhookEvent,
)

router = APIRouter(prefix="/v1/admin/rounds", tags=["admin"])


@router.post("", status_code=status.HTTP_201_CREATED)
def create_round(body: TrainingRoundIn, ctx: Ctx, admin: CurrentAdmin) -> TrainingRound:
    with ctx.store.write() as conn:
        return rounds.create(conn, body, now_iso())


@router.post(
    "/register", status_code=status.HTTP_201_CREATED, responses={409: {"model": ErrorBody}}
)
def register_round(body: RoundRegistration, ctx: Ctx, admin: CurrentAdmin) -> TrainingRound:
    """Record a round trained offline (``train-round --data --register``) as succeeded."""
    with ctx.store.write() as conn:
        registered = rounds.register(conn, body, now_iso())
    ctx.webhooks.emit(WebhookEvent.ROUND_CHANGED, registered.model_dump(mode="json"))
    return registered


@router.get("")
def list_rounds(
    ctx: Ctx, admin: CurrentAdmin, status: RoundStatus | None = None
) -> list[TrainingRound]:
    rounds.expire_leases(ctx)
    return rounds.list_rounds(ctx.store.read(), status)


@router.post(
    "/claim",
    response_model=TrainingRound,
    responses={204: {"description": "no round is waiting"}, 422: {"model": ErrorBody}},
)
def claim_round(body: RoundClaim, ctx: Ctx, admin: CurrentAdmin) -> Response | TrainingRound:
    """The oldest requested round, moved to running for ``body.worker`` (204: none waits).

    Atomic: two workers claiming at once get two different rounds, or one gets 204.
    """
    rounds.expire_leases(ctx)
    with ctx.store.write() as conn:
        claimed = rounds.claim(conn, body, now_iso())
    if claimed is None:
        return Response(status_code=status.HTTP_204_NO_CONTENT)
    ctx.webhooks.emit(WebhookEvent.ROUND_CHANGED, claimed.model_dump(mode="json"))
    return claimed


@router.get("/{round_id}")
def get_round(round_id: DbInt, ctx: Ctx, admin: CurrentAdmin) -> TrainingRound:
    """The round with its benchmark results (``benchmarks``; lists leave it out)."""
    rounds.expire_leases(ctx)
    with ctx.store.snapshot() as conn:
        found = rounds.get(conn, round_id)
        results = benchmarks.list_results(conn, round_id=round_id)
    return found.model_copy(update={"benchmarks": results})


@router.post(
    "/{round_id}/retry", status_code=status.HTTP_201_CREATED, responses={409: {"model": ErrorBody}}
)
def retry_round(round_id: int, ctx: Ctx, admin: CurrentAdmin) -> TrainingRound:
    """A new requested round with the same params as failed or cancelled round ``round_id``."""
    rounds.expire_leases(ctx)
    with ctx.store.write() as conn:
        created = rounds.retry(conn, round_id, now_iso())
    ctx.webhooks.emit(WebhookEvent.ROUND_CHANGED, created.model_dump(mode="json"))
    return created


@router.post("/{round_id}/heartbeat", responses={409: {"model": ErrorBody}})
def heartbeat_round(
    round_id: DbInt, body: RoundHeartbeat, ctx: Ctx, admin: CurrentAdmin
) -> TrainingRound:
    """The worker's progress; the answer's ``status`` is ``cancelled`` when it must stop."""
    rounds.expire_leases(ctx)
    with ctx.store.write() as conn:
        return rounds.heartbeat(conn, round_id, body, now_iso())


@router.post("/{round_id}/transition")
def transition_round(
    round_id: DbInt, body: RoundTransition, ctx: Ctx, admin: CurrentAdmin
) -> TrainingRound:
    rounds.expire_leases(ctx)
    with ctx.store.write() as conn:
        changed = rounds.transition(conn, round_id, body, now_iso())
    ctx.webhooks.emit(WebhookEvent.ROUND_CHANGED, changed.model_dump(mode="json"))
    return changed
