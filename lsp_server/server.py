"""crlhf-lsp: annotate generated code from inside an editor.

The server speaks LSP over stdio. Tasks are files (see :mod:`lsp_server.documents`);
marks are code actions and commands; feedback is diagnostics and inlay hints. Nothing
but the protocol may reach stdout (a stray print corrupts the stream and Neovim drops the
client), so logging goes to stderr or ``--log-file``.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import logging
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any
from uuid import uuid4

from crlhf_lsp.config import SECTION, LspSettings
from crlhf_lsp.documents import TaskDocument
from crlhf_lsp.features import commands
from crlhf_lsp.features.code_actions import code_actions
from crlhf_lsp.features.diagnostics import diagnostics
from crlhf_lsp.features.inlay_hints import inlay_hints
from crlhf_lsp.store import TaskStore
from crlhf_lsp.sync import Outcome, Remote
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pygls.lsp.server import LanguageServer

from crlhf import __version__
from crlhf.errors import (
    AuthenticationFailed,
    CrlhfError,
    InvalidInput,
    NotServed,
    ServerUnreachable,
)
from crlhf.schemas import Submission

logger = logging.getLogger(__name__)

Handler = Callable[..., Awaitable[Any]]


class CrlhfLanguageServer(LanguageServer):
    """Holds the settings, the known task documents and the connection to the server."""

    def __init__(self) -> None:
        super().__init__(
            "crlhf-lsp", __version__, text_document_sync_kind=types.TextDocumentSyncKind.Incremental
        )
        self.init_settings = LspSettings()
        self.workspace_settings = LspSettings()
        self._store: TaskStore | None = None
        self._remote: Remote | None = None
        self._remote_lock = asyncio.Lock()
        """Handlers run concurrently: without it two could each open a Remote (and its
        queue file) for the same settings, leaking one."""
        self.settings_loaded = asyncio.Event()
        """Set once the workspace configuration was asked for (commands wait for it)."""
        self.submitted: set[str] = set()
        """Samples submitted (or queued) or skipped in this session: nextTask passes them."""

    @property
    def settings(self) -> LspSettings:
        return self.init_settings.overlay(self.workspace_settings)

    @property
    def store(self) -> TaskStore:
        """Task files in the configured directory (a new store if the setting changed)."""
        tasks_dir = self.settings.resolved_tasks_dir()
        if self._store is None or self._store.tasks_dir != tasks_dir:
            self._store = TaskStore(tasks_dir)
        return self._store

    def show(self, message: str, kind: types.MessageType = types.MessageType.Info) -> None:
        """A window message; every one starts with ``crlhf:`` so the annotator knows its source."""
        message = message if message.startswith("crlhf") else f"crlhf: {message}"
        logger.log(logging.ERROR if kind == types.MessageType.Error else logging.INFO, message)
        self.window_show_message(types.ShowMessageParams(type=kind, message=message))

    async def remote(self) -> Remote:
        """The connection for the current settings (raises :class:`InvalidInput` if none)."""
        await self.settings_loaded.wait()
        config = self.settings.client_config()
        async with self._remote_lock:
            if self._remote is not None and self._remote.config == config:
                return self._remote
            if self._remote is not None:
                await self._remote.aclose()
            self._remote = await Remote.open(config)
            return self._remote

    def task_for(self, uri: str) -> TaskDocument:
        task = self.store.get(uri)
        if task is None:
            raise InvalidInput(f"{uri} is not a crlhf task file", field="uri")
        return task

    def refresh(self, task: TaskDocument) -> None:
        """Re-publish a task's diagnostics and ask the editor to re-read its inlay hints."""
        document = self.workspace.get_text_document(task.uri)
        self.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(
                uri=task.uri, diagnostics=diagnostics(task, document), version=document.version
            )
        )
        refresh = self.client_capabilities.workspace
        if refresh and refresh.inlay_hint and refresh.inlay_hint.refresh_support:
            self.workspace_inlay_hint_refresh(None)


server = CrlhfLanguageServer()


