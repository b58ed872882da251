"""Background work: drain the offline queue, keep tasks prefetched, refresh stats.

The annotation screen never waits on the network: it takes tasks from the core's
:class:`~crlhf.prefetch.TaskPrefetcher` buffer and hands submissions to the core's
persistent :class:`~crlhf.offline_queue.OfflineQueue`, both local and instant. This
service does the network half in a loop, backing off exponentially while the server is
unreachable and starting a round at once when a submission wakes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from crlhf.errors import AuthenticationFailed, CrlhfError, ServerUnreachable
from crlhf.offline_queue import OfflineQueue
from crlhf.prefetch import TaskPrefetcher
from crlhf.schemas import AnnotatorStats, BatchReceipt, Label, LineConsensus, Submission, Task

logger = logging.getLogger(__name__)


class Connection(StrEnum):
    CONNECTING = "connecting"
    ONLINE = "online"
    OFFLINE = "offline"


class TuiClient(Protocol):
    """The part of :class:`crlhf.client.CrlhfClient` the background work uses."""

    async def next_tasks(self, count: int = 1, /) -> list[Task]: ...

    async def stats(self) -> AnnotatorStats: ...

    async def submit_batch(self, submissions: list[Submission], /) -> BatchReceipt: ...

    async def skip(self, sample_id: str, /) -> None: ...

    async def consensus(self, sample_id: str, /) -> list[LineConsensus]: ...

    async def aclose(self) -> None: ...


@dataclass(frozen=True)
class ConsensusNote:
    """The crowd's consensus on a sample this annotator's submission reached the server for."""

    submission: Submission
    lines: list[LineConsensus]

    def summary(self) -> str:
        """One line for a notification: which lines the crowd thinks wrong, and how far
        the annotator agrees (said plainly when nobody else has judged it yet)."""
        sample = self.submission.sample_id
        if not any(c.n_votes > 1 for c in self.lines):
            return f"{sample}: you are its first judge; the crowd's view needs more votes."
        mine = {item.line: item.label for item in self.submission.labels}
        wrong = [c.line for c in self.lines if c.label is Label.WRONG]
        agree = sum(1 for c in self.lines if mine.get(c.line) is c.label)
        crowd = f"lines {', '.join(map(str, wrong))} wrong" if wrong else "every line correct"
        return f"Crowd on {sample}: {crowd}; you agree on {agree} of {len(self.lines)} lines."


@dataclass(frozen=True)
class SyncStatus:
    """What the header, the stats screen and the empty-screen notice show."""

    connection: Connection
    queued: int
    stats: AnnotatorStats | None
    exhausted: bool
    """The server answered and had nothing new for this annotator, and none is buffered."""

    @property
    def samples_today(self) -> int | None:
        return self.stats.samples_today if self.stats else None


class SyncService:
    """Owns the prefetch buffer and the network side of the offline queue.

    The queue's own retries are turned off (``max_attempts=1``): this loop is the one
    place that waits and retries, so the header flips to "offline" at the first failed
    round instead of after the queue's private backoff.
    """

    def __init__(
        self,
        client: TuiClient,
        queue: OfflineQueue,
        *,
        prefetch: int = 3,
        min_delay: float = 1.0,
        max_delay: float = 30.0,
        poll: float = 15.0,
    ) -> None:
        self.client = client
        self.queue = queue
        self.prefetcher = TaskPrefetcher(client, size=prefetch, exclude=queue.pending_sample_ids)
        self.min_delay = min_delay
        self.max_delay = max_delay
        self.poll = poll
        self.connection = Connection.CONNECTING
        self.stats: AnnotatorStats | None = None
        self._failures = 0
        self._last_error: str | None = None
        self._wake = asyncio.Event()
        self._awaiting: dict[str, Submission] = {}
        """This session's submissions, latest per sample, whose consensus is not shown yet."""
        self._notes: list[ConsensusNote] = []

    # ------------------------------------------------------- screen side, local

    def take_task(self) -> Task | None:
        """The next prefetched task, or None when the buffer is empty; never waits.

        Taking a task wakes the loop to top the buffer up; finding it empty does not (the
        loop is already polling or backing off, and waking it would hammer the server).
        """
        task = self.prefetcher.take()
        if task is not None:
            self.wake()
        return task

    def submit(self, submission: Submission) -> None:
        """Persist ``submission`` in the offline queue (committed before this returns),
        then let the loop send it."""
        self.queue.enqueue(submission)
        self.prefetcher.finish(submission.sample_id)
        self._awaiting[submission.sample_id] = submission
        self.wake()

    def take_consensus(self) -> list[ConsensusNote]:
        """Consensus fetched since the last call, for the samples this session submitted."""
        notes, self._notes = self._notes, []
        return notes

    def skip(self, task: Task) -> None:
        """Never show it again; the next round tells the server (retried while offline)."""
        self.prefetcher.skip(task.sample_id)
        self.wake()

    def wake(self) -> None:
        """Start the next round now instead of after the current delay."""
        self._wake.set()

    def status(self) -> SyncStatus:
        return SyncStatus(
            connection=self.connection,
            queued=self.queue.count(),
            stats=self.stats,
            exhausted=self.prefetcher.exhausted and not len(self.prefetcher),
        )

    @property
    def delay(self) -> float:
        """Seconds until the next round: exponential backoff while failing, else ``poll``."""
        if self._failures == 0:
            return self.poll
        return float(min(self.max_delay, self.min_delay * 2 ** (self._failures - 1)))

    # ------------------------------------------------------------ network side

    async def tick(self) -> list[str]:
        """One round: send the queue, send skips and refill the buffer, refresh stats.

        Returns messages for the user (the server refused a submission, rejected the
        token...). An unreachable server is not an error to report: it flips
        ``connection`` to offline and backs off, and the queue keeps everything.
        """
        messages: list[str] = []
        try:
            result = await self.queue.sync(self.client, max_attempts=1)
            messages.extend(
                f"The server refused a submission for sample {row.submission.sample_id}: "
                f"{row.error_message}"
                for row in result.rejected
            )
            if result.offline:
                raise ServerUnreachable("the queue could not be sent")
            try:
                await self.prefetcher.refill()
            finally:
                messages.extend(self.prefetcher.take_refusals())
            self.stats = await self.client.stats()
            await self._fetch_consensus()
        except ServerUnreachable as exc:
            logger.info("server unreachable: %s", exc)
            self.connection = Connection.OFFLINE
            self._failures += 1
            return messages
        except CrlhfError as exc:
            # A bad token, a server bug: the server is there but this round failed.
            logger.warning("sync round failed: %s", exc)
            self.connection = Connection.ONLINE
            self._failures += 1
            hint = (
                " (crlhf-tui --login signs in again)"
                if isinstance(exc, AuthenticationFailed)
                else ""
            )
            error = f"{exc}{hint}"
            # Said once, not again every retry while the cause persists.
            repeated, self._last_error = error == self._last_error, error
            return messages if repeated else [*messages, error]
        self.connection = Connection.ONLINE
        self._failures = 0
        self._last_error = None
        return messages

    async def _fetch_consensus(self) -> None:
        """The crowd's view of each submitted sample once the server has the submission
        (after sending, as the editors show it). A refusal (the submission was rejected)
        drops it; an unreachable server leaves it for the next round."""
        pending = self.queue.pending_sample_ids()
        refused = {row.submission_id for row in self.queue.rejected()}
        for sample_id, submission in list(self._awaiting.items()):
            if sample_id in pending:
                continue
            if submission.submission_id in refused:
                del self._awaiting[sample_id]  # the server refused it: there is no consensus
                continue
            try:
                lines = await self.client.consensus(sample_id)
            except ServerUnreachable:
                raise
            except CrlhfError as exc:
                logger.info("no consensus for %s: %s", sample_id, exc)
            else:
                if self._awaiting.get(sample_id) is submission:
                    self._notes.append(ConsensusNote(submission, lines))
            if self._awaiting.get(sample_id) is submission:
                del self._awaiting[sample_id]

    async def run(self, on_round: Callable[[SyncStatus, list[str]], None]) -> None:
        """Loop until cancelled: a round, a report to ``on_round``, then sleep until woken
        or until the delay has passed."""
        while True:
            self._wake.clear()
            try:
                messages = await self.tick()
            except Exception as exc:  # a bug must not stop syncing for good: log, say, retry
                logger.exception("sync round crashed")
                self._failures += 1
                messages = [f"Unexpected error while syncing: {exc!r}"]
            on_round(self.status(), messages)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.delay)
