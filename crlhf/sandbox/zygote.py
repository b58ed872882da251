"""Host-side handle on a zygote: the long-lived process that forks one runner per problem.

A zygote is started once per worker and pays Python's start-up and the common imports
once; each job it receives becomes a fresh runner process (its own session, namespace,
uid and temp dir). Messages come back one per line as literal dicts, read here with a
deadline per line. A zygote whose stream is in any doubt is killed, never reused.
"""

from __future__ import annotations

import ast
import contextlib
import functools
import marshal
import os
import queue
import selectors
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from crlhf.errors import SandboxError

STARTUP_TIMEOUT_S = 60.0
"""How long a zygote or runner may take to start (generous: a loaded machine)."""


@functools.cache
def runner_source() -> str:
    return (Path(__file__).parent / "runner.py").read_text(encoding="utf-8")


class Zygote:
    """One zygote process and the reader of its stdout."""

    def __init__(self, python: str) -> None:
        self._errors = tempfile.TemporaryFile()  # noqa: SIM115 - closed in close()
        self.proc = subprocess.Popen(
            [python, "-I", "-S", "-c", runner_source(), str(os.getpid())],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._errors,
            cwd="/",
            env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
            start_new_session=True,
            close_fds=True,
        )
        assert self.proc.stdout is not None
        self._fd = self.proc.stdout.fileno()
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._fd, selectors.EVENT_READ)
        self._buffer = b""
        self.eof = False
        self.healthy = False
        """Set by the borrower when a job ended cleanly: only then is the zygote reused."""

    def send(self, job: dict[str, Any]) -> None:
        data = marshal.dumps(job)
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(len(data).to_bytes(4, "big") + data)
            self.proc.stdin.flush()
        except BrokenPipeError:
            self.eof = True

    def line(self, timeout_s: float) -> dict[str, Any] | None:
        """The next message, or None at EOF or when the deadline passes."""
        deadline = time.monotonic() + timeout_s
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if self.eof or left <= 0:
                return None
            if self._selector.select(left):
                chunk = os.read(self._fd, 65536)
                self.eof = not chunk
                self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\n", 1)
        try:
            value = ast.literal_eval(raw.decode("utf-8", "replace"))
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            value = None
        if not isinstance(value, dict):
            raise SandboxError(f"sandbox sent {raw[:200]!r}")
        return value

    def stderr_tail(self) -> str:
        self._errors.seek(0)
        return self._errors.read()[-2000:].decode(errors="replace")

    def close(self) -> None:
        """Stop the zygote: closing stdin ends it; SIGKILL if it does not go at once."""
        with contextlib.suppress(OSError):
            assert self.proc.stdin is not None
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=1.0)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self._selector.close()
        assert self.proc.stdout is not None
        self.proc.stdout.close()
        self._errors.close()


class ZygotePool:
    """Idle zygotes shared by the worker threads of one ``run``/``run_many`` call."""

    def __init__(self, python: str) -> None:
        self._python = python
        self._idle: queue.SimpleQueue[Zygote] = queue.SimpleQueue()
        self._all: list[Zygote] = []

    @contextlib.contextmanager
    def zygote(self) -> Iterator[Zygote]:
        """Lend a healthy zygote; the borrower sets ``healthy`` false to have it killed."""
        try:
            zygote = self._idle.get_nowait()
        except queue.Empty:
            zygote = Zygote(self._python)
            self._all.append(zygote)
        zygote.healthy = False
        try:
            yield zygote
        finally:
            if zygote.healthy and zygote.proc.poll() is None:
                self._idle.put(zygote)
            else:
                zygote.close()

    def close(self) -> None:
        for zygote in self._all:
            if zygote.proc.returncode is None:
                zygote.close()
