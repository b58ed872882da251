"""Webhook signatures: HMAC-SHA256 over ``<timestamp>.<body>``, shared by server and receivers.

The server sends ``X-Crlhf-Signature: t=<unix seconds>,v1=<hex digest>``. Signing the
timestamp with the body lets a receiver refuse replays (an old, valid delivery sent
again) by checking the age; comparing digests in constant time keeps the secret from
leaking through timing. A receiver needs only this module (standard library).
"""

from __future__ import annotations

import hashlib
import hmac
import time

from crlhf.errors import AuthenticationFailed

__all__ = ["SIGNATURE_HEADER", "sign", "signature_header", "verify"]

SIGNATURE_HEADER = "X-Crlhf-Signature"
EVENT_HEADER = "X-Crlhf-Event"


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """Hex HMAC-SHA256 of ``<timestamp>.<body>`` under ``secret``."""
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_header(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """The value of :data:`SIGNATURE_HEADER` for ``body``."""
    ts = int(time.time()) if timestamp is None else timestamp
    return f"t={ts},v1={sign(secret, ts, body)}"


def verify(
    secret: str, header: str, body: bytes, *, tolerance_s: float = 300.0, now: float | None = None
) -> int:
    """Check a delivery; return its timestamp, or raise
    :class:`~crlhf.errors.AuthenticationFailed` (bad format, bad signature, too old).

    >>> h = signature_header("s3cret", b'{"a": 1}', timestamp=1_700_000_000)
    >>> verify("s3cret", h, b'{"a": 1}', now=1_700_000_010)
    1700000000
    """
    parts = dict(item.partition("=")[::2] for item in header.split(","))
    try:
        timestamp = int(parts["t"])
        digest = parts["v1"]
    except (KeyError, ValueError):
        raise AuthenticationFailed("malformed webhook signature header") from None
    if not hmac.compare_digest(sign(secret, timestamp, body), digest):
        raise AuthenticationFailed("webhook signature does not match")
    age = (time.time() if now is None else now) - timestamp
    if abs(age) > tolerance_s:
        raise AuthenticationFailed(f"webhook timestamp is {age:.0f} s off (replay?)")
    return timestamp
