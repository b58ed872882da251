"""JSON Lines files in and out, with errors that name the file and the line.

Admins import problems and samples from JSONL and export the (x, y, s) data set to it;
a typo on line 4,711 of an import must say "line 4711", not print a traceback.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from crlhf.errors import InvalidFile

M = TypeVar("M", bound=BaseModel)


def describe_error(error: ValidationError) -> str:
    """The first problem of a validation error as ``field: message`` (plus a count)."""
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"])
    text = f"{where}: {first['msg']}" if where else str(first["msg"])
    more = error.error_count() - 1
    return text + (f" (and {more} more problem(s))" if more else "")


def read_jsonl(path: Path, model: type[M]) -> list[M]:
    """Parse every non-blank line of ``path`` as one ``model``; all or an :class:`InvalidFile`."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise InvalidFile(f"{path}: cannot read: {reason}") from exc
    items: list[M] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InvalidFile(
                f"{path}:{number}: not valid JSON: {exc.msg} (column {exc.colno})"
            ) from exc
        try:
            items.append(model.model_validate(data))
        except ValidationError as exc:
            raise InvalidFile(
                f"{path}:{number}: not a valid {model.__name__}: {describe_error(exc)}"
            ) from exc
    if not items:
        raise InvalidFile(f"{path}: no records (the file is empty)")
    return items


def write_jsonl(path: Path, items: Iterable[BaseModel]) -> int:
    """Write one JSON object per line, atomically (temp file + rename); return the count."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    count = 0
    try:
        with tmp.open("w", encoding="utf-8") as handle:
            for item in items:
                handle.write(item.model_dump_json() + "\n")
                count += 1
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise InvalidFile(f"{path}: cannot write: {exc.strerror}") from exc
    return count
