"""crlhf-lsp: annotate generated code from inside an editor.

The server speaks LSP over stdio. Tasks are files (see :mod:`lsp_server.documents`);
marks are code actions and commands; feedback is diagnostics and inlay hints. Nothing
but the protocol may reach stdout (a stray print corrupts the stream and Neovim drops the
client), so logging goes to stderr or ``--log-file``.

The handlers live here; the state they share is :mod:`lsp_server.language_server`, the
submit/revise flow :mod:`lsp_server.submitting`, error answers :mod:`lsp_server.answers`.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Callable, Sequence
from typing import Any

from crlhf_lsp import submitting
from crlhf_lsp.answers import Handler, UserErrorsOnce, user_errors
from crlhf_lsp.config import SECTION, LspSettings
from crlhf_lsp.documents import TaskDocument
from crlhf_lsp.features import commands
from crlhf_lsp.features.code_actions import code_actions
from crlhf_lsp.features.inlay_hints import inlay_hints
from crlhf_lsp.language_server import CrlhfLanguageServer
from crlhf_lsp.messages import count, not_crlhf, token_rejected, unreachable, user_text
from lsprotocol import types
from pygls.exceptions import JsonRpcException

from crlhf import __version__
from crlhf.errors import (
    AuthenticationFailed,
    CrlhfError,
    InvalidInput,
    NotFound,
    NotServed,
    ServerUnreachable,
)

logger = logging.getLogger(__name__)


server = CrlhfLanguageServer()


# ------------------------------------------------------------------ lifecycle


@server.feature(types.INITIALIZE)
def initialize(ls: CrlhfLanguageServer, params: types.InitializeParams) -> None:
    ls.client_name = params.client_info.name if params.client_info else None
    try:
        ls.init_settings = LspSettings.from_options(params.initialization_options)
    except InvalidInput as exc:
        ls.show(f"crlhf: bad initializationOptions: {user_text(exc)}", types.MessageType.Error)


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
        ls.show(f"crlhf: bad settings: {user_text(exc)}", types.MessageType.Error)
    except JsonRpcException as exc:
        logger.warning("the editor did not answer workspace/configuration: %s", exc)
    finally:
        ls.settings_loaded.set()


async def _check_connection(ls: CrlhfLanguageServer) -> None:
    """Say clearly at start-up what is wrong: not configured, unreachable, not crlhf, token."""
    try:
        remote = await ls.remote()
    except CrlhfError as exc:
        ls.show(user_text(exc), types.MessageType.Warning)
        return
    url = remote.config.server
    try:
        await remote.client.me()
        ls.online = True
    except ServerUnreachable as exc:
        ls.online = False
        ls.show(
            unreachable(url, exc, ls.terms)
            + "; marks are kept and submissions wait until it answers",
            types.MessageType.Warning,
        )
    except AuthenticationFailed:
        ls.online = True
        ls.show(token_rejected(url, ls.terms), types.MessageType.Error)
    except CrlhfError as exc:
        ls.online = True
        generic = type(exc) is CrlhfError or isinstance(exc, NotFound)
        message = not_crlhf(url, exc, ls.terms) if generic else user_text(exc)
        ls.show(message, types.MessageType.Warning)


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
    if ls._marks is not None:
        ls._marks.close()
        ls._marks = None


# ------------------------------------------------------------------ documents


def _track(ls: CrlhfLanguageServer, uri: str) -> TaskDocument | None:
    task = ls.store.get(uri)
    if task is None:
        return None
    task.uri = uri  # answer with the client's own spelling of the URI
    first_time = not task.restored
    ls.restore(task)
    task.update_text(ls.workspace.get_text_document(uri).source)
    ls.refresh(task)
    return task if first_time else None


@server.feature(types.TEXT_DOCUMENT_DID_OPEN)
async def did_open(ls: CrlhfLanguageServer, params: types.DidOpenTextDocumentParams) -> None:
    task = _track(ls, params.text_document.uri)
    if task is not None:
        await submitting.refresh_own(ls, task)


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
    sent = await submitting.sync_quietly(ls, remote)
    task = await remote.next_task(ls.submitted)
    ls.online = True
    if task is None:
        ls.show(f"crlhf: {sent}no task for you right now; thank you!")
        return None
    document = await asyncio.to_thread(ls.store.add, task)  # file writes off the loop
    ls.restore(document)
    window = ls.client_capabilities.window
    can_show = bool(window and window.show_document and window.show_document.support)
    if can_show:
        shown = await ls.window_show_document_async(
            types.ShowDocumentParams(uri=document.uri, take_focus=True)
        )
        can_show = shown.success
    if not can_show:
        ls.show(f"crlhf: {sent}open {document.uri} to annotate sample {task.sample_id}")
    elif sent:
        ls.show(f"crlhf: {sent.rstrip('; ')}")
    return document.summary()


async def _mark(ls: CrlhfLanguageServer, name: str, arguments: Sequence[Any]) -> dict[str, object]:
    parsed = commands.line_args(arguments)
    task = ls.task_for(parsed.uri)
    ls.restore(task)
    lines = task.judged_in(parsed.start, parsed.end)
    if not lines:
        where = (
            f"line {parsed.start + 1}"
            if parsed.start == parsed.end
            else f"lines {parsed.start + 1}-{parsed.end + 1}"
        )
        raise InvalidInput(
            f"{where} is not judged: only the code's non-blank lines are, not the header "
            "or blank lines"
        )
    task.mark(lines, commands.MARK_COMMANDS[name])
    ls.save(task)
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
    return await submitting.send(ls, args, revise=False)


@command(commands.REVISE)
async def revise(ls: CrlhfLanguageServer, *args: Any) -> dict[str, object]:
    """Submit again on purpose: the new revision replaces the current one."""
    return await submitting.send(ls, args, revise=True)


@command(commands.STATUS)
async def status(ls: CrlhfLanguageServer, *args: Any) -> dict[str, object]:
    """The task's state, the queue and the connection, without changing anything."""
    return await submitting.status(ls, args)


