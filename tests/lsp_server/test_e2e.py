"""crlhf-lsp against a real ``crlhf serve``: fetch a task, mark it through code actions
and commands, submit, and check the server stored exactly those votes. Run as VS Code
(UTF-16, configured through workspace configuration, the task reopened with CRLF line
ends) and as Neovim (UTF-8, configured through initializationOptions)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from crlhf_lsp.documents import HEADER_END
from lsprotocol import types
from pygls import uris
from pygls.exceptions import JsonRpcException
from pytest_lsp import LanguageClient

from crlhf.client import CrlhfClient
from crlhf.schemas import Label, split_code
from tests.conftest import LiveServer
from tests.lsp_server.conftest import stored_votes

pytestmark = pytest.mark.e2e


async def _annotator_token(live_server: LiveServer, name: str) -> str:
    async with CrlhfClient(live_server.url, live_server.admin_token) as admin:
        return (await admin.create_annotator(name)).token


async def _start(start_lsp, editor: str, live_server: LiveServer, token: str) -> LanguageClient:
    settings = {"server": live_server.url, "token": token}
    if editor == "vscode":
        client = await start_lsp(configuration={"crlhf": settings})
    else:
        client = await start_lsp(initialization_options=settings)
    assert isinstance(client, LanguageClient)
    return client


async def _next_task(client: LanguageClient, crlf: bool) -> tuple[dict[str, Any], int, list[int]]:
    """Run crlhf.nextTask, open the shown file; return summary, first code line, judged lines."""
    summary = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="crlhf.nextTask", arguments=[])
    )
    assert summary is not None
    uri = summary["uri"]
    assert client.shown_documents[-1].uri == uri
    path = uris.to_fs_path(uri)
    assert path is not None
    text = Path(path).read_text(encoding="utf-8")
    lines = text.splitlines()
    first_code = lines.index(HEADER_END) + 1
    code = "\n".join(lines[first_code:]) + "\n"
    judged = [line.number for line in split_code(code) if line.judged]
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(
                uri=uri,
                language_id="python",
                version=1,
                text=text.replace("\n", "\r\n") if crlf else text,
            )
        )
    )
    await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    return summary, first_code, judged


async def _execute(client: LanguageClient, name: str, *arguments: Any) -> Any:
    return await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command=name, arguments=list(arguments))
    )


async def test_mark_and_submit_stores_exactly_those_votes(
    start_lsp, editor: str, live_server: LiveServer
) -> None:
    token = await _annotator_token(live_server, f"lsp-{editor}")
    client = await _start(start_lsp, editor, live_server, token)
    assert not [m for m in client.messages if m.type == types.MessageType.Error]
    summary, first_code, judged = await _next_task(client, crlf=editor == "vscode")
    uri, sample_id = summary["uri"], summary["sampleId"]
    assert len(judged) >= 3

    # Line judged[0] wrong through its code action.
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=types.Range(
                start=types.Position(line=first_code + judged[0] - 1, character=0),
                end=types.Position(line=first_code + judged[0] - 1, character=0),
            ),
            context=types.CodeActionContext(diagnostics=[]),
        )
    )
    assert actions is not None
    wrong_action = next(
        a for a in actions if isinstance(a, types.CodeAction) and "wrong" in a.title
    )
    assert wrong_action.command is not None
    await _execute(client, wrong_action.command.command, *(wrong_action.command.arguments or []))

    # The last judged line wrong, and the second correct, through commands as key maps call them.
    await _execute(client, "crlhf.markWrong", uri, first_code + judged[-1] - 1)
    await _execute(client, "crlhf.markCorrect", uri, first_code + judged[1] - 1)

    # Submit through the code action, as "Submit annotations for this sample" does.
    submit = next(a for a in actions if isinstance(a, types.CodeAction) and "submit" in a.title)
    assert submit.command is not None
    result = await _execute(client, submit.command.command, *(submit.command.arguments or []))
    assert result["submitted"] and not result["queued"]

    wrong = {judged[0], judged[-1]}
    expected = {n: (Label.WRONG if n in wrong else Label.CORRECT).value for n in judged}
    assert stored_votes(live_server, sample_id) == expected

    # The crowd's consensus now shows on every judged line.
    crowd = [d for d in client.diagnostics[uri] if "crowd: P(correct)" in d.message]
    assert sorted(d.range.start.line - first_code + 1 for d in crowd) == judged

    # The next task is another sample.
    following, _, _ = await _next_task(client, crlf=False)
    assert following["sampleId"] != sample_id


async def test_offline_submission_is_queued_then_synced(
    start_lsp, editor: str, live_server: LiveServer
) -> None:
    token = await _annotator_token(live_server, f"lsp-offline-{editor}")
    client = await _start(start_lsp, editor, live_server, token)
    summary, first_code, judged = await _next_task(client, crlf=False)
    uri, sample_id = summary["uri"], summary["sampleId"]
    await _execute(client, "crlhf.markWrong", uri, first_code + judged[0] - 1)

    live_server.stop()
    result = await _execute(client, "crlhf.submit", uri)
    assert result["queued"] and not result["submitted"]
    assert any("saved" in m.message for m in client.messages)

    live_server.start()
    synced = await _execute(client, "crlhf.sync")
    assert synced == {"synced": 1, "pending": 0, "offline": False}
    assert stored_votes(live_server, sample_id) == {
        n: (Label.WRONG if n == judged[0] else Label.CORRECT).value for n in judged
    }


async def test_rejected_token_is_a_clear_window_message(
    start_lsp, editor: str, live_server: LiveServer
) -> None:
    client = await _start(start_lsp, editor, live_server, "not-a-real-token")
    with pytest.raises(JsonRpcException, match=r"token"):
        await _execute(client, "crlhf.nextTask")
    errors = [m.message for m in client.messages if m.type == types.MessageType.Error]
    assert any("rejected the token" in m for m in errors)


async def test_skip_through_its_code_action_is_never_served_again(
    start_lsp, editor: str, live_server: LiveServer
) -> None:
    token = await _annotator_token(live_server, f"lsp-skip-{editor}")
    client = await _start(start_lsp, editor, live_server, token)
    summary, first_code, _ = await _next_task(client, crlf=False)
    uri, sample_id = summary["uri"], summary["sampleId"]
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=types.Range(
                start=types.Position(line=first_code, character=0),
                end=types.Position(line=first_code, character=0),
            ),
            context=types.CodeActionContext(diagnostics=[]),
        )
    )
    assert actions is not None
    skip = next(a for a in actions if isinstance(a, types.CodeAction) and "skip" in a.title)
    assert skip.command is not None
    result = await _execute(client, skip.command.command, *(skip.command.arguments or []))
    assert result["skipped"] and result["sampleId"] == sample_id

    # Not served again, not even to a fresh client session that asks for everything open.
    async with CrlhfClient(live_server.url, token) as annotator:
        assert sample_id not in {t.sample_id for t in await annotator.next_tasks(20)}

    following, _, _ = await _next_task(client, crlf=False)
    live_server.stop()
    with pytest.raises(JsonRpcException):
        await _execute(client, "crlhf.skip", following["uri"])
    assert any("was not skipped" in m.message for m in client.messages)
