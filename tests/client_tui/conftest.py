"""Build the App on the in-memory fake server, with a real offline queue in a temp dir."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from crlhf_tui.app import CrlhfTui
from crlhf_tui.session import Session
from crlhf_tui.sync import SyncService

from crlhf.client_config import ClientConfig
from crlhf.offline_queue import OfflineQueue
from crlhf.schemas import Task
from tests.client_tui.fakes import FakeClient, make_task

CONFIG = ClientConfig(server="http://crlhf.test:8000", token="fake-token")


@dataclass
class FakeRig:
    app: CrlhfTui
    client: FakeClient
    queue_path: Path


@pytest.fixture
def rig(tmp_path: Path) -> Callable[..., FakeRig]:
    def make(
        tasks: list[Task] | None = None,
        *,
        online: bool = True,
        background: bool = True,
        prefetch: int = 3,
    ) -> FakeRig:
        client = FakeClient([make_task(f"s{i}") for i in range(4)] if tasks is None else tasks)
        client.online = online
        queue_path = tmp_path / "queue.db"

        def connect(config: ClientConfig) -> Session:
            queue = OfflineQueue(queue_path)
            sync = SyncService(client, queue, prefetch=prefetch, min_delay=0.05, max_delay=0.2)
            return Session(config.server, client, queue, sync)

        app = CrlhfTui(CONFIG, connect=connect, background=background, save_config=False)
        return FakeRig(app, client, queue_path)

    return make
