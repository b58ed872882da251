"""Liveness: no auth, no database write."""

from __future__ import annotations

from fastapi import APIRouter

from crlhf import __version__
from crlhf.schemas import Health

router = APIRouter(prefix="/v1", tags=["annotator"])


@router.get("/health")
async def health() -> Health:
    return Health(version=__version__)
