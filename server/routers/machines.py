"""Machine annotators' routes: tasks with the problem's tests, and partial submissions.

Machine tokens only (``require_machine``); a person's token gets 403 naming the command
to use instead. See :mod:`server.machines`.
"""

from __future__ import annotations

from typing import Annotated

from crlhf_server import machines
from crlhf_server.auth import CurrentMachine
from crlhf_server.clock import now_iso
from crlhf_server.deps import Ctx
from crlhf_server.hooks import after_accept, confident_samples
from crlhf_server.responses import JsonAnswer
from crlhf_server.task_routing import RoutingPolicy
from fastapi import APIRouter, Query, Response, status

from crlhf.schemas import (
    MAX_TASKS_PER_REQUEST,
    ErrorBody,
    MachineSubmission,
    MachineTask,
    SubmissionReceipt,
)

router = APIRouter(prefix="/v1/machines", tags=["machines"])

_TASKS = JsonAnswer(list[MachineTask])
_RECEIPT = JsonAnswer(SubmissionReceipt)


@router.get("/tasks/next", response_model=list[MachineTask])
async def next_tasks(
    ctx: Ctx,
    machine: CurrentMachine,
    count: Annotated[int, Query(ge=1, le=MAX_TASKS_PER_REQUEST)] = 1,
) -> Response:
    with ctx.store.write() as conn:
        tasks = machines.next_tasks(
            conn, machine.id, count, honeypots=ctx.settings.machine_honeypots, now=now_iso()
        )
    return _TASKS(tasks)


@router.post(
    "/submissions",
    status_code=status.HTTP_201_CREATED,
    response_model=SubmissionReceipt,
    responses={code: {"model": ErrorBody} for code in (401, 403, 404, 409, 422)},
)
async def submit(submission: MachineSubmission, ctx: Ctx, machine: CurrentMachine) -> Response:
    before = confident_samples(
        ctx.store.read(), [submission.sample_id], ctx.settings.target_confidence
    )
    policy = RoutingPolicy.from_settings(ctx.settings)
    with ctx.store.write() as conn:
        receipt = machines.submit(conn, ctx.engine, policy, machine.id, submission, now=now_iso())
    after_accept(ctx, machine.id, [receipt], before)
    return _RECEIPT(receipt, status.HTTP_200_OK if receipt.replayed else status.HTTP_201_CREATED)