def user_errors(handler: Handler) -> Handler:
    """Turn a crlhf error into a window message plus an LSP error answer.

    The server keeps running; the editor shows why the command did nothing.
    """

    @functools.wraps(handler)
    async def wrapper(ls: CrlhfLanguageServer, *args: Any) -> Any:
        try:
            return await handler(ls, *args)
        except AuthenticationFailed as exc:
            ls.show(token_rejected(exc), types.MessageType.Error)
            raise _answer(exc) from exc
        except CrlhfError as exc:
            ls.show(str(exc), types.MessageType.Error)
            raise _answer(exc) from exc

    return wrapper


def token_rejected(exc: AuthenticationFailed) -> str:
    return (
        f"crlhf: the server rejected the token ({exc}); set crlhf.token, $CRLHF_TOKEN "
        "or 'token' in the crlhf config file"
    )


def _answer(exc: CrlhfError) -> JsonRpcException:
    return JsonRpcException(
        message=str(exc), code=types.LSPErrorCodes.RequestFailed, data={"code": exc.code}
    )


# ------------------------------------------------------------------ lifecycle


@server.feature(types.INITIALIZE)
def initialize(ls: CrlhfLanguageServer, params: types.InitializeParams) -> None:
    try:
        ls.init_settings = LspSettings.from_options(params.initialization_options)
    except InvalidInput as exc:
        ls.show(f"crlhf: bad initializationOptions: {exc}", types.MessageType.Error)


async def _load_workspace_settings(ls: CrlhfLanguageServer) -> None:
    """Ask the editor for the ``crlhf`` section; commands that reach the server wait for it."""
    workspace = ls.client_capabilities.workspace
    try:
        if workspace and workspace.configuration:
            answer = await ls.workspace_configuration_async(
                types.ConfigurationParams(items=[types.ConfigurationItem(section=SECTION)])
            )
            ls.workspace_settings = LspSettings.from_options(answer[0] if answer else None)
    except InvalidInput as exc:
        ls.show(f"crlhf: bad workspace configuration: {exc}", types.MessageType.Error)
    except JsonRpcException as exc:
        logger.warning("the editor did not answer workspace/configuration: %s", exc)
    finally:
        ls.settings_loaded.set()


async def _check_connection(ls: CrlhfLanguageServer) -> None:
    """Say clearly at start-up when crlhf is not configured or the token is refused."""
    try:
        remote = await ls.remote()
        await remote.client.me()
    except ServerUnreachable as exc:
        logger.info("server not reachable yet (marks and submissions work offline): %s", exc)
    except AuthenticationFailed as exc:
        ls.show(token_rejected(exc), types.MessageType.Error)
    except CrlhfError as exc:
        ls.show(str(exc), types.MessageType.Warning)


@server.feature(types.INITIALIZED)
async def initialized(ls: CrlhfLanguageServer, params: types.InitializedParams) -> None:
    await _load_workspace_settings(ls)
    await _check_connection(ls)


@server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
async def did_change_configuration(
    ls: CrlhfLanguageServer, params: types.DidChangeConfigurationParams
) -> None:
    await _load_workspace_settings(ls)
    await _check_connection(ls)


@server.feature(types.SHUTDOWN)
async def shutdown(ls: CrlhfLanguageServer, params: None) -> None:
    if ls._remote is not None:
        await ls._remote.aclose()
        ls._remote = None


# ------------------------------------------------------------------ documents


def _track(ls: CrlhfLanguageServer, uri: str) -> None:
    task = ls.store.get(uri)
    if task is None:
        return
    task.uri = uri  # answer with the client's own spelling of the URI
    task.update_text(ls.workspace.get_text_document(uri).source)
    ls.refresh(task)


@server.feature(types.TEXT_DOCUMENT_DID_OPEN)
def did_open(ls: CrlhfLanguageServer, params: types.DidOpenTextDocumentParams) -> None:
    _track(ls, params.text_document.uri)


