"""Per-token rate limits: a token bucket per annotator, in the server process's memory.

Each annotator token may make ``rate_limit_burst`` requests at once and then
``rate_limit_per_minute`` on average; the next request is refused with 429
``rate_limited`` and ``Retry-After`` (the seconds until a token is back in the bucket).
Admin tokens are not limited: imports and refits are admin work and bounded by design.
Buckets live per process: behind several server processes the limit is per process.
Clients retry 429 with backoff (the offline queue keeps the rows pending meanwhile).
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass

from crlhf_server.db import Store
from crlhf_server.deps import Context

from crlhf.errors import RateLimited


@dataclass
class _Bucket:
    tokens: float
    stamp: float


class RateLimiter:
    """Token buckets keyed by annotator id; thread-safe."""

    def __init__(
        self, per_minute: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._rate = per_minute / 60.0
        self._burst = float(burst)
        self._clock = clock
        self._buckets: dict[int, _Bucket] = {}
        self._lock = threading.Lock()

    def check(self, key: int) -> None:
        """Take one token for ``key`` or raise :class:`RateLimited` with the wait."""
        now = self._clock()
        with self._lock:
            bucket = self._buckets.setdefault(key, _Bucket(self._burst, now))
            bucket.tokens = min(self._burst, bucket.tokens + (now - bucket.stamp) * self._rate)
            bucket.stamp = now
            if bucket.tokens < 1.0:
                wait = (1.0 - bucket.tokens) / self._rate
                raise RateLimited(
                    f"too many requests for this token; retry in {wait:.1f} s",
                    retry_after_s=wait,
                )
            bucket.tokens -= 1.0


_LIMITERS: weakref.WeakKeyDictionary[Store, RateLimiter] = weakref.WeakKeyDictionary()
_LIMITERS_LOCK = threading.Lock()


def check(ctx: Context, annotator_id: int) -> None:
    """Apply the configured limit to one request of ``annotator_id`` (no-op when off)."""
    per_minute = ctx.settings.rate_limit_per_minute
    if per_minute is None:
        return
    with _LIMITERS_LOCK:
        limiter = _LIMITERS.get(ctx.store)
        if limiter is None:
            limiter = RateLimiter(per_minute, ctx.settings.rate_limit_burst)
            _LIMITERS[ctx.store] = limiter
    limiter.check(annotator_id)
