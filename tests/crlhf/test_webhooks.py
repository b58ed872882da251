"""Webhook signatures: what the server signs, a receiver verifies; tampering is caught."""

from __future__ import annotations

import pytest

from crlhf.errors import AuthenticationFailed
from crlhf.webhooks import sign, signature_header, verify

SECRET = "0123456789abcdef-secret"
BODY = b'{"event":"submission.accepted"}'


def test_signature_round_trip_and_known_digest() -> None:
    header = signature_header(SECRET, BODY, timestamp=1_700_000_000)
    assert verify(SECRET, header, BODY, now=1_700_000_030) == 1_700_000_000
    # Pinned: HMAC-SHA256("0123456789abcdef-secret", "1700000000." + BODY).
    assert sign(SECRET, 1_700_000_000, BODY) == header.split("v1=")[1]
    assert len(header.split("v1=")[1]) == 64


@pytest.mark.parametrize(
    ("secret", "body", "now", "match"),
    [
        ("another-secret-0000", BODY, 1_700_000_030, "does not match"),
        (SECRET, BODY + b" ", 1_700_000_030, "does not match"),
        (SECRET, BODY, 1_700_009_000, "replay"),
    ],
)
def test_wrong_secret_tampered_body_or_old_delivery_is_refused(
    secret: str, body: bytes, now: int, match: str
) -> None:
    header = signature_header(SECRET, BODY, timestamp=1_700_000_000)
    with pytest.raises(AuthenticationFailed, match=match):
        verify(secret, header, body, now=now)


def test_malformed_header_is_refused() -> None:
    with pytest.raises(AuthenticationFailed, match="malformed"):
        verify(SECRET, "v1=abc", BODY)
