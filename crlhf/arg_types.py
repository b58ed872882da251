"""Command-line value types shared by several commands, so each is read by one rule.

``KEY=VALUE`` settings: round params travel to the server and back as JSON scalars, and
``crlhf train-round --set`` feeds the same PPO settings, so both read a value the same way:
JSON when it parses as a number, boolean, null or a list of those (``1``, ``0.5``,
``true``, ``["q_proj","v_proj"]``), else the text as given. Objects are refused: no setting
is one.
"""

from __future__ import annotations

import argparse
import json

Scalar = float | int | str | bool | None
Setting = Scalar | list[Scalar]


def parse_key_value(text: str) -> tuple[str, Setting]:
    """An argparse ``type=``: ``epochs=2`` → ``("epochs", 2)``; a bad item names itself."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        return key, raw
    if isinstance(value, dict) or (
        isinstance(value, list) and any(isinstance(item, dict | list) for item in value)
    ):
        raise argparse.ArgumentTypeError(
            f"{key}: only numbers, booleans, text and lists of those are allowed"
        )
    return key, value


def parse_ks(text: str) -> tuple[int, ...]:
    """An argparse ``type=``: ``"1,10"`` → ``(1, 10)``, the k values of pass@k, sorted."""
    try:
        values = tuple(sorted({int(part) for part in text.split(",") if part.strip()}))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a comma-separated list of integers: {text!r}"
        ) from None
    if not values or values[0] < 1:
        raise argparse.ArgumentTypeError("k values must be positive integers")
    return values
