"""The caller's own account and statistics."""

from __future__ import annotations

from crlhf_server import annotators
from crlhf_server.auth import CurrentUser
from crlhf_server.deps import Ctx
from crlhf_server.task_routing import RoutingPolicy
from fastapi import APIRouter

from crlhf.schemas import Annotator, AnnotatorStats

router = APIRouter(prefix="/v1", tags=["annotator"])


@router.get("/me")
async def me(ctx: Ctx, user: CurrentUser) -> Annotator:
    return annotators.get(ctx.store.read(), user.id, own_view=True)


# A plain def (thread pool): it recomputes the shown consensus of every sample the caller
# judged, too long to hold the event loop for annotators with a long history.
@router.get("/me/stats")
def my_stats(ctx: Ctx, user: CurrentUser) -> AnnotatorStats:
    with ctx.store.snapshot() as conn:
        policy = RoutingPolicy.from_settings(ctx.settings)
        cap = ctx.settings.max_annotators_per_sample
        return annotators.stats(conn, ctx.engine, user.id, own_view=True, cap=cap, policy=policy)
