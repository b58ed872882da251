"""Wiring for one configured server: the core's client, offline queue and the sync loop.

Kept apart from the App so tests can hand the App a session built on a fake client, and
so the App itself stays free of network and storage details.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from crlhf_tui.sync import SyncService, TuiClient

from crlhf.client import CrlhfClient
from crlhf.client_config import ClientConfig
from crlhf.offline_queue import OfflineQueue
from crlhf.schemas import Annotator


@dataclass
class Session:
    server: str
    client: TuiClient
    queue: OfflineQueue
    sync: SyncService

    async def aclose(self) -> None:
        await self.client.aclose()
        self.queue.close()


def open_session(
    config: ClientConfig, *, prefetch: int = 3, queue_dir: Path | None = None
) -> Session:
    """Open the queue for this server and token (``<data dir>/queue-<hash>.db``) and a
    client; nothing touches the network until the sync loop runs."""
    client = CrlhfClient.from_config(config)
    queue = OfflineQueue.for_config(config, queue_dir)
    sync = SyncService(client, queue, prefetch=prefetch)
    return Session(config.server, client, queue, sync)


async def check_token(config: ClientConfig) -> Annotator:
    """Who the token belongs to; raises AuthenticationFailed or ServerUnreachable."""
    async with CrlhfClient.from_config(config) as client:
        return await client.me()
