"""Admin: adapter versions, the current one (new samples and the next round start from
it), and an admin's choice of it (set, rollback)."""

from __future__ import annotations

from crlhf_server import adapters, rounds
from crlhf_server.auth import CurrentAdmin
from crlhf_server.clock import now_iso
from crlhf_server.deps import Ctx
from fastapi import APIRouter

from crlhf.schemas import AdapterSelect, AdapterVersion, CurrentAdapter, ErrorBody

router = APIRouter(prefix="/v1/admin/adapters", tags=["admin"])


@router.get("")
def list_adapters(ctx: Ctx, admin: CurrentAdmin) -> list[AdapterVersion]:
    """The versions succeeded rounds produced, newest first, the current one flagged."""
    rounds.expire_leases(ctx)
    return adapters.list_versions(ctx.store.read())


@router.get("/current")
def current_adapter(ctx: Ctx, admin: CurrentAdmin) -> CurrentAdapter:
    """The latest succeeded round's version, or the one an admin chose since (null: base)."""
    rounds.expire_leases(ctx)
    return adapters.current_adapter(ctx.store.read())


@router.post("/current", responses={404: {"model": ErrorBody}})
def set_adapter(body: AdapterSelect, ctx: Ctx, admin: CurrentAdmin) -> CurrentAdapter:
    """Make a produced version (null: the base model) current until the next round succeeds."""
    with ctx.store.write() as conn:
        return adapters.select(conn, body.version, now_iso())


@router.post("/rollback", responses={409: {"model": ErrorBody}})
def rollback_adapter(ctx: Ctx, admin: CurrentAdmin) -> CurrentAdapter:
    """Make the version produced before the current one current (the base model first)."""
    with ctx.store.write() as conn:
        return adapters.rollback(conn, now_iso())
