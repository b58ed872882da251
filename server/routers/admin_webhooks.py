"""Admin: webhooks (register, list, deactivate) and their delivery log."""

from __future__ import annotations

from crlhf_server import webhooks
from crlhf_server.auth import CurrentAdmin
from crlhf_server.deps import Ctx
from fastapi import APIRouter, status

from crlhf.schemas import DbInt, Webhook, WebhookDelivery, WebhookIn

router = APIRouter(prefix="/v1/admin/webhooks", tags=["admin"])


@router.post("", status_code=status.HTTP_201_CREATED)
def register(body: WebhookIn, ctx: Ctx, admin: CurrentAdmin) -> Webhook:
    return webhooks.register(ctx.store, body)


@router.get("")
def list_webhooks(ctx: Ctx, admin: CurrentAdmin) -> list[Webhook]:
    return webhooks.list_webhooks(ctx.store)


@router.delete("/{webhook_id}")
def deactivate(webhook_id: DbInt, ctx: Ctx, admin: CurrentAdmin) -> Webhook:
    """Stop deliveries (the webhook and its log stay, for the record)."""
    return webhooks.deactivate(ctx.store, webhook_id)


@router.get("/deliveries")
def deliveries(
    ctx: Ctx, admin: CurrentAdmin, webhook_id: DbInt | None = None
) -> list[WebhookDelivery]:
    """Every delivery attempt, oldest first."""
    return webhooks.deliveries(ctx.store, webhook_id)
