"""The language server's state: settings, task documents, marks store, connection.

Kept apart from the handlers in :mod:`lsp_server.server`, which register on the one
instance made there; :mod:`lsp_server.submitting` works on the same object.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3

from crlhf_lsp.config import LspSettings
from crlhf_lsp.documents import TaskDocument
from crlhf_lsp.features.diagnostics import diagnostics
from crlhf_lsp.messages import EditorTerms, terms_for
from crlhf_lsp.store import TaskStore
from crlhf_lsp.sync import Remote
from lsprotocol import types
from pygls import uris
from pygls.lsp.server import LanguageServer

from crlhf import __version__
from crlhf.errors import CrlhfError, InvalidInput
from crlhf.marks_store import MarksStore

logger = logging.getLogger(__name__)


class CrlhfLanguageServer(LanguageServer):
    """Holds the settings, the known task documents and the connection to the server."""

    def __init__(self) -> None:
        super().__init__(
            "crlhf-lsp", __version__, text_document_sync_kind=types.TextDocumentSyncKind.Incremental
        )
        self.init_settings = LspSettings()
        self.workspace_settings = LspSettings()
        self.client_name: str | None = None
        self._store: TaskStore | None = None
        self._marks: MarksStore | None = None
        self._remote: Remote | None = None
        self._remote_lock = asyncio.Lock()
        """Handlers run concurrently: without it two could each open a Remote (and its
        queue file) for the same settings, leaking one."""
        self.settings_loaded = asyncio.Event()
        """Set once the workspace configuration was asked for (commands wait for it)."""
        self.submitted: set[str] = set()
        """Samples submitted (or queued) or skipped in this session: nextTask passes them."""
        self.online: bool | None = None
        """Whether the last call to the server got an answer (None: none made yet)."""

    @property
    def settings(self) -> LspSettings:
        return self.init_settings.overlay(self.workspace_settings)

    @property
    def terms(self) -> EditorTerms:
        """How the editor in use names crlhf's settings and commands."""
        return terms_for(self.settings.editor, self.client_name)

    @property
    def store(self) -> TaskStore:
        """Task files in the configured directory (a new store if the setting changed)."""
        tasks_dir = self.settings.resolved_tasks_dir()
        if self._store is None or self._store.tasks_dir != tasks_dir:
            self._store = TaskStore(tasks_dir)
        return self._store

    def marks(self) -> MarksStore:
        """The marks store in the client data dir, opened on first use."""
        if self._marks is None:
            self._marks = MarksStore.open_default()
        return self._marks

    def show(self, message: str, kind: types.MessageType = types.MessageType.Info) -> None:
        """A window message; every one starts with ``crlhf:`` so the annotator knows its source."""
        message = message if message.startswith("crlhf") else f"crlhf: {message}"
        logger.log(logging.ERROR if kind == types.MessageType.Error else logging.INFO, message)
        self.window_show_message(types.ShowMessageParams(type=kind, message=message))

    async def remote(self) -> Remote:
        """The connection for the current settings (raises :class:`InvalidInput` if none)."""
        await self.settings_loaded.wait()
        config = self.settings.client_config(self.terms)
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
            raise InvalidInput(
                f"{uris.to_fs_path(uri) or uri} is not a crlhf task file; "
                f"{self.terms.next_command} opens one"
            )
        return task

    def restore(self, task: TaskDocument) -> None:
        """Bring back what the marks store holds for a task the first time it is seen."""
        if task.restored:
            return
        task.restored = True
        try:
            stored = self.marks().load(task.task)
        except (sqlite3.Error, CrlhfError) as exc:
            logger.warning("marks store unreadable, marks start empty: %s", exc)
            return
        task.marks = dict(stored.marks)
        task.submission = stored.submitted

    def save(self, task: TaskDocument) -> None:
        """Write a task's marks and submission state through (each mark, as it is made)."""
        try:
            self.marks().save(task.task, task.stored())
        except (sqlite3.Error, CrlhfError) as exc:
            self.show(f"crlhf: could not save marks ({exc}); they last until the editor quits")

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
