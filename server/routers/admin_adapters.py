"""Admin: the current adapter, the version new samples and the next round start from."""

from __future__ import annotations

from crlhf_server import rounds
from crlhf_server.auth import CurrentAdmin
from crlhf_server.deps import Ctx
from fastapi import APIRouter

from crlhf.schemas import CurrentAdapter

router = APIRouter(prefix="/v1/admin/adapters", tags=["admin"])


@router.get("/current")
def current_adapter(ctx: Ctx, admin: CurrentAdmin) -> CurrentAdapter:
    """The adapter version of the latest finished succeeded round (null: the base model)."""
    rounds.expire_leases(ctx)
    return rounds.current_adapter(ctx.store.read())
