"""How the templates write numbers and times (a missing value is an em dash, never "None")."""

from __future__ import annotations

from datetime import datetime

MISSING = "—"


def pct(value: float | None) -> str:
    return MISSING if value is None else f"{100 * value:.1f}%"


def num(value: object) -> str:
    if value is None:
        return MISSING
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def when(value: datetime | str | None) -> str:
    """UTC, to the second: the page is read by admins in several time zones."""
    if value is None:
        return MISSING
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")
