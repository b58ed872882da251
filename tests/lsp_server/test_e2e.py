"""crlhf-lsp against a real ``crlhf serve``: fetch a task, mark it through code actions
and commands, submit, and check the server stored exactly those votes. Run as VS Code
(UTF-16, configured through workspace configuration, the task reopened with CRLF line
ends) and as Neovim (UTF-8, configured through initializationOptions)."""

from __future__ import annotations

import socket
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
    if editor == "vscode":  # the next task sends it first, and says so in its one message
        await _execute(client, "crlhf.nextTask")
        assert "sent 1 queued submission" in client.messages[-1].message
        synced = await _execute(client, "crlhf.sync")
        assert synced == {"synced": 0, "pending": 0, "offline": False}
    else:
        synced = await _execute(client, "crlhf.sync")
        assert synced == {"synced": 1, "pending": 0, "offline": False}
    status = await _execute(client, "crlhf.status", uri)
    assert status["task"]["revision"] == 1 and status["pending"] == 0
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
    assert any("rejected your token" in m for m in errors)
    assert not any("crlhf.token" in m or "--token" in m for m in errors)


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


def _errors(client: LanguageClient) -> list[str]:
    return [m.message for m in client.messages if m.type == types.MessageType.Error]


async def test_marks_survive_a_restart_and_resubmitting_takes_revise(
    start_lsp, editor: str, live_server: LiveServer
) -> None:
    token = await _annotator_token(live_server, f"lsp-revise-{editor}")
    client = await _start(start_lsp, editor, live_server, token)
    summary, first_code, judged = await _next_task(client, crlf=False)
    uri, sample_id = summary["uri"], summary["sampleId"]
    doc = [first_code + n - 1 for n in judged]  # 0-based document lines

    # Nothing marked: submit asks for confirmation instead of recording "all correct".
    with pytest.raises(JsonRpcException, match="no line of sample"):
        await _execute(client, "crlhf.submit", uri)
    with pytest.raises(JsonRpcException, match="nothing to revise"):
        await _execute(client, "crlhf.revise", uri)
    with pytest.raises(JsonRpcException, match=f"line {first_code}( |$)") as header:
        await _execute(client, "crlhf.markWrong", uri, first_code - 1)  # the header's last line
    assert "startLine" not in str(header.value)
    await _execute(client, "crlhf.markWrong", uri, doc[0])

    # A restarted server (a restarted editor) shows the marks again.
    client2 = await _start(start_lsp, editor, live_server, token)
    await _reopen(client2, uri)
    again = await _execute(client2, "crlhf.status", uri)
    assert again["task"]["wrong"] == [judged[0]] and not again["task"]["submitted"]

    first = await _execute(client2, "crlhf.submit", uri)
    assert first["revision"] == 1 and first["wrong"] == [judged[0]]
    with pytest.raises(JsonRpcException, match="revise") as refused:
        await _execute(client2, "crlhf.submit", uri)
    assert "revision 1" in str(refused.value)

    # Reopened after another restart: submitted, revision 1, your votes, a status hint.
    client3 = await _start(start_lsp, editor, live_server, token)
    await _reopen(client3, uri)
    reopened = await _execute(client3, "crlhf.status", uri)
    assert reopened["task"]["revision"] == 1
    assert reopened["task"]["wrong"] == [judged[0]]
    assert reopened["task"]["correct"] == judged[1:]
    hints = await client3.text_document_inlay_hint_async(
        types.InlayHintParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=types.Range(start=types.Position(0, 0), end=types.Position(doc[-1] + 1, 0)),
        )
    )
    labels = [h.label for h in hints or []]
    assert any(isinstance(x, str) and "submitted, revision 1" in x for x in labels)

    await _execute(client3, "crlhf.markCorrect", uri, doc[0])
    await _execute(client3, "crlhf.markWrong", uri, doc[-1])
    revised = await _execute(client3, "crlhf.revise", uri)
    assert revised["revision"] == 2
    assert any("revision 2 replaces revision 1" in m.message for m in client3.messages)
    assert stored_votes(live_server, sample_id) == {
        n: (Label.WRONG if n == judged[-1] else Label.CORRECT).value for n in judged
    }
    assert not _errors(client3)

    # The next task, submitted empty on purpose ("Approve all"): every line +1.
    following, _, following_judged = await _next_task(client3, crlf=False)
    approved = await _execute(client3, "crlhf.submit", following["uri"], {"approveAll": True})
    assert approved["revision"] == 1
    assert stored_votes(live_server, following["sampleId"]) == {n: 1 for n in following_judged}


async def _reopen(client: LanguageClient, uri: str) -> None:
    path = uris.to_fs_path(uri)
    assert path is not None
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(
                uri=uri, language_id="python", version=1, text=Path(path).read_text("utf-8")
            )
        )
    )
    await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://127.0.0.1:{free}/v1/", "ends in /v1; give the base URL (http://127.0.0.1:"),
        ("http://127.0.0.1:{free}", "nothing accepts connections at http://127.0.0.1:"),
    ],
)
async def test_wrong_server_url_is_diagnosed(
    start_lsp, editor: str, url: str, expected: str
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free = probe.getsockname()[1]
    client = await start_lsp(initialization_options={"server": url.format(free=free), "token": "t"})
    await client.wait_for_notification(types.WINDOW_SHOW_MESSAGE)
    messages = [m.message for m in client.messages]
    assert len(messages) == 1 and expected in messages[0], messages
