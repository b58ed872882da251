"""Code out of a chat reply, with the exact place of every extracted line in the reply.

An instruct model answers in prose around a fenced block, so what annotators judge and
the sandbox runs (the *code*) is not what the model produced (the *reply*), while PPO
trains on the reply's tokens. The rule that ties them together:

* The code is made of whole lines of the reply, copied verbatim and joined with ``\\n``.
  Line ``i`` of the code is ``reply[start_i:end_i]`` for its span ``(start_i, end_i)``
  (``end_i`` excludes the line break: ``\\r\\n``, ``\\r`` or ``\\n``, as
  :func:`crlhf.schemas.split_code` breaks lines), so a vote on a code line is a vote on
  those characters of the reply.
* Extraction: the first fenced block (```` ```python ```` or bare ```` ``` ````; an
  unclosed fence, as when the reply ran out of tokens, runs to the end) that parses, else
  the first that exists; without a fence, the longest prefix of the reply, starting at its
  first line that opens Python code (``def``, ``class``, ``import``, ``from``, ``@``), that
  parses. Of that chunk, the top-level statements a program needs are kept: imports,
  function and class definitions, assignments; bare expressions (example calls, prints),
  ``if __name__ == "__main__":`` blocks and top-level asserts are dropped.
* A reply with no such code gives an empty extraction (``method == "none"``): the policy
  failed, and the sample is kept and counted, not dropped.

Token side (:mod:`crlhf.generation.offsets`): each response token owns the reply
characters that appear when it is decoded after the tokens before it.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import Literal

Method = Literal["fence", "prefix", "whole", "none"]

_FENCE = re.compile(r"^[ \t]*```[ \t]*([A-Za-z0-9_+-]*)[ \t]*$")
_CODE_START = re.compile(r"^(def |class |import |from |@|async def )")
_LANGUAGES = {"", "python", "py", "python3"}
_BREAK = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True)
class Extraction:
    """The code of a reply and where each of its lines sits in the reply."""

    code: str
    spans: tuple[tuple[int, int], ...]
    """(start, end) character offsets into the reply of each code line (end exclusive,
    newline excluded); ``code == "\\n".join(reply[s:e] for s, e in spans)``."""
    method: Method

    @property
    def found(self) -> bool:
        return bool(self.code.strip())


NOTHING = Extraction("", (), "none")


def _lines(reply: str) -> list[tuple[int, int]]:
    """(start, end) of every line of the reply, line break excluded.

    Lines break where :func:`crlhf.schemas.split_code` breaks them (``\\r\\n``, ``\\r``,
    ``\\n``): a reply line holding a bare ``\\r`` would otherwise become two code lines
    for annotators and line credit but one span here, and every later line's vote would
    land on the wrong characters."""
    spans, start = [], 0
    for match in _BREAK.finditer(reply):
        spans.append((start, match.start()))
        start = match.end()
    spans.append((start, len(reply)))
    return spans


def _parses(text: str) -> ast.Module | None:
    try:
        return ast.parse(text)
    except (SyntaxError, ValueError):
        return None


def _fenced_blocks(reply: str, lines: list[tuple[int, int]]) -> list[list[int]]:
    """Line indices of each fenced block's body (fences excluded), in reply order."""
    blocks: list[list[int]] = []
    current: list[int] | None = None
    for index, (start, end) in enumerate(lines):
        match = _FENCE.match(reply[start:end])
        if current is None:
            if match and match.group(1).lower() in _LANGUAGES:
                current = []
        elif match and not match.group(1):
            blocks.append(current)
            current = None
        else:
            current.append(index)
    if current:  # unclosed: the reply ran out of tokens inside the block
        blocks.append(current)
    return blocks


def _is_main_guard(node: ast.stmt) -> bool:
    return (
        isinstance(node, ast.If)
        and isinstance(node.test, ast.Compare)
        and isinstance(node.test.left, ast.Name)
        and node.test.left.id == "__name__"
    )


_NEEDED = (
    ast.Import,
    ast.ImportFrom,
    ast.FunctionDef,
    ast.AsyncFunctionDef,
    ast.ClassDef,
    ast.Assign,
    ast.AnnAssign,
    ast.AugAssign,
)


def _needed_lines(tree: ast.Module) -> set[int]:
    """0-based lines (of the parsed chunk) of the top-level statements a program needs."""
    keep: set[int] = set()
    for node in tree.body:
        if not isinstance(node, _NEEDED) or _is_main_guard(node):
            continue
        first = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
        keep.update(range(first - 1, (node.end_lineno or node.lineno)))
    return keep


def _from_chunk(
    reply: str, lines: list[tuple[int, int]], chunk: list[int], method: Method
) -> Extraction:
    text = "\n".join(reply[lines[i][0] : lines[i][1]] for i in chunk)
    tree = _parses(text)
    kept = chunk if tree is None else [i for n, i in enumerate(chunk) if n in _needed_lines(tree)]
    spans = tuple(lines[i] for i in kept)
    code = "\n".join(reply[s:e] for s, e in spans)
    return Extraction(code, spans, method) if code.strip() else NOTHING


def _longest_prefix(reply: str, lines: list[tuple[int, int]]) -> list[int] | None:
    """Line indices of the longest parseable run from the first line that opens code."""
    first = next((i for i, (s, e) in enumerate(lines) if _CODE_START.match(reply[s:e])), None)
    if first is None:
        return None
    for stop in range(len(lines), first, -1):
        chunk = list(range(first, stop))
        tree = _parses("\n".join(reply[lines[i][0] : lines[i][1]] for i in chunk))
        if tree is not None and _needed_lines(tree):
            return chunk
    return None


def extract_code(reply: str) -> Extraction:
    """The code of a chat reply under the rule of the module docstring."""
    lines = _lines(reply)
    blocks = [
        b for b in _fenced_blocks(reply, lines) if any(reply[slice(*lines[i])].strip() for i in b)
    ]
    if blocks:
        parsing = [
            b for b in blocks if _parses("\n".join(reply[slice(*lines[i])] for i in b)) is not None
        ]
        return _from_chunk(reply, lines, (parsing or blocks)[0], "fence")
    prefix = _longest_prefix(reply, lines)
    if prefix is None:
        return NOTHING
    return _from_chunk(reply, lines, prefix, "prefix")


def completion_spans(reply: str) -> Extraction:
    """A completion-style reply is its own code: every line, verbatim."""
    lines = _lines(reply)
    return (
        Extraction(reply, tuple(lines), "whole")
        if reply.strip()
        else Extraction(reply, tuple(lines), "none")
    )
