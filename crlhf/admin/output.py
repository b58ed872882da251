"""How ``crlhf admin`` prints: an aligned table or ``key: value`` lines, or JSON with --json."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel

from crlhf.tables import Cell, render_table

M = TypeVar("M", bound=BaseModel)


def dump(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def table(
    args: argparse.Namespace,
    models: Sequence[M],
    headers: Sequence[str],
    row: Callable[[M], Sequence[Cell]],
) -> str:
    if args.json:
        return dump([m.model_dump(mode="json") for m in models])
    if not models:
        return "(none)\n"
    return render_table(headers, [row(m) for m in models])


def fields(args: argparse.Namespace, model: BaseModel) -> str:
    """One record as aligned ``key: value`` lines (nested values as compact JSON)."""
    data = model.model_dump(mode="json")
    if args.json:
        return dump(data)
    return key_values(data)


def key_values(data: dict[str, Any]) -> str:
    width = max(len(key) for key in data) + 1
    lines = []
    for key, value in data.items():
        shown = json.dumps(value) if isinstance(value, dict | list) else value
        lines.append(f"{key + ':':<{width}} {'-' if shown is None else shown}")
    return "\n".join(lines) + "\n"
