"""Code actions on the cursor line or selection: mark, clear, submit, skip.

Each action carries a command rather than an edit (marking never changes the text), with
the same arguments a key binding would pass, so both paths run the same handler.
"""

from __future__ import annotations

from crlhf_lsp.documents import TaskDocument
from crlhf_lsp.features import commands
from crlhf_lsp.features.lines import selected_lines
from lsprotocol import types


def _title(verb: str, task: TaskDocument, judged: list[int], suffix: str = "") -> str:
    """``crlhf: mark line 17 wrong`` or ``crlhf: mark 3 lines (17-19) wrong``.

    The numbers are the editor's (1-based document lines), the ones the annotator sees
    in the gutter, not the sample's own numbering.
    """
    lines = sorted(d + 1 for n in judged if (d := task.doc_line(n)) is not None)
    what = f"line {lines[0]}" if len(lines) == 1 else f"{len(lines)} lines ({lines[0]}-{lines[-1]})"
    return f"crlhf: {verb} {what}{suffix}"


def code_actions(task: TaskDocument, selection: types.Range) -> list[types.CodeAction]:
    start, end = selected_lines(selection)
    judged = task.judged_in(start, end)
    actions: list[types.CodeAction] = []
    line_arguments: list[object] = [task.uri, start, end]
    if judged:
        for name, suffix in ((commands.MARK_WRONG, " wrong"), (commands.MARK_CORRECT, " correct")):
            title = _title("mark", task, judged, suffix)
            actions.append(
                types.CodeAction(
                    title=title,
                    command=types.Command(title=title, command=name, arguments=line_arguments),
                )
            )
        if any(n in task.marks for n in judged):
            title = _title("clear the mark of", task, judged)
            actions.append(
                types.CodeAction(
                    title=title,
                    command=types.Command(
                        title=title, command=commands.CLEAR_MARK, arguments=line_arguments
                    ),
                )
            )
    if task.submission is None:
        title, name = "crlhf: submit annotations for this sample", commands.SUBMIT
    else:
        title = f"crlhf: revise: replace {_revision_name(task)} with these marks"
        name = commands.REVISE
    actions.append(
        types.CodeAction(
            title=title, command=types.Command(title=title, command=name, arguments=[task.uri])
        )
    )
    if not (task.submitted or task.queued):
        title = "crlhf: skip this sample"
        actions.append(
            types.CodeAction(
                title=title,
                command=types.Command(title=title, command=commands.SKIP, arguments=[task.uri]),
            )
        )
    return actions


def _revision_name(task: TaskDocument) -> str:
    revision = task.submission.revision if task.submission else None
    return "your queued submission" if revision is None else f"revision {revision}"
