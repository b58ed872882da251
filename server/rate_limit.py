"""Per-token rate limits: a token bucket per annotator, in the server process's memory.

Each annotator token may make ``rate_limit_burst`` requests at once and then
``rate_limit_per_minute`` on average; the next request is refused with 429
``rate_limited`` and ``Retry-After`` (the seconds until a token is back in the bucket).
Admin tokens are not limited: imports and refits are admin work and bounded by design.
Buckets live in the app's context (``Context.rate_limiter``, built in ``create_app``; None
when limiting is off): behind several server processes the limit is per process.
Clients retry 429 with backoff (the offline queue keeps the rows pending meanwhile).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from crlhf_server.settings import Settings

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

    @classmethod
    def from_settings(cls, settings: Settings) -> RateLimiter | None:
        """The configured limiter, or None when ``rate_limit_per_minute`` is unset."""
        if settings.rate_limit_per_minute is None:
            return None
        return cls(settings.rate_limit_per_minute, settings.rate_limit_burst)
