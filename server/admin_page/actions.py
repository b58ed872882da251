"""The page's only writes, through the same service functions as the JSON API routes.

Requesting a round is ``rounds.create`` (``POST /v1/admin/rounds``); cancelling is
``rounds.transition`` to cancelled (``POST /v1/admin/rounds/{id}/transition``, what
``crlhf admin rounds cancel`` sends) followed by the same webhook; reinstating and running the
pause policy are ``quality.reinstate`` and ``quality.evaluate``. Each runs in one write
transaction, so a refused action changes nothing.

A cancel carries the state the admin saw when they confirmed: if the round moved since (a
worker claimed it, it finished), the page refuses and says so instead of acting on a round
the admin did not look at. The check and the move share the transaction, so no worker can
slip between them.
"""

from __future__ import annotations

from crlhf_server import quality, rounds
from crlhf_server.auth import Principal
from crlhf_server.clock import now_iso
from crlhf_server.deps import Context
from crlhf_server.hooks import emit_pauses

from crlhf.errors import Conflict
from crlhf.schemas import (
    QualityAction,
    RoundStatus,
    RoundTransition,
    TrainingRound,
    TrainingRoundIn,
    WebhookEvent,
)


def request_round(ctx: Context, body: TrainingRoundIn) -> TrainingRound:
    with ctx.store.write() as conn:
        return rounds.create(conn, body, now_iso())


def cancel_round(ctx: Context, admin: Principal, round_id: int, seen: RoundStatus) -> TrainingRound:
    """Cancel ``round_id`` if it is still in the state ``seen`` when the admin confirmed."""
    rounds.expire_leases(ctx)
    with ctx.store.write() as conn:
        current = rounds.get(conn, round_id)
        if current.status is not seen:
            why = f" ({current.message})" if current.message else ""
            raise Conflict(
                f"Round {round_id} is {current.status.value}{why}, not {seen.value} as when you "
                "loaded the page; nothing was changed. Look at it again before you act.",
                field="status",
            )
        changed = rounds.transition(
            conn,
            round_id,
            RoundTransition(
                status=RoundStatus.CANCELLED, message=f"cancelled by {admin.name} (admin page)"
            ),
            now_iso(),
        )
    ctx.webhooks.emit(WebhookEvent.ROUND_CHANGED, changed.model_dump(mode="json"))
    return changed


def reinstate(
    ctx: Context, admin: Principal, annotator_id: int, reason: str | None
) -> QualityAction:
    with ctx.store.write() as conn:
        return quality.reinstate(conn, annotator_id, f"admin:{admin.name}", reason, now_iso())


def apply_policy(ctx: Context) -> list[QualityAction]:
    """Pause everyone the policy says to pause now (``POST /v1/admin/quality/evaluate``)."""
    with ctx.store.write() as conn:
        taken = quality.evaluate(conn, ctx.settings, now_iso())
    emit_pauses(ctx, taken)
    return taken
