"""Schemathesis hooks for tests/server/test_fuzz_api.py (loaded through ``SCHEMATHESIS_HOOKS``).

The fuzzer registers webhooks with whatever URL it generates; the server would then try to
deliver to arbitrary hosts. Every generated webhook URL is pointed at the test's local
receiver (``CRLHF_FUZZ_RECEIVER``) instead, so a fuzz run never reaches past the machine.
"""

from __future__ import annotations

import os
from typing import Any

import schemathesis


@schemathesis.hook
def before_call(context: Any, case: Any, **kwargs: Any) -> None:
    receiver = os.environ.get("CRLHF_FUZZ_RECEIVER")
    if receiver and isinstance(case.body, dict) and "url" in case.body:
        case.body["url"] = receiver
