"""Fixtures shared by every test folder.

``live_server`` starts a real ``python -m crlhf serve`` process on a temp database and a
free port: the end-to-end tests of the server, the admin CLI, the TUI and the language
server all use this one fixture. Every test also gets private client config/data dirs,
so nothing ever reads or writes the real home directory.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
ADMIN_TOKEN = "test-admin-token-0123456789abcdef"
START_TIMEOUT_S = 60.0
"""Generous: two cores shared with other test runs, and the first start seeds the db."""


@pytest.fixture(autouse=True)
def _private_client_dirs(tmp_path_factory: pytest.TempPathFactory, monkeypatch) -> None:
    """Point the client config and data dirs (offline queues) at a fresh temp dir."""
    root = tmp_path_factory.mktemp("client-home")
    monkeypatch.setenv("CRLHF_CONFIG_DIR", str(root / "config"))
    monkeypatch.setenv("CRLHF_DATA_DIR", str(root / "data"))
    for name in ("CRLHF_SERVER", "CRLHF_TOKEN", "CRLHF_ADMIN_TOKEN"):
        monkeypatch.delenv(name, raising=False)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LiveServer:
    """A real ``crlhf serve`` process; :meth:`stop` and :meth:`start` keep db and port.

    ``env`` overrides the server's environment (e.g. ``CRLHF_WARMUP_HONEYPOTS``);
    ``log_path`` collects its stdout and stderr, shown when it fails to start.
    """

    db_path: Path
    log_path: Path
    port: int = field(default_factory=free_port)
    admin_token: str = ADMIN_TOKEN
    env: Mapping[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CRLHF_")}
        env["CRLHF_ADMIN_TOKEN"] = self.admin_token
        env["PYTHONUNBUFFERED"] = "1"
        env.update(self.env)
        return env

    def start(self, timeout: float = START_TIMEOUT_S) -> None:
        """Start the server and wait until ``/v1/health`` answers."""
        if self.process is not None and self.process.poll() is None:
            return
        command = [sys.executable, "-m", "crlhf", "serve", "--db", str(self.db_path)]
        command += ["--host", "127.0.0.1", "--port", str(self.port)]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                command,
                cwd=REPO_ROOT,
                env=self._environment(),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"crlhf serve exited with {self.process.returncode}:\n{self.log()}"
                )
            try:
                if httpx.get(f"{self.url}/v1/health", timeout=1.0).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"crlhf serve did not answer within {timeout} s:\n{self.log()}")

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> None:
        """Stop the server (SIGTERM: graceful; pass SIGKILL to simulate a crash)."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)
        self.process = None

    def kill(self) -> None:
        """SIGKILL: no shutdown handlers run, as in a crash."""
        self.stop(signal.SIGKILL)

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except FileNotFoundError:
            return "(no output)"


@pytest.fixture
def live_server_factory(tmp_path: Path) -> Iterator[Callable[..., LiveServer]]:
    """Start extra servers (or one with settings): ``live_server_factory(env={...})``."""
    started: list[LiveServer] = []

    def make(env: Mapping[str, str] | None = None, name: str = "server") -> LiveServer:
        server = LiveServer(
            db_path=tmp_path / f"{name}-{len(started)}.db",
            log_path=tmp_path / f"{name}-{len(started)}.log",
            env=dict(env or {}),
        )
        started.append(server)
        server.start()
        return server

    yield make
    for server in started:
        server.stop()


@pytest.fixture
def live_server(live_server_factory: Callable[..., LiveServer]) -> LiveServer:
    """A seeded ``crlhf serve`` on a temp db and a free port, admin token ``ADMIN_TOKEN``."""
    return live_server_factory()
