"""Problem files as teams have them, read into :class:`~crlhf.schemas.ProblemIn`.

One JSONL file, one problem per line, in either of two forms (docs/clients.md, "Your own
problems"; ``docs/examples/problems.jsonl``):

- **crlhf rows**: the fields of :class:`~crlhf.schemas.ProblemIn` (``id``, ``title``,
  ``description``, and optionally ``prompt``, ``language``, ``tests``, ``entry_point``,
  ``reference_solution``).
- **HumanEval/MBPP-style rows**, recognised by ``task_id``: ``task_id`` → ``id`` (and the
  title), ``prompt`` → ``prompt`` (and the description, unless ``text`` or ``description``
  gives one), ``test`` → ``tests`` (followed by ``check(entry_point)`` when it defines
  ``check``, as HumanEval's do), ``entry_point``, ``canonical_solution`` → the reference
  (after the prompt); MBPP's ``text``, ``code``, ``test_list`` and ``test_setup_code``
  map to the description, the reference and the tests, with MBPP's standard prompt.

A file is read whole before anything is imported: a bad row is an :class:`InvalidFile`
naming the line and the field, and nothing of the file is used.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from crlhf.errors import InvalidFile
from crlhf.jsonl import describe_error
from crlhf.schemas import ProblemIn

_CHECK = re.compile(r"^def check\(", re.MULTILINE)


def _text(row: dict[str, Any], name: str) -> str | None:
    value = row.get(name)
    if value is not None and not isinstance(value, str):
        raise ValueError(f"{name}: must be a string, not {type(value).__name__}")
    return value


def from_task_row(row: dict[str, Any]) -> dict[str, Any]:
    """A HumanEval/MBPP-style row as :class:`ProblemIn` fields (see the module docstring)."""
    from crlhf.evaluation.mbpp import prompt_for

    task_id = row.pop("task_id")
    if not isinstance(task_id, str | int) or isinstance(task_id, bool):
        raise ValueError("task_id: must be a string or an integer")
    problem_id = str(task_id) if isinstance(task_id, str) else f"mbpp/{task_id}"
    entry_point = _text(row, "entry_point")
    description = _text(row, "description") or _text(row, "text")
    prompt = _text(row, "prompt")
    test_list = row.get("test_list")
    if test_list is not None:
        if not isinstance(test_list, list) or not all(isinstance(t, str) for t in test_list):
            raise ValueError("test_list: must be a list of strings")
        setup = _text(row, "test_setup_code") or ""
        tests: str | None = "\n".join([setup, *test_list]).strip("\n") or None
        if prompt is None and description and test_list:
            prompt = prompt_for(description, test_list[0])
    else:
        tests = _text(row, "test")
        if tests and entry_point and _CHECK.search(tests):
            tests = f"{tests}\ncheck({entry_point})"
    solution = _text(row, "canonical_solution")
    reference = (prompt or "") + solution if solution is not None else _text(row, "code")
    if not description and not prompt:
        raise ValueError("prompt: a task_id row needs a prompt (or text/description)")
    return {
        "id": problem_id,
        "title": _text(row, "title") or problem_id,
        "description": description or prompt,
        "prompt": prompt,
        "language": row.get("language", "python"),
        "entry_point": entry_point,
        "tests": tests,
        "reference_solution": reference,
    }


def parse_row(data: object) -> ProblemIn:
    """One decoded JSON line as a problem, in either form; ValueError or ValidationError."""
    if not isinstance(data, dict):
        raise ValueError("a row must be a JSON object")
    if "task_id" in data:
        return ProblemIn.model_validate(from_task_row(dict(data)))
    return ProblemIn.model_validate(data)


def read_problems(path: Path) -> list[ProblemIn]:
    """Every problem of ``path``, or an :class:`InvalidFile` naming the first bad line."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise InvalidFile(f"{path}: cannot read: {reason}") from exc
    problems: list[ProblemIn] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            problem = parse_row(json.loads(line))
        except json.JSONDecodeError as exc:
            raise InvalidFile(
                f"{path}:{number}: not valid JSON: {exc.msg} (column {exc.colno})"
            ) from exc
        except ValidationError as exc:
            raise InvalidFile(f"{path}:{number}: {describe_error(exc)}") from exc
        except ValueError as exc:
            raise InvalidFile(f"{path}:{number}: {exc}") from exc
        if problem.id in seen:
            raise InvalidFile(
                f"{path}:{number}: id: {problem.id!r} is also on line {seen[problem.id]}"
            )
        seen[problem.id] = number
        problems.append(problem)
    if not problems:
        raise InvalidFile(f"{path}: no problems (the file is empty)")
    return problems
