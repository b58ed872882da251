"""Keep the next few tasks in memory so annotating never waits on the network.

The server serves tasks already handed out but not yet submitted again, first (so a
client that lost its buffer gets them back). A refill therefore asks for the tasks it
already holds plus the ones it wants, and drops the ones it has seen: what it holds,
what the user is working on, and what waits in the offline queue.

Skips go to the server (``POST /v1/tasks/{id}/skip``), which then never serves the
sample to this annotator again. :meth:`TaskPrefetcher.skip` is local and instant; the
skip is sent at the start of the next refill (the TUI's sync loop), and while the server
is unreachable it is remembered in memory and retried by the next refill. A client that
exits while skips are still unsent loses them: those samples come back next session.
A skip refused because the warm-up window allows no more (409 ``skip_refused``) gives the
task back: the server still serves it to this annotator, and it must be judged.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from typing import Protocol

from crlhf.errors import CrlhfError, ServerUnreachable, SkipRefused
from crlhf.schemas import MAX_TASKS_PER_REQUEST, Task

logger = logging.getLogger(__name__)


async def fetch_unseen(
    source: TaskSource, wanted: int, outstanding: set[str], seen: set[str]
) -> list[Task]:
    """Up to ``wanted`` tasks not in ``seen``, asking past the ones still ``outstanding``.

    The server serves the tasks it still counts as open first (held here, in hand, queued
    offline); asking for exactly ``wanted`` would return only those. Every client that
    pulls tasks (the TUI's prefetcher, the language server) asks this one way.
    """
    count = min(MAX_TASKS_PER_REQUEST, len(outstanding) + wanted)
    tasks = await source.next_tasks(count)
    fresh = [t for t in tasks if t.sample_id not in seen][:wanted]
    logger.debug("fetched %d new task(s) (asked %d, got %d)", len(fresh), count, len(tasks))
    return fresh


class TaskSource(Protocol):
    """The client methods the prefetcher needs (a :class:`~crlhf.client.CrlhfClient`)."""

    async def next_tasks(self, count: int = 1, /) -> list[Task]: ...

    async def skip(self, sample_id: str, /) -> None: ...


class TaskPrefetcher:
    """A small buffer of upcoming tasks.

    ``exclude`` returns sample ids that must not be handed out again although the server
    may still serve them (pass ``OfflineQueue.pending_sample_ids``: submitted here, not
    yet synced). Call :meth:`finish` when the user submits a task and :meth:`skip` when
    they pass on it; the skip reaches the server with the next :meth:`refill`.
    """

    def __init__(
        self,
        source: TaskSource,
        *,
        size: int = 3,
        exclude: Callable[[], set[str]] = set,
    ) -> None:
        self.source = source
        self.size = size
        self._exclude = exclude
        self._buffer: deque[Task] = deque()
        self._in_hand: set[str] = set()
        self._finished: set[str] = set()
        self._skipped: set[str] = set()
        self._unsent_skips: list[str] = []
        self._refusals: list[str] = []
        self._refill_lock = asyncio.Lock()
        self.exhausted = False
        """True after a refill in which the server had nothing new for this annotator."""

    def __len__(self) -> int:
        return len(self._buffer)

    async def refill(self) -> int:
        """Top the buffer up to ``size``; return how many tasks were added.

        Raises :class:`~crlhf.errors.ServerUnreachable` when offline (the buffer keeps
        what it has, and unsent skips stay remembered).
        """
        async with self._refill_lock:
            await self._send_skips()
            wanted = self.size - len(self._buffer)
            if wanted <= 0:
                return 0
            excluded = self._exclude()
            # Tasks the server still counts as open come back first: ask for them too.
            outstanding = (
                {t.sample_id for t in self._buffer}
                | self._in_hand
                | set(self._unsent_skips)
                | excluded
            )
            seen = outstanding | self._finished | self._skipped
            fresh = await fetch_unseen(self.source, wanted, outstanding, seen)
            self._buffer.extend(fresh)
            self.exhausted = not fresh
            return len(fresh)

    def take(self) -> Task | None:
        """The next buffered task, without touching the network; None when empty."""
        if not self._buffer:
            return None
        task = self._buffer.popleft()
        self._in_hand.add(task.sample_id)
        return task

    async def next(self) -> Task | None:
        """The next task, fetching only if the buffer is empty; None if the server has none."""
        if not self._buffer:
            await self.refill()
        return self.take()

    def finish(self, sample_id: str) -> None:
        """The user submitted this sample: never hand it out again."""
        self._in_hand.discard(sample_id)
        self._finished.add(sample_id)

    def skip(self, sample_id: str) -> None:
        """The user passed on this sample: never hand it out again; tell the server next refill."""
        self._in_hand.discard(sample_id)
        if sample_id not in self._skipped:
            self._skipped.add(sample_id)
            self._unsent_skips.append(sample_id)

    @property
    def unsent_skips(self) -> list[str]:
        """Skips the server has not acknowledged yet (offline), oldest first."""
        return list(self._unsent_skips)

    def take_refusals(self) -> list[str]:
        """Messages for the user, one per skip the warm-up refused since the last call."""
        refusals, self._refusals = self._refusals, []
        return refusals

    async def _send_skips(self) -> None:
        """Send remembered skips in order; stop at the first unreachable server (and raise).

        A skip the warm-up refuses puts the task back among the unseen, so this refill
        fetches it again, and leaves a message for :meth:`take_refusals`. Any other
        refusal (the task was submitted meanwhile, from another client) is dropped with a
        warning: retrying cannot make it succeed.
        """
        while self._unsent_skips:
            sample_id = self._unsent_skips[0]
            try:
                await self.source.skip(sample_id)
            except ServerUnreachable:
                logger.info("offline: %d skip(s) kept for the next refill", len(self._unsent_skips))
                raise
            except SkipRefused as exc:
                self._skipped.discard(sample_id)
                self._refusals.append(f"Sample {sample_id} comes back: {exc.message}")
            except CrlhfError as exc:
                logger.warning("the server refused to skip sample %s, dropped: %s", sample_id, exc)
            self._unsent_skips.pop(0)
