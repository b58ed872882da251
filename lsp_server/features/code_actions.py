"""Code actions on the cursor line or selection: mark, clear, submit, skip.

Each action carries a command rather than an edit (marking never changes the text), with
the same arguments a key binding would pass, so both paths run the same handler.
"""

from __future__ import annotations

from crlhf_lsp.documents import TaskDocument
from crlhf_lsp.features import commands
from crlhf_lsp.features.lines import selected_lines
from lsprotocol import types


def _title(verb: str, lines: list[int], suffix: str = "") -> str:
    """``crlhf: mark line 3 wrong`` or ``crlhf: mark 3 lines (3-5) wrong``; sample numbers."""
    what = f"line {lines[0]}" if len(lines) == 1 else f"{len(lines)} lines ({lines[0]}-{lines[-1]})"
    return f"crlhf: {verb} {what}{suffix}"


def code_actions(task: TaskDocument, selection: types.Range) -> list[types.CodeAction]:
    start, end = selected_lines(selection)
    judged = task.judged_in(start, end)
    actions: list[types.CodeAction] = []
    line_arguments: list[object] = [task.uri, start, end]
    if judged:
        for name, suffix in ((commands.MARK_WRONG, " wrong"), (commands.MARK_CORRECT, " correct")):
            title = _title("mark", judged, suffix)
            actions.append(
                types.CodeAction(
                    title=title,
                    command=types.Command(title=title, command=name, arguments=line_arguments),
                )
            )
        if any(n in task.marks for n in judged):
            title = _title("clear the mark of", judged)
            actions.append(
                types.CodeAction(
                    title=title,
                    command=types.Command(
                        title=title, command=commands.CLEAR_MARK, arguments=line_arguments
                    ),
                )
            )
    title = "crlhf: submit annotations for this sample"
    actions.append(
        types.CodeAction(
            title=title,
            command=types.Command(title=title, command=commands.SUBMIT, arguments=[task.uri]),
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
