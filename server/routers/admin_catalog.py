"""Admin: problems and samples (import, list, get, per-line consensus)."""

from __future__ import annotations

from typing import Annotated

from crlhf_server import archive, imports, views
from crlhf_server.auth import CurrentAdmin
from crlhf_server.clock import now_iso
from crlhf_server.consensus import line_consensus
from crlhf_server.deps import Ctx
from fastapi import APIRouter, Query

from crlhf.errors import ProblemNotFound, SampleNotFound
from crlhf.schemas import DbInt, ImportResult, LineConsensus, Problem, ProblemIn, Sample, SampleIn

router = APIRouter(prefix="/v1/admin", tags=["admin"])

Limit = Annotated[int, Query(ge=1, le=10_000)]
Offset = Annotated[DbInt, Query(ge=0)]


@router.post("/problems")
def import_problems(body: list[ProblemIn], ctx: Ctx, admin: CurrentAdmin) -> ImportResult:
    with ctx.store.write() as conn:
        return imports.import_problems(conn, body, now_iso())


@router.get("/problems")
def list_problems(
    ctx: Ctx, admin: CurrentAdmin, limit: Limit = 1000, offset: Offset = 0
) -> list[Problem]:
    rows = ctx.store.read().execute(
        "SELECT * FROM problems ORDER BY created_at, id LIMIT ? OFFSET ?", (limit, offset)
    )
    return [views.problem(row) for row in rows]


@router.get("/problems/{problem_id:path}")
def get_problem(problem_id: str, ctx: Ctx, admin: CurrentAdmin) -> Problem:
    row = ctx.store.read().execute("SELECT * FROM problems WHERE id = ?", (problem_id,)).fetchone()
    if row is None:
        raise ProblemNotFound(f"no problem {problem_id!r}", field="problem_id")
    return views.problem(row)


@router.post("/samples")
def import_samples(body: list[SampleIn], ctx: Ctx, admin: CurrentAdmin) -> ImportResult:
    with ctx.store.write() as conn:
        return imports.import_samples(conn, ctx.engine, body, now_iso())


@router.get("/samples")
def list_samples(
    ctx: Ctx,
    admin: CurrentAdmin,
    *,
    problem_id: str | None = None,
    honeypot: bool | None = None,
    round: DbInt | None = None,
    limit: Limit = 1000,
    offset: Offset = 0,
) -> list[Sample]:
    where: list[str] = ["1 = 1"]
    params: list[str | int] = []
    if problem_id is not None:
        where.append("problem_id = ?")
        params.append(problem_id)
    if honeypot is not None:
        where.append("is_honeypot = ?")
        params.append(int(honeypot))
    if round is not None:
        where.append("round = ?")
        params.append(round)
    rows = ctx.store.read().execute(
        f"SELECT * FROM samples WHERE {' AND '.join(where)} ORDER BY seq LIMIT ? OFFSET ?",
        (*params, limit, offset),
    )
    return [views.sample(row) for row in rows]


# Ids may hold "/" (see ProblemIn/SampleIn), hence the path converters; the consensus route
# comes first, or ".../consensus" would be read as part of a sample id.
@router.get("/samples/{sample_id:path}/consensus")
def sample_consensus(sample_id: str, ctx: Ctx, admin: CurrentAdmin) -> list[LineConsensus]:
    with ctx.store.snapshot() as conn:
        if conn.execute("SELECT 1 FROM samples WHERE id = ?", (sample_id,)).fetchone() is None:
            raise SampleNotFound(f"no sample {sample_id!r}", field="sample_id")
        return line_consensus(conn, sample_id, with_comments=True)


@router.post("/samples/{sample_id:path}/archive")
def archive_sample(sample_id: str, ctx: Ctx, admin: CurrentAdmin) -> Sample:
    """Never serve or export the sample again; its votes stay in history and provenance."""
    with ctx.store.write() as conn:
        return archive.archive_sample(conn, sample_id, now_iso())


@router.get("/samples/{sample_id:path}")
def get_sample(sample_id: str, ctx: Ctx, admin: CurrentAdmin) -> Sample:
    row = ctx.store.read().execute("SELECT * FROM samples WHERE id = ?", (sample_id,)).fetchone()
    if row is None:
        raise SampleNotFound(f"no sample {sample_id!r}", field="sample_id")
    return views.sample(row)
