"""What every route needs, handed in by a dependency so tests can build their own."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Annotated

from crlhf_server.db import Store
from crlhf_server.rate_limit import RateLimiter
from crlhf_server.settings import Settings
from crlhf_server.webhooks import Dispatcher
from fastapi import Depends, Request

from crlhf.engine.config import EngineConfig


@dataclass
class Context:
    """Everything one app holds for its lifetime, in one place.

    The rate limiter and the webhook dispatcher are built from the settings here (not kept
    in module globals), so two apps in one process never share them and the app's
    lifespan can stop them before the store closes.
    """

    settings: Settings
    store: Store
    engine: EngineConfig
    rng: random.Random = field(default_factory=random.Random)
    """Draws honeypot slots and picks in routing, under the write lock (seeded in tests)."""
    policy_last_run: float = float("-inf")
    """Monotonic time the quality policy last ran after a submission (see server/hooks.py)."""
    rate_limiter: RateLimiter | None = field(init=False)
    webhooks: Dispatcher = field(init=False)

    def __post_init__(self) -> None:
        self.rate_limiter = RateLimiter.from_settings(self.settings)
        self.webhooks = Dispatcher.from_settings(self.store, self.settings)


async def get_context(request: Request) -> Context:
    ctx: Context = request.app.state.context
    return ctx


Ctx = Annotated[Context, Depends(get_context)]
