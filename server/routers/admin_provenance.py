"""Admin: provenance of a sample's reward and of a training round (server/provenance.py)."""

from __future__ import annotations

from datetime import UTC, datetime

from crlhf_server import provenance
from crlhf_server.auth import CurrentAdmin
from crlhf_server.clock import now_iso
from crlhf_server.deps import Ctx
from fastapi import APIRouter

from crlhf.errors import InvalidInput
from crlhf.schemas import DbInt, RoundProvenance, SampleProvenance

router = APIRouter(prefix="/v1/admin/provenance", tags=["admin"])


@router.get("/samples/{sample_id:path}")
def sample_provenance(
    sample_id: str, ctx: Ctx, admin: CurrentAdmin, at: datetime | None = None
) -> SampleProvenance:
    """The reward, votes and reliabilities of a sample at ``at`` (default: now)."""
    if at is None:
        when = now_iso()
    else:  # stored times are UTC ISO text (server/clock.py); naive means UTC
        try:
            when = (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(UTC).isoformat()
        except OverflowError:  # e.g. 0001-01-01T00:00+01:00 is before year 1 in UTC
            raise InvalidInput("outside the representable dates", field="at") from None
    with ctx.store.snapshot() as conn:
        return provenance.sample(conn, ctx.engine, sample_id, when)


@router.get("/rounds/{round_id}")
def round_provenance(round_id: DbInt, ctx: Ctx, admin: CurrentAdmin) -> RoundProvenance:
    with ctx.store.snapshot() as conn:
        return provenance.training_round(conn, ctx.engine, round_id)