@command(commands.SKIP)
async def skip(ls: CrlhfLanguageServer, *args: Any) -> dict[str, object]:
    """Pass on the sample: the server never serves it to this annotator again.

    A skip needs the server: offline it is not sent and not kept (the sample stays open
    and a later nextTask may bring it back), and the editor says so.
    """
    task = ls.task_for(commands.uri_arg(args))
    ls.restore(task)
    sample_id = task.task.sample_id
    if task.submission is not None:
        raise NotServed(f"sample {sample_id} is already submitted; only open tasks can be skipped")
    remote = await ls.remote()
    try:
        await remote.client.skip(sample_id)
    except ServerUnreachable as exc:
        ls.online = False
        raise ServerUnreachable(
            unreachable(remote.config.server, exc, ls.terms)
            + f"; sample {sample_id} was not skipped (try again online)"
        ) from exc
    ls.submitted.add(sample_id)
    ls.show(f"crlhf: skipped sample {sample_id}; {ls.terms.next_command} fetches another")
    return {**task.summary(), "skipped": True}


@command(commands.SHOW_CONSENSUS)
async def show_consensus(ls: CrlhfLanguageServer, *args: Any) -> dict[str, object]:
    task = ls.task_for(commands.uri_arg(args))
    ls.restore(task)
    if task.submission is None:
        raise NotServed(
            f"submit sample {task.task.sample_id} first: the crowd's consensus is shown "
            "only after your own judgement"
        )
    await submitting.load_consensus(await ls.remote(), task)
    ls.refresh(task)
    summary = task.summary()
    summary["consensus"] = {n: c.posterior for n, c in sorted(task.consensus.items())}
    return summary


@command(commands.SYNC)
async def sync(ls: CrlhfLanguageServer, *args: Any) -> dict[str, object]:
    remote = await ls.remote()
    result = await remote.sync()
    ls.online = not result.offline
    submitting.report_rejected(ls, result.rejected)
    if result.offline:
        ls.show(
            unreachable(remote.config.server, None, ls.terms)
            + f"; {count(result.pending, 'submission')} wait in the queue",
            types.MessageType.Warning,
        )
    else:
        ls.show(f"crlhf: {count(result.synced, 'submission')} sent, {result.pending} waiting")
        await submitting.after_sync(ls, remote)
    return {"synced": result.synced, "pending": result.pending, "offline": result.offline}


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
    logging.getLogger("pygls.protocol.json_rpc").addFilter(UserErrorsOnce())
    if not args.verbose:
        # pygls logs every message it sends at INFO: tokens and code would fill the log.
        logging.getLogger("pygls").setLevel(logging.WARNING)
        logging.getLogger("httpx").setLevel(logging.WARNING)
    server.start_io()
    return 0


if __name__ == "__main__":
    sys.exit(main())
