"""What every route needs, handed in by a dependency so tests can build their own."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Annotated

from crlhf_server.db import Store
from crlhf_server.settings import Settings
from fastapi import Depends, Request

from crlhf.engine.config import EngineConfig


@dataclass
class Context:
    """The per-process state of one app: settings, the store and the engine's config."""

    settings: Settings
    store: Store
    engine: EngineConfig
    rng: random.Random = field(default_factory=random.Random)
    """Draws the steady honeypot rate in routing (seeded in tests)."""
    policy_last_run: float = float("-inf")
    """Monotonic time the quality policy last ran after a submission (see server/hooks.py)."""


async def get_context(request: Request) -> Context:
    ctx: Context = request.app.state.context
    return ctx


Ctx = Annotated[Context, Depends(get_context)]
