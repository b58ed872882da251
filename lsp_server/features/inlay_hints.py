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


def inlay_hints(
    task: TaskDocument, document: TextDocument, visible: types.Range
) -> list[types.InlayHint]:
    texts = line_texts(document)
    hints: list[types.InlayHint] = []
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
