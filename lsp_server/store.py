"""Task files on disk and the task documents the server knows, keyed by file.

A fetched task is written as ``<tasks dir>/<sample>.py`` with its :class:`Task` beside it
in ``.<sample>.task.json``, so the language server recognises the file again after a
restart (the annotator reopens it and keeps marking). Documents are keyed by resolved
file path rather than URI text, because editors spell the same file's URI differently
(percent-encoding, drive-letter case).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from crlhf_lsp.documents import TaskDocument, render, task_file_name
from pydantic import ValidationError
from pygls import uris

from crlhf.schemas import Task

logger = logging.getLogger(__name__)


def _key(uri: str) -> Path | None:
    path = uris.to_fs_path(uri)
    return Path(path).resolve() if path else None


class TaskStore:
    def __init__(self, tasks_dir: Path) -> None:
        self.tasks_dir = tasks_dir
        self._documents: dict[Path, TaskDocument] = {}

    def _sidecar(self, path: Path) -> Path:
        return path.with_name(f".{path.stem}.task.json")

    def add(self, task: Task) -> TaskDocument:
        """Write a task's file (unless an open one exists) and register its document.

        A task served again (the server re-serves unsubmitted ones) keeps its marks.
        """
        self.tasks_dir.mkdir(parents=True, exist_ok=True)
        path = (self.tasks_dir / task_file_name(task.sample_id)).resolve()
        existing = self._documents.get(path)
        if existing is not None and existing.task.sample_id == task.sample_id:
            return existing
        _write_atomic(self._sidecar(path), task.model_dump_json())
        _write_atomic(path, render(task))
        uri = uris.from_fs_path(str(path))
        assert uri is not None  # an absolute local path always has a file URI
        document = TaskDocument(task=task, uri=uri)
        self._documents[path] = document
        return document

    def documents(self) -> list[TaskDocument]:
        """Every task document known so far."""
        return list(self._documents.values())

    def get(self, uri: str) -> TaskDocument | None:
        """The task shown by ``uri``: known already, or a task file written earlier."""
        key = _key(uri)
        if key is None:
            return None
        if (found := self._documents.get(key)) is not None:
            return found
        sidecar = self._sidecar(key)
        if key.parent != self.tasks_dir.resolve() or not sidecar.is_file():
            return None
        try:
            task = Task.model_validate_json(sidecar.read_text(encoding="utf-8"))
        except (OSError, ValidationError) as exc:
            logger.warning("ignoring unreadable task file %s: %s", sidecar, exc)
            return None
        document = TaskDocument(task=task, uri=uri)
        self._documents[key] = document
        return document


def _write_atomic(path: Path, text: str) -> None:
    """Write via a temp file and rename, so an editor never opens half a task."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8", newline="")
    os.replace(tmp, path)
