"""Skipping a served task (see :mod:`server.skips`)."""

from __future__ import annotations

import logging

from crlhf_server import skips
from crlhf_server.auth import CurrentHuman
from crlhf_server.clock import now_iso
from crlhf_server.deps import Ctx
from fastapi import APIRouter, Response, status

from crlhf.schemas import ErrorBody

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/v1", tags=["annotator"])


@router.post(
    "/tasks/{sample_id:path}/skip",  # ids may hold "/"
    status_code=status.HTTP_204_NO_CONTENT,
    responses={code: {"model": ErrorBody} for code in (401, 404, 409)},
)
async def skip_task(sample_id: str, ctx: Ctx, user: CurrentHuman) -> Response:
    """Pass on an open task: it is not served to the caller again and frees its cap slot.

    Idempotent: skipping a task already skipped answers 204 again and changes nothing.
    Within the first ``warmup_window`` tasks at most ``warmup_max_skips`` skips are
    allowed (409 ``skip_refused``).
    """
    settings = ctx.settings
    # No warm-up honeypots, nothing to page through: skips are free.
    window = settings.warmup_window if settings.warmup_honeypots else 0
    limit = settings.warmup_max_skips
    with ctx.store.write() as conn:
        fresh = skips.skip(conn, user.id, sample_id, now_iso(), window=window, max_skips=limit)
    logger.debug("annotator %d skipped %r%s", user.id, sample_id, "" if fresh else " (again)")
    return Response(status_code=status.HTTP_204_NO_CONTENT)
