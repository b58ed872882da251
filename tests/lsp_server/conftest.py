"""Fixtures for crlhf-lsp: a real server process over stdio, driven by pytest-lsp.

Every session runs twice, with the recorded capabilities of VS Code (UTF-16 positions)
and of Neovim 0.11 (UTF-8 positions), so column arithmetic is checked in both.
"""

from __future__ import annotations

import os
import sqlite3
import sys
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from crlhf_lsp.store import TaskStore
from lsprotocol import types
from pygls.protocol import default_converter
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities
from pytest_lsp.client import register_lsp_features

from crlhf.schemas import ProblemView, Task, split_code
from tests.conftest import LiveServer

CLIENTS = {"vscode": "visual-studio-code", "neovim": "neovim@v0.11"}
ENCODING = {"vscode": "utf-16", "neovim": "utf-8"}

CODE = (
    "def greet(name):\n"
    "    # say hello to 🐍 and é\n"
    '    message = "héllo " + name\n'
    "\n"
    "    return message.upper()\n"
)


def make_task(sample_id: str = "p1:s1", code: str = CODE) -> Task:
    return Task(
        sample_id=sample_id,
        problem=ProblemView(id="p1", title="Greeting", description="Greet someone.\nPolitely."),
        lines=split_code(code),
        served_at=datetime.now(UTC),
    )


def _converter() -> Any:
    """lsprotocol's converter with CodeAction results decoded correctly.

    Its hook for ``Command | CodeAction`` picks Command whenever the object has a
    ``command`` key, which a CodeAction carrying a command also has; a Command's
    ``command`` is a string, a CodeAction's an object.
    """
    converter = default_converter()  # type: ignore[no-untyped-call]

    def command_or_action(obj: Any, _: type) -> Any:
        if isinstance(obj.get("command"), str):
            return converter.structure(obj, types.Command)
        return converter.structure(obj, types.CodeAction)

    converter.register_structure_hook(types.Command | types.CodeAction, command_or_action)
    return converter


def make_client() -> LanguageClient:
    client = LanguageClient(converter_factory=_converter)
    register_lsp_features(client)
    client.inlay_hint_refreshes = 0  # type: ignore[attr-defined]

    def inlay_hint_refresh(params: None) -> None:
        client.inlay_hint_refreshes += 1  # type: ignore[attr-defined]

    client.feature(types.WORKSPACE_INLAY_HINT_REFRESH)(inlay_hint_refresh)

    return client


def server_env(tmp_path: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The server's environment: temp dirs, and no server/token from the developer's shell."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRLHF_")}
    env.update(
        CRLHF_CACHE_DIR=str(tmp_path / "cache"),
        CRLHF_CONFIG_DIR=str(tmp_path / "config"),
        CRLHF_DATA_DIR=str(tmp_path / "data"),
    )
    env.update(extra or {})
    return env


def tasks_dir(tmp_path: Path) -> Path:
    return tmp_path / "cache" / "tasks"


StartClient = Callable[..., Any]


@pytest.fixture(params=sorted(CLIENTS))
def editor(request: pytest.FixtureRequest) -> str:
    """Which editor's recorded capabilities the session uses."""
    return str(request.param)


@pytest_asyncio.fixture
async def start_lsp(tmp_path: Path, editor: str) -> AsyncIterator[Callable[..., Any]]:
    """Start crlhf-lsp and initialize it as ``editor``; shut every started one down after."""
    started: list[LanguageClient] = []

    async def start(
        env: Mapping[str, str] | None = None,
        initialization_options: Any = None,
        configuration: Mapping[str, Any] | None = None,
    ) -> LanguageClient:
        config = ClientServerConfig(
            server_command=[sys.executable, "-m", "crlhf_lsp"],
            client_factory=make_client,
            server_env=server_env(tmp_path, env),
        )
        client = await config.start()
        assert isinstance(client, LanguageClient)
        if configuration is not None:
            client.set_configuration(dict(configuration))
        started.append(client)
        result = await client.initialize_session(
            types.InitializeParams(
                capabilities=client_capabilities(CLIENTS[editor]),
                initialization_options=initialization_options,
            )
        )
        assert result.capabilities.position_encoding == ENCODING[editor]
        return client

    yield start
    for client in started:
        await client.shutdown_session()
        await client.stop()  # type: ignore[no-untyped-call]


async def open_task(client: LanguageClient, tmp_path: Path, task: Task, crlf: bool = False) -> str:
    """Write a task file as the server would, and open it in the client; return its URI."""
    document = TaskStore(tasks_dir(tmp_path)).add(task)
    text = document.text.replace("\n", "\r\n") if crlf else document.text
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(
                uri=document.uri, language_id="python", version=1, text=text
            )
        )
    )
    await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    return document.uri


def stored_votes(live_server: LiveServer, sample_id: str) -> dict[int, int]:
    """The current votes on a sample, straight from the server's database."""
    with closing(sqlite3.connect(f"file:{live_server.db_path}?mode=ro", uri=True)) as db:
        rows = db.execute(
            "SELECT v.line, v.label FROM votes v JOIN submissions s ON s.id = v.submission "
            "WHERE s.sample_id = ? AND s.is_current = 1",
            (sample_id,),
        ).fetchall()
    return dict(rows)
