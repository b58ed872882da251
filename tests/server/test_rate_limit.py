"""Per-token rate limits: 429 rate_limited with Retry-After; admins and others unaffected."""

from __future__ import annotations

from typing import Any

import pytest
from crlhf_server.rate_limit import RateLimiter

from crlhf.errors import RateLimited
from tests.server.conftest import Api


def test_token_bucket_refills_at_the_configured_rate() -> None:
    now = [0.0]
    limiter = RateLimiter(per_minute=60, burst=2, clock=lambda: now[0])
    limiter.check(1)
    limiter.check(1)
    with pytest.raises(RateLimited) as refused:
        limiter.check(1)
    assert refused.value.retry_after_s == pytest.approx(1.0)
    limiter.check(2)  # another token has its own bucket
    now[0] = 1.0  # one second at one request per second: one token back
    limiter.check(1)
    with pytest.raises(RateLimited):
        limiter.check(1)


def test_server_answers_429_with_retry_after(make_api: Any) -> None:
    api: Api = make_api(rate_limit_per_minute=6, rate_limit_burst=3)
    ann, bob = api.annotator("ann"), api.annotator("bob")
    codes = [api.client.get("/v1/me", headers=ann).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    refused = api.client.get("/v1/me", headers=ann)
    assert refused.json()["code"] == "rate_limited"
    assert refused.headers["Retry-After"] == "10"  # 6 a minute: one every 10 s
    assert api.client.get("/v1/me", headers=bob).status_code == 200
    admin = [api.client.get("/v1/admin/annotators", headers=api.admin) for _ in range(5)]
    assert all(r.status_code == 200 for r in admin)


def test_no_limit_by_default(api: Api) -> None:
    ann = api.annotator("ann")
    assert all(api.client.get("/v1/me", headers=ann).status_code == 200 for _ in range(100))
