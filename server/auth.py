"""Bearer tokens: random, shown once, stored only as SHA-256 hashes.

A token from ``secrets.token_urlsafe(32)`` has 256 bits of entropy, so a plain (unsalted)
SHA-256 is enough to make a leaked database useless for logging in, and it keeps the
lookup a single indexed equality. Missing, malformed, unknown or disabled token: 401;
a valid token whose role may not call the route: 403; a paused annotator's token: 403
``annotator_paused`` with the reason (server/quality.py).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Annotated

from crlhf_server.deps import Context, get_context
from fastapi import Depends, Header

from crlhf.errors import AnnotatorPaused, AuthenticationFailed, PermissionDenied
from crlhf.schemas import AnnotatorKind, Role


def new_token() -> str:
    """A fresh token that never starts with ``-``: every CLI here takes it as
    ``--token TOKEN``, and argparse reads a value starting with ``-`` as an option (one
    token in 64 used to fail that way). Dropping those costs under 0.03 bits."""
    while (token := secrets.token_urlsafe(32)).startswith("-"):
        pass
    return token


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Principal:
    """The caller, as authenticated for this request."""

    id: int
    name: str
    role: Role
    kind: AnnotatorKind = AnnotatorKind.HUMAN


def _bearer(authorization: str | None) -> str:
    if not authorization:
        raise AuthenticationFailed("missing Authorization header (expected 'Bearer <token>')")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationFailed("malformed Authorization header (expected 'Bearer <token>')")
    return token.strip()


async def authenticate(
    ctx: Annotated[Context, Depends(get_context)],
    authorization: Annotated[str | None, Header()] = None,
) -> Principal:
    """Any active annotator or admin."""
    token_hash = hash_token(_bearer(authorization))
    row = (
        ctx.store.read()
        .execute(
            "SELECT id, name, role, kind, active, paused_at, pause_reason FROM annotators "
            "WHERE token_hash = ?",
            (token_hash,),
        )
        .fetchone()
    )
    if row is None:
        raise AuthenticationFailed("unknown token")
    if not row["active"]:
        raise AuthenticationFailed("this annotator is disabled; ask an admin")
    if row["paused_at"] is not None:
        raise AnnotatorPaused(
            f"you are paused ({row['pause_reason']}); an admin can reinstate you",
            field="token",
        )
    principal = Principal(
        id=int(row["id"]),
        name=str(row["name"]),
        role=Role(row["role"]),
        kind=AnnotatorKind(row["kind"]),
    )
    if principal.role is Role.ANNOTATOR and ctx.rate_limiter is not None:
        ctx.rate_limiter.check(principal.id)
    return principal


async def require_admin(principal: Annotated[Principal, Depends(authenticate)]) -> Principal:
    if principal.role is not Role.ADMIN:
        raise PermissionDenied("this route needs an admin token")
    return principal


async def require_human(principal: Annotated[Principal, Depends(authenticate)]) -> Principal:
    """A person's token: people's task, submission and consensus routes refuse machines,
    so a machine never sees other votes and never takes a person's place in routing."""
    if principal.kind is AnnotatorKind.MACHINE:
        raise PermissionDenied(
            "this is a machine annotator's token; it works only with `crlhf machines run` "
            "(/v1/machines/...), not with a person's client"
        )
    return principal


async def require_machine(principal: Annotated[Principal, Depends(authenticate)]) -> Principal:
    """A machine annotator's token (``crlhf admin create-annotator NAME --machine CHECKER``)."""
    if principal.kind is not AnnotatorKind.MACHINE:
        raise PermissionDenied(
            "this route is for machine annotators only; create one with "
            "`crlhf admin create-annotator NAME --machine CHECKER` and run "
            "`crlhf machines run` with its token"
        )
    return principal


CurrentUser = Annotated[Principal, Depends(authenticate)]
CurrentHuman = Annotated[Principal, Depends(require_human)]
CurrentMachine = Annotated[Principal, Depends(require_machine)]
CurrentAdmin = Annotated[Principal, Depends(require_admin)]
