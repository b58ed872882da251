"""Marks and the crowd's consensus as diagnostics (source ``crlhf``).

Wrong marks are Warnings and correct marks Hints, so the editor's usual diagnostic
navigation jumps between them; after a submission the crowd's posterior for each line is
an Information diagnostic of its own, so an editor gives it a sign distinct from yours.
An edited task file gets one Error on its first line, saying why submission is refused.
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


def _mark_diagnostic(
    task: TaskDocument, number: int, line_range_: types.Range
) -> types.Diagnostic | None:
    mark = task.marks.get(number)
    if mark is None:
        return None
    wrong = mark is Label.WRONG
    return types.Diagnostic(
        range=line_range_,
        message=f"marked {'wrong' if wrong else 'correct'}",
        severity=_SEVERITY[mark],
        source=SOURCE,
        code=CODE_WRONG if wrong else CODE_CORRECT,
        data={"sampleLine": number},
    )


def _consensus_diagnostic(
    task: TaskDocument, number: int, line_range_: types.Range
) -> types.Diagnostic | None:
    """The crowd's view, apart from your mark: Information, so it has a sign of its own."""
    consensus = task.consensus.get(number)
    if consensus is None:
        return None
    return types.Diagnostic(
        range=line_range_,
        message=describe_consensus(consensus),
        severity=types.DiagnosticSeverity.Information,
        source=SOURCE,
        code=CODE_CONSENSUS,
        data={"sampleLine": number},
    )


def diagnostics(task: TaskDocument, document: TextDocument) -> list[types.Diagnostic]:
    texts = line_texts(document)
    found: list[types.Diagnostic] = []
    if task.changed:
        found.append(
            types.Diagnostic(
                range=line_range(document, texts, 0),
                message="file was edited: undo the edits to submit (marks follow their lines)",
                severity=types.DiagnosticSeverity.Error,
                source=SOURCE,
                code=CODE_CHANGED,
            )
        )
    for number in sorted(set(task.marks) | set(task.consensus)):
        doc_line = task.doc_line(number)
        if doc_line is None or doc_line >= len(texts):
            continue
        where = line_range(document, texts, doc_line)
        for make in (_mark_diagnostic, _consensus_diagnostic):
            if (diagnostic := make(task, number, where)) is not None:
                found.append(diagnostic)
    return found
