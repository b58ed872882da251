"""Handing out tasks (see :mod:`server.task_routing`)."""

from __future__ import annotations

from typing import Annotated

from crlhf_server import leases
from crlhf_server.auth import CurrentHuman
from crlhf_server.clock import now_iso
from crlhf_server.deps import Ctx
from crlhf_server.responses import JsonAnswer
from crlhf_server.task_routing import RoutingPolicy, next_tasks
from fastapi import APIRouter, Query, Response

from crlhf.schemas import MAX_TASKS_PER_REQUEST, Task

router = APIRouter(prefix="/v1", tags=["annotator"])

_TASKS = JsonAnswer(list[Task])


@router.get("/tasks/next", response_model=list[Task])
async def get_next_tasks(
    ctx: Ctx,
    user: CurrentHuman,
    count: Annotated[int, Query(ge=1, le=MAX_TASKS_PER_REQUEST)] = 1,
) -> Response:
    policy = RoutingPolicy.from_settings(ctx.settings)
    now = now_iso()
    with ctx.store.write() as conn:
        leases.expire(conn, now, ctx.settings.task_lease_s)
        tasks = next_tasks(conn, user.id, count, policy, rng=ctx.rng, now=now)
    return _TASKS(tasks)
