"""Command names and their arguments, shared by code actions and key bindings.

Every command takes explicit, positional JSON arguments so that an editor key binding
can call it without a code-action round trip:

- ``crlhf.nextTask`` ``[]``: fetch the next sample and open it (window/showDocument).
- ``crlhf.markWrong`` / ``crlhf.markCorrect`` / ``crlhf.clearMark``
  ``[uri, startLine, endLine?]``: 0-based document lines, as LSP counts them (line
  numbers do not depend on the position encoding, so a key binding needs no codec).
- ``crlhf.submit`` ``[uri, {"approveAll": true}?]``: submit; unmarked judged lines count
  as correct. Refused when nothing is marked (unless ``approveAll``) and when the sample
  is already submitted (that takes ``crlhf.revise``).
- ``crlhf.revise`` ``[uri, {"approveAll": true}?]``: submit again, replacing your current
  revision; refused for a sample never submitted.
- ``crlhf.status`` ``[uri?]``: the task's summary (and the queue), without side effects.
- ``crlhf.skip`` ``[uri]``: pass on the sample; the server never serves it to you again.
- ``crlhf.sync`` ``[]``: push submissions waiting in the offline queue.
- ``crlhf.showConsensus`` ``[uri]``: fetch the crowd's per-line consensus again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from crlhf.errors import InvalidInput
from crlhf.schemas import Label

NEXT_TASK = "crlhf.nextTask"
MARK_WRONG = "crlhf.markWrong"
MARK_CORRECT = "crlhf.markCorrect"
CLEAR_MARK = "crlhf.clearMark"
SUBMIT = "crlhf.submit"
REVISE = "crlhf.revise"
STATUS = "crlhf.status"
SKIP = "crlhf.skip"
SYNC = "crlhf.sync"
SHOW_CONSENSUS = "crlhf.showConsensus"

MARK_COMMANDS: dict[str, Label | None] = {
    MARK_WRONG: Label.WRONG,
    MARK_CORRECT: Label.CORRECT,
    CLEAR_MARK: None,
}


@dataclass(frozen=True)
class LineArgs:
    """Arguments of the mark commands: a document and an inclusive range of its lines."""

    uri: str
    start: int
    end: int


def _line(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidInput(f"{name} must be a line number >= 0, got {value!r}", field=name)
    return value


def uri_arg(arguments: Sequence[Any]) -> str:
    if not arguments or not isinstance(arguments[0], str) or not arguments[0]:
        raise InvalidInput("the first argument must be the document URI", field="uri")
    return arguments[0]


def line_args(arguments: Sequence[Any]) -> LineArgs:
    """Parse ``[uri, startLine, endLine?]``."""
    if not 2 <= len(arguments) <= 3:
        raise InvalidInput(
            f"expected [uri, startLine, endLine?], got {len(arguments)} arguments",
            field="arguments",
        )
    start = _line(arguments[1], "startLine")
    end = _line(arguments[2], "endLine") if len(arguments) == 3 else start
    return LineArgs(uri=uri_arg(arguments), start=min(start, end), end=max(start, end))


def approve_all(arguments: Sequence[Any]) -> bool:
    """The ``{"approveAll": true}`` option after the URI: submit with nothing marked."""
    if len(arguments) < 2 or arguments[1] is None:
        return False
    options = arguments[1]
    if not isinstance(options, dict) or not isinstance(options.get("approveAll", False), bool):
        raise InvalidInput('the second argument must be {"approveAll": true|false}')
    return bool(options.get("approveAll", False))
