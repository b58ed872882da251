"""The demo's child processes: ``crlhf serve`` and ``crlhf worker``, each logging to a file.

Real processes, not in-process apps, because the demo is meant to run what a deployment
runs. Each starts in its own session, so a Ctrl-C in the terminal reaches only the demo,
which then stops its children in order (worker first, then the server) instead of leaving
the server to die mid-write.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import httpx

from crlhf.errors import CrlhfError, ServerUnreachable

STOP_TIMEOUT_S = 20.0
LOG_TAIL_CHARS = 2_000


def free_port() -> int:
    """A TCP port that nothing listens on now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class CrlhfProcess:
    """``python -m crlhf <arguments>`` with its output in ``log_path``."""

    def __init__(
        self, name: str, arguments: Sequence[str], log_path: Path, env: Mapping[str, str]
    ) -> None:
        self.name = name
        self.arguments = list(arguments)
        self.log_path = log_path
        self.env = dict(env)
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        environment = {**os.environ, "PYTHONUNBUFFERED": "1", **self.env}
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "crlhf", *self.arguments],
                env=environment,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    def exited(self) -> int | None:
        """The exit status once the process has ended; None while it runs (or never ran)."""
        return None if self.process is None else self.process.poll()

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it does not end in time. Safe to call twice."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=STOP_TIMEOUT_S)
        self.process = None

    def log_tail(self) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return "(no output)"
        return text[-LOG_TAIL_CHARS:].strip() or "(no output)"


def start_server(
    db: Path, log_path: Path, *, admin_token: str, settings: Mapping[str, str], timeout: float
) -> tuple[CrlhfProcess, str]:
    """Start ``crlhf serve`` on ``db`` and a free port; return it and its URL once healthy.

    ``settings`` are server settings by name (``max_annotators_per_sample``...), passed as
    the ``CRLHF_*`` environment variables that :class:`server.settings.Settings` reads.
    """
    port = free_port()
    env = {f"CRLHF_{key.upper()}": value for key, value in settings.items()}
    env["CRLHF_ADMIN_TOKEN"] = admin_token
    arguments = ["serve", "--db", str(db), "--host", "127.0.0.1", "--port", str(port)]
    server = CrlhfProcess("server", arguments, log_path, env)
    server.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = server.exited()
        if status is not None:
            raise CrlhfError(f"crlhf serve exited with {status}:\n{server.log_tail()}")
        try:
            if httpx.get(f"{url}/v1/health", timeout=1.0).status_code == 200:
                return server, url
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    server.stop()
    raise ServerUnreachable(
        f"crlhf serve did not answer within {timeout:.0f} s:\n{server.log_tail()}"
    )
