"""The language server's side of the network: the core client and the offline queue.

Everything that waits on the network is async; the queue's SQLite writes (each one an
fsync: a submission must survive a crash) run in a worker thread, so the event loop
keeps answering the editor while a submission is saved or a slow server thinks.

A submission is queued first and then synced, exactly as the TUI does, so pressing
submit while offline loses nothing: the next submit, next task or ``crlhf.sync`` sends
it with the same id, and the server's idempotent ids make the replay harmless.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from crlhf.client import CrlhfClient
from crlhf.client_config import ClientConfig
from crlhf.errors import NotServed, PermissionDenied
from crlhf.offline_queue import OfflineQueue, SyncResult
from crlhf.prefetch import fetch_unseen
from crlhf.schemas import LineConsensus, Submission, Task

logger = logging.getLogger(__name__)

SYNC_ATTEMPTS = 2
"""Retries per batch inside one editor action: an annotator waits for the answer, and
anything still pending is retried by the next action anyway."""


class Outcome(StrEnum):
    SYNCED = "synced"
    QUEUED = "queued"
    REJECTED = "rejected"


@dataclass(frozen=True)
class SubmitResult:
    outcome: Outcome
    message: str | None = None
    """The server's reason, for a rejected submission."""


class Remote:
    """One server, one annotator: an HTTP client and that pair's offline queue."""

    def __init__(self, config: ClientConfig, client: CrlhfClient, queue: OfflineQueue) -> None:
        self.config = config
        self.client = client
        self.queue = queue

    @classmethod
    async def open(cls, config: ClientConfig, queue_dir: Path | None = None) -> Remote:
        queue = await asyncio.to_thread(OfflineQueue.for_config, config, queue_dir)
        return cls(config, CrlhfClient.from_config(config), queue)

    async def aclose(self) -> None:
        await self.client.aclose()
        await asyncio.to_thread(self.queue.close)

    async def sync(self) -> SyncResult:
        """Push pending submissions; authentication errors propagate (nothing changes)."""
        return await self.queue.sync(self.client, max_attempts=SYNC_ATTEMPTS)

    async def next_task(self, skip: set[str]) -> Task | None:
        """The next task not in ``skip`` (samples submitted in this session) nor queued.

        The server serves unsubmitted tasks again first; a sample whose submission still
        waits in the queue looks unsubmitted to it, so ask for just enough to get past
        those (every task served is an assignment the server records).
        """
        pending = await asyncio.to_thread(self.queue.pending_sample_ids)
        fresh = await fetch_unseen(self.client, 1, pending, skip | pending)
        return fresh[0] if fresh else None

    async def submit(self, submission: Submission) -> SubmitResult:
        """Queue durably, then try to sync; say where the submission ended up."""
        await asyncio.to_thread(self.queue.enqueue, submission)
        result = await self.sync()
        mine = submission.submission_id
        refused = next((r for r in result.rejected if r.submission_id == mine), None)
        if refused is not None:
            return SubmitResult(Outcome.REJECTED, refused.error_message)
        still_pending = {r.submission_id for r in await asyncio.to_thread(self.queue.pending)}
        return SubmitResult(Outcome.QUEUED if mine in still_pending else Outcome.SYNCED)

    async def consensus(self, sample_id: str) -> list[LineConsensus] | None:
        """The crowd's consensus, or None where the server does not show it to this annotator."""
        try:
            return await self.client.consensus(sample_id)
        except (PermissionDenied, NotServed) as exc:
            logger.info("consensus of %s not available: %s", sample_id, exc)
            return None