@server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
def did_change(ls: CrlhfLanguageServer, params: types.DidChangeTextDocumentParams) -> None:
    _track(ls, params.text_document.uri)


@server.feature(types.TEXT_DOCUMENT_CODE_ACTION)
def code_action(
    ls: CrlhfLanguageServer, params: types.CodeActionParams
) -> list[types.CodeAction] | None:
    task = ls.store.get(params.text_document.uri)
    return code_actions(task, params.range) if task is not None else None


@server.feature(types.TEXT_DOCUMENT_INLAY_HINT)
def inlay_hint(
    ls: CrlhfLanguageServer, params: types.InlayHintParams
) -> list[types.InlayHint] | None:
    task = ls.store.get(params.text_document.uri)
    if task is None:
        return None
    return inlay_hints(task, ls.workspace.get_text_document(params.text_document.uri), params.range)


# ------------------------------------------------------------------- commands


def command(name: str) -> Callable[[Handler], Handler]:
    """Register a command whose crlhf errors become window messages and error answers."""

    def register(handler: Handler) -> Handler:
        server.command(name)(user_errors(handler))
        return handler

    return register


@command(commands.NEXT_TASK)
async def next_task(ls: CrlhfLanguageServer, *args: Any) -> dict[str, object] | None:
    """Fetch the next sample, write its file and ask the editor to open it."""
    remote = await ls.remote()
    await _sync_quietly(ls, remote)
    task = await remote.next_task(ls.submitted)
    if task is None:
        ls.show("crlhf: no task for you right now; thank you!")
        return None
    document = await asyncio.to_thread(ls.store.add, task)  # file writes off the loop
    window = ls.client_capabilities.window
    can_show = bool(window and window.show_document and window.show_document.support)
    if can_show:
        shown = await ls.window_show_document_async(
            types.ShowDocumentParams(uri=document.uri, take_focus=True)
        )
        can_show = shown.success
    if not can_show:
        ls.show(f"crlhf: open {document.uri} to annotate sample {task.sample_id}")
    return document.summary()


async def _mark(ls: CrlhfLanguageServer, name: str, arguments: Sequence[Any]) -> dict[str, object]:
    parsed = commands.line_args(arguments)
    task = ls.task_for(parsed.uri)
    lines = task.judged_in(parsed.start, parsed.end)
    if not lines:
        raise InvalidInput(
            "no judged line of the sample there (the header and blank lines are not judged)",
            field="startLine",
        )
    task.mark(lines, commands.MARK_COMMANDS[name])
    ls.refresh(task)
    return task.summary()


@command(commands.MARK_WRONG)
async def mark_wrong(ls: CrlhfLanguageServer, *args: Any) -> dict[str, object]:
    return await _mark(ls, commands.MARK_WRONG, args)


@command(commands.MARK_CORRECT)
async def mark_correct(ls: CrlhfLanguageServer, *args: Any) -> dict[str, object]:
    return await _mark(ls, commands.MARK_CORRECT, args)


@command(commands.CLEAR_MARK)
async def clear_mark(ls: CrlhfLanguageServer, *args: Any) -> dict[str, object]:
    return await _mark(ls, commands.CLEAR_MARK, args)


@command(commands.SUBMIT)
async def submit(ls: CrlhfLanguageServer, *args: Any) -> dict[str, object]:
    """Submit the sample: marked wrong lines -1, every other judged line +1."""
    task = ls.task_for(commands.uri_arg(args))
    task.check_unchanged()
    remote = await ls.remote()
    submission = Submission.from_marks(
        uuid4(),
        task.task,
        task.wrong,
        duration_ms=int((time.monotonic() - task.started_at) * 1000),
    )
    result = await remote.submit(submission)
    if result.outcome is Outcome.REJECTED:
        raise CrlhfError(f"the server refused the submission: {result.message}")
    ls.submitted.add(task.task.sample_id)
    task.queued = result.outcome is Outcome.QUEUED
    task.submitted = result.outcome is Outcome.SYNCED
    wrong = len(task.wrong)
    if task.queued:
        ls.show(
            f"crlhf: server unreachable; sample {task.task.sample_id} is saved and will be "
            "sent by the next submit, next task or crlhf.sync",
            types.MessageType.Warning,
        )
    else:
        ls.show(f"crlhf: submitted sample {task.task.sample_id} ({wrong} line(s) wrong)")
        await _load_consensus(remote, task)
    ls.refresh(task)
    return task.summary()


