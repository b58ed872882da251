"""crlhf-lsp over stdio, as VS Code and as Neovim: code actions, commands, diagnostics,
inlay hints, CRLF documents and edits. No crlhf server here (see test_e2e.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from crlhf_lsp.documents import render_header
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pytest_lsp import LanguageClient

from tests.lsp_server.conftest import CODE, ENCODING, make_task, open_task

HEADER = len(render_header(make_task()))
LINES = CODE.splitlines()


def _units(text: str, encoding: str) -> int:
    """Length of ``text`` in the code units of a position encoding, computed independently."""
    if encoding == "utf-16":
        return len(text.encode("utf-16-le")) // 2
    return len(text.encode("utf-8"))


def _whole_line(doc_line: int) -> types.Range:
    return types.Range(
        start=types.Position(line=doc_line, character=0),
        end=types.Position(line=doc_line, character=1),
    )


async def _actions(
    client: LanguageClient, uri: str, selection: types.Range
) -> list[types.CodeAction]:
    result = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=selection,
            context=types.CodeActionContext(diagnostics=[]),
        )
    )
    assert result is not None
    actions = [a for a in result if isinstance(a, types.CodeAction)]
    assert len(actions) == len(result), "every answer is a CodeAction carrying a command"
    return actions


async def _run(client: LanguageClient, action: types.CodeAction) -> Any:
    assert action.command is not None
    return await client.workspace_execute_command_async(
        types.ExecuteCommandParams(
            command=action.command.command, arguments=list(action.command.arguments or [])
        )
    )


NOT_JUDGED = "is not judged: only the code's non-blank lines are, not the header or blank lines"


@pytest.mark.e2e
@pytest.mark.parametrize("crlf", [False, True], ids=["lf", "crlf"])
async def test_code_actions_mark_lines_and_diagnostics_follow(
    start_lsp, tmp_path: Path, editor: str, crlf: bool
) -> None:
    client = await start_lsp()
    uri = await open_task(client, tmp_path, make_task(), crlf=crlf)
    assert list(client.diagnostics[uri]) == []

    # The cursor on the emoji line (sample line 2): mark it wrong through its code action.
    actions = await _actions(client, uri, _whole_line(HEADER + 1))
    titles = [a.title for a in actions]
    # Titles count lines as the editor's gutter does (1-based document lines).
    assert titles == [
        f"crlhf: mark line {HEADER + 2} wrong",
        f"crlhf: mark line {HEADER + 2} correct",
        "crlhf: submit annotations for this sample",
        "crlhf: skip this sample",
    ]
    refreshes = client.inlay_hint_refreshes
    summary = await _run(client, actions[0])
    assert summary["wrong"] == [2]
    workspace = client.capabilities.workspace
    if (
        workspace.inlay_hint and workspace.inlay_hint.refresh_support
    ):  # Neovim 0.11, not VS Code 1.65
        assert client.inlay_hint_refreshes > refreshes, "the editor is told to redraw inlay hints"

    (diagnostic,) = client.diagnostics[uri]
    assert diagnostic.source == "crlhf"
    assert diagnostic.severity == types.DiagnosticSeverity.Warning
    assert diagnostic.range.start == types.Position(line=HEADER + 1, character=0)
    # The end column counts the emoji and the é in the editor's own encoding.
    assert diagnostic.range.end == types.Position(
        line=HEADER + 1, character=_units(LINES[1], ENCODING[editor])
    )

    # A selection over lines 3-5 (blank line 4 skipped) marked correct.
    selection = types.Range(
        start=types.Position(line=HEADER + 2, character=4),
        end=types.Position(line=HEADER + 5, character=0),
    )
    actions = await _actions(client, uri, selection)
    assert actions[1].title == f"crlhf: mark 2 lines ({HEADER + 3}-{HEADER + 5}) correct"
    summary = await _run(client, actions[1])
    assert summary["correct"] == [3, 5]
    severities = {d.range.start.line: d.severity for d in client.diagnostics[uri]}
    assert severities == {
        HEADER + 1: types.DiagnosticSeverity.Warning,
        HEADER + 2: types.DiagnosticSeverity.Hint,
        HEADER + 4: types.DiagnosticSeverity.Hint,
    }

    hints = await client.text_document_inlay_hint_async(
        types.InlayHintParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=types.Range(
                start=types.Position(line=0, character=0),
                end=types.Position(line=HEADER + 10, character=0),
            ),
        )
    )
    assert hints is not None
    by_line = {h.position.line: (h.position.character, h.label) for h in hints}
    assert by_line[HEADER + 1] == (_units(LINES[1], ENCODING[editor]), "✗ wrong")
    assert by_line[HEADER + 4][1] == "✓ correct"

    # Clearing is offered only where there is a mark, and removes it.
    actions = await _actions(client, uri, _whole_line(HEADER + 1))
    assert actions[2].title == f"crlhf: clear the mark of line {HEADER + 2}"
    summary = await _run(client, actions[2])
    assert summary["wrong"] == []
    assert HEADER + 1 not in {d.range.start.line for d in client.diagnostics[uri]}


@pytest.mark.e2e
async def test_commands_with_explicit_arguments_and_bad_ones(start_lsp, tmp_path: Path) -> None:
    client = await start_lsp()
    uri = await open_task(client, tmp_path, make_task())
    summary = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="crlhf.markWrong", arguments=[uri, HEADER, HEADER + 2])
    )
    assert summary["wrong"] == [1, 2, 3]
    summary = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="crlhf.clearMark", arguments=[uri, HEADER + 1])
    )
    assert summary["wrong"] == [1, 3]

    # The header is not judged: a clear error answer and window message, server alive.
    with pytest.raises(JsonRpcException, match="is not judged"):
        await client.workspace_execute_command_async(
            types.ExecuteCommandParams(command="crlhf.markWrong", arguments=[uri, 0])
        )
    assert any(m.message == f"crlhf: line 1 {NOT_JUDGED}" for m in client.messages)
    with pytest.raises(JsonRpcException, match="startLine"):
        await client.workspace_execute_command_async(
            types.ExecuteCommandParams(command="crlhf.markWrong", arguments=[uri, "two"])
        )
    with pytest.raises(JsonRpcException, match="not a crlhf task"):
        await client.workspace_execute_command_async(
            types.ExecuteCommandParams(
                command="crlhf.markWrong", arguments=[(tmp_path / "x.py").as_uri(), 1]
            )
        )
    # Other files get no code actions at all.
    result = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=(tmp_path / "x.py").as_uri()),
            range=_whole_line(0),
            context=types.CodeActionContext(diagnostics=[]),
        )
    )
    assert result is None


@pytest.mark.e2e
async def test_edits_move_marks_and_block_submission(start_lsp, tmp_path: Path) -> None:
    client = await start_lsp()
    uri = await open_task(client, tmp_path, make_task())
    await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="crlhf.markWrong", arguments=[uri, HEADER + 4])
    )
    # Insert two lines above the code (an incremental change, as editors send).
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
            content_changes=[
                types.TextDocumentContentChangePartial(
                    range=types.Range(
                        start=types.Position(line=HEADER, character=0),
                        end=types.Position(line=HEADER, character=0),
                    ),
                    text="import os\nimport sys\n",
                )
            ],
        )
    )
    await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    by_code = {d.code: d for d in client.diagnostics[uri]}
    assert by_code["document-changed"].severity == types.DiagnosticSeverity.Error
    assert by_code["marked-wrong"].range.start.line == HEADER + 6  # followed its line

    with pytest.raises(JsonRpcException, match="was edited"):
        await client.workspace_execute_command_async(
            types.ExecuteCommandParams(command="crlhf.submit", arguments=[uri])
        )
    assert any("was edited" in m.message for m in client.messages)

    # Undo: the document matches again and the error goes away.
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=3),
            content_changes=[
                types.TextDocumentContentChangePartial(
                    range=types.Range(
                        start=types.Position(line=HEADER, character=0),
                        end=types.Position(line=HEADER + 2, character=0),
                    ),
                    text="",
                )
            ],
        )
    )
    await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    assert [d.code for d in client.diagnostics[uri]] == ["marked-wrong"]


@pytest.mark.e2e
async def test_missing_configuration_is_a_clear_window_message(start_lsp, tmp_path: Path) -> None:
    client = await start_lsp()
    uri = await open_task(client, tmp_path, make_task())
    await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="crlhf.markWrong", arguments=[uri, HEADER])
    )
    with pytest.raises(JsonRpcException, match="not configured"):
        await client.workspace_execute_command_async(
            types.ExecuteCommandParams(command="crlhf.submit", arguments=[uri])
        )
    messages = [m for m in client.messages if "not configured" in m.message]
    assert messages and "CRLHF_SERVER" in messages[-1].message
    assert "--server" not in messages[-1].message and "--token" not in messages[-1].message


def test_consensus_says_when_checkers_voted() -> None:
    from crlhf_lsp.features.diagnostics import describe_consensus

    from crlhf.schemas import LineConsensus

    people = LineConsensus(sample_id="s", line=1, posterior=0.9, n_votes=2, n_correct=2, n_wrong=0)
    assert describe_consensus(people) == "crowd: P(correct) = 0.90 from 2 votes"
    mixed = people.model_copy(update={"n_votes": 3, "n_correct": 3, "n_machine_votes": 1})
    assert describe_consensus(mixed).endswith("from 3 votes (1 from machine checkers)")
