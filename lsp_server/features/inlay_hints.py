"""Marks and consensus as inlay hints at the end of their lines.

Diagnostics can be hidden or filtered by severity in an editor; the hint keeps a mark
visible right where the annotator reads.
"""

from __future__ import annotations

from crlhf_lsp.documents import TaskDocument
from crlhf_lsp.features.lines import line_range, line_texts
from lsprotocol import types
from pygls.workspace import TextDocument

from crlhf.schemas import Label

WRONG_TEXT = "✗ wrong"
CORRECT_TEXT = "✓ correct"
STATUS_PREFIX = "crlhf: "
"""The header's last line says whether (and when) the task was submitted."""


def _status_line(task: TaskDocument) -> int | None:
    """The document line just above the sample's first line (the header's last)."""
    first = task.doc_line(task.task.lines[0].number) if task.task.lines else None
    return first - 1 if first else None


def inlay_hints(
    task: TaskDocument, document: TextDocument, visible: types.Range
) -> list[types.InlayHint]:
    texts = line_texts(document)
    hints: list[types.InlayHint] = []
    status_line = _status_line(task)
    if (
        task.submission is not None
        and status_line is not None
        and visible.start.line <= status_line <= min(visible.end.line, len(texts) - 1)
    ):
        hints.append(
            types.InlayHint(
                position=line_range(document, texts, status_line).end,
                label=f"{STATUS_PREFIX}{task.status_text()}",
                padding_left=True,
            )
        )
    for number in sorted(set(task.marks) | set(task.consensus)):
        doc_line = task.doc_line(number)
        if doc_line is None or doc_line >= len(texts):
            continue
        if not visible.start.line <= doc_line <= visible.end.line:
            continue
        parts: list[str] = []
        mark = task.marks.get(number)
        if mark is not None:
            parts.append(WRONG_TEXT if mark is Label.WRONG else CORRECT_TEXT)
        if (consensus := task.consensus.get(number)) is not None:
            parts.append(f"crowd {consensus.posterior:.2f} ({consensus.n_votes})")
        hints.append(
            types.InlayHint(
                position=line_range(document, texts, doc_line).end,
                label=" · ".join(parts),
                padding_left=True,
            )
        )
    return hints