@command(commands.SKIP)
async def skip(ls: CrlhfLanguageServer, *args: Any) -> dict[str, object]:
    """Pass on the sample: the server never serves it to this annotator again.

    A skip needs the server: offline it is not sent and not kept (the sample stays open
    and a later nextTask may bring it back), and the editor says so.
    """
    task = ls.task_for(commands.uri_arg(args))
    sample_id = task.task.sample_id
    if task.submitted or task.queued:
        raise NotServed(
            f"sample {sample_id} is already submitted; only open tasks can be skipped",
            field="uri",
        )
    remote = await ls.remote()
    try:
        await remote.client.skip(sample_id)
    except ServerUnreachable as exc:
        raise ServerUnreachable(
            f"crlhf: server unreachable; sample {sample_id} was not skipped (try again online)"
        ) from exc
    ls.submitted.add(sample_id)
    ls.show(f"crlhf: skipped sample {sample_id}; crlhf.nextTask fetches another")
    return {**task.summary(), "skipped": True}


async def _load_consensus(remote: Remote, task: TaskDocument) -> None:
    found = await remote.consensus(task.task.sample_id)
    task.consensus = {c.line: c for c in found or []}


@command(commands.SHOW_CONSENSUS)
async def show_consensus(ls: CrlhfLanguageServer, *args: Any) -> dict[str, object]:
    task = ls.task_for(commands.uri_arg(args))
    await _load_consensus(await ls.remote(), task)
    ls.refresh(task)
    summary = task.summary()
    summary["consensus"] = {n: c.posterior for n, c in sorted(task.consensus.items())}
    return summary


@command(commands.SYNC)
async def sync(ls: CrlhfLanguageServer, *args: Any) -> dict[str, object]:
    remote = await ls.remote()
    result = await remote.sync()
    _report_rejected(ls, result.rejected)
    if result.offline:
        ls.show(
            f"crlhf: server unreachable; {result.pending} submission(s) wait in the queue",
            types.MessageType.Warning,
        )
    else:
        ls.show(f"crlhf: {result.synced} submission(s) sent, {result.pending} waiting")
    return {"synced": result.synced, "pending": result.pending, "offline": result.offline}


async def _sync_quietly(ls: CrlhfLanguageServer, remote: Remote) -> None:
    """Push what waits in the queue before asking for more work; offline is not an error."""
    result = await remote.sync()
    _report_rejected(ls, result.rejected)


def _report_rejected(ls: CrlhfLanguageServer, rejected: Sequence[Any]) -> None:
    for row in rejected:
        ls.show(
            f"crlhf: the server refused queued submission for {row.submission.sample_id}: "
            f"{row.error_message}",
            types.MessageType.Error,
        )


# ------------------------------------------------------------------------ main


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="crlhf-lsp", description="crlhf language server (LSP over stdio)"
    )
    parser.add_argument("--log-file", help="log here instead of stderr")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug output")
    parser.add_argument("--version", action="version", version=f"crlhf-lsp {__version__}")
    args = parser.parse_args(argv)
    handler: logging.Handler = (
        logging.FileHandler(args.log_file, encoding="utf-8")
        if args.log_file
        else logging.StreamHandler(sys.stderr)
    )
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        handlers=[handler],
    )
    if not args.verbose:
        # pygls logs every message it sends at INFO: tokens and code would fill the log.
        logging.getLogger("pygls").setLevel(logging.WARNING)
        logging.getLogger("httpx").setLevel(logging.WARNING)
    server.start_io()
    return 0


if __name__ == "__main__":
    sys.exit(main())
