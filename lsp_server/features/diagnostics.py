"""Marks and the crowd's consensus as diagnostics (source ``crlhf``).

Wrong marks are Warnings and correct marks Hints, so the editor's usual diagnostic
navigation jumps between them; after a submission the crowd's posterior for each line
joins the message. An edited task file gets one Error on its first line, saying why
submission is refused.
"""

from __future__ import annotations

from crlhf_lsp.documents import TaskDocument
from crlhf_lsp.features.lines import line_range, line_texts
from lsprotocol import types
from pygls.workspace import TextDocument

from crlhf.schemas import Label, LineConsensus

SOURCE = "crlhf"
CODE_WRONG = "marked-wrong"
CODE_CORRECT = "marked-correct"
CODE_CONSENSUS = "consensus"
CODE_CHANGED = "document-changed"

_SEVERITY = {
    Label.WRONG: types.DiagnosticSeverity.Warning,
    Label.CORRECT: types.DiagnosticSeverity.Hint,
}


def describe_consensus(consensus: LineConsensus) -> str:
    """The posterior and its votes; checkers' votes are named, never passed off as people's."""
    votes = "vote" if consensus.n_votes == 1 else "votes"
    text = f"crowd: P(correct) = {consensus.posterior:.2f} from {consensus.n_votes} {votes}"
    if consensus.n_machine_votes:
        text += f" ({consensus.n_machine_votes} from machine checkers)"
    return text


def _diagnostic(
    task: TaskDocument, number: int, line_range_: types.Range
) -> types.Diagnostic | None:
    mark = task.marks.get(number)
    consensus = task.consensus.get(number)
    parts: list[str] = []
    if mark is not None:
        parts.append(f"marked {'wrong' if mark is Label.WRONG else 'correct'}")
    if consensus is not None:
        parts.append(describe_consensus(consensus))
    if not parts:
        return None
    label = mark if mark is not None else consensus.label if consensus is not None else None
    assert label is not None  # parts is non-empty, so one of them is set
    code = CODE_CONSENSUS if mark is None else CODE_WRONG if mark is Label.WRONG else CODE_CORRECT
    return types.Diagnostic(
        range=line_range_,
        message=" · ".join(parts),
        severity=_SEVERITY[label],
        source=SOURCE,
        code=code,
        data={"sampleLine": number},
    )


def diagnostics(task: TaskDocument, document: TextDocument) -> list[types.Diagnostic]:
    texts = line_texts(document)
    found: list[types.Diagnostic] = []
    if task.changed:
        found.append(
            types.Diagnostic(
                range=line_range(document, texts, 0),
                message=(
                    "this task file was edited and no longer shows the sample; marks follow "
                    "their lines where they can, but submitting needs the original text back"
                ),
                severity=types.DiagnosticSeverity.Error,
                source=SOURCE,
                code=CODE_CHANGED,
            )
        )
    for number in sorted(set(task.marks) | set(task.consensus)):
        doc_line = task.doc_line(number)
        if doc_line is None or doc_line >= len(texts):
            continue
        diagnostic = _diagnostic(task, number, line_range(document, texts, doc_line))
        if diagnostic is not None:
            found.append(diagnostic)
    return found
