"""The task prefetcher against a fake that serves open tasks first, like the server."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest

from crlhf.errors import NotServed, ServerUnreachable, SkipRefused
from crlhf.prefetch import TaskPrefetcher
from crlhf.schemas import CodeLine, ProblemView, Task


def task(sample_id: str) -> Task:
    return Task(
        sample_id=sample_id,
        problem=ProblemView(id="p", title="t", description="d"),
        lines=[CodeLine(number=1, text="x = 1", judged=True)],
        served_at=datetime.now(UTC),
    )


class FakeRouter:
    """Tasks served and not yet submitted come back first, then unseen ones in order."""

    def __init__(self, n: int) -> None:
        self.unseen = [f"s-{i}" for i in range(n)]
        self.open: list[str] = []
        self.counts: list[int] = []
        self.skipped: list[str] = []
        self.offline = False
        self.skips_allowed: int | None = None

    async def next_tasks(self, count: int = 1) -> list[Task]:
        self.counts.append(count)
        answer = self.open[:count]
        while len(answer) < count and self.unseen:
            sample = self.unseen.pop(0)
            self.open.append(sample)
            answer.append(sample)
        return [task(s) for s in answer]

    def submit(self, sample_id: str) -> None:
        self.open.remove(sample_id)

    async def skip(self, sample_id: str) -> None:
        if self.offline:
            raise ServerUnreachable("fake server is down")
        if sample_id not in self.open:
            raise NotServed(f"{sample_id} is not open", field="sample_id")
        if self.skips_allowed is not None and len(self.skipped) >= self.skips_allowed:
            raise SkipRefused("please judge this one", field="sample_id")
        self.open.remove(sample_id)
        self.skipped.append(sample_id)


async def test_buffer_hands_out_distinct_tasks_without_waiting():
    router = FakeRouter(10)
    prefetcher = TaskPrefetcher(router, size=3)
    assert await prefetcher.refill() == 3
    first = prefetcher.take()
    assert first is not None and first.sample_id == "s-0"
    # The server re-serves s-0..s-2 (open): the refill must ask past them.
    assert await prefetcher.refill() == 1
    assert router.counts[-1] == 4
    handed = [first.sample_id]
    while (t := prefetcher.take()) is not None:
        handed.append(t.sample_id)
    assert handed == ["s-0", "s-1", "s-2", "s-3"]


async def test_submitted_but_unsynced_samples_are_not_served_again():
    router = FakeRouter(5)
    unsynced: set[str] = set()
    prefetcher = TaskPrefetcher(router, size=2, exclude=lambda: set(unsynced))
    t = await prefetcher.next()
    assert t is not None
    prefetcher.finish(t.sample_id)
    unsynced.add(t.sample_id)  # queued offline: the server still counts it as open
    names = []
    for _ in range(4):
        nxt = await prefetcher.next()
        assert nxt is not None
        names.append(nxt.sample_id)
        prefetcher.finish(nxt.sample_id)
        router.submit(nxt.sample_id)
    assert t.sample_id not in names and len(set(names)) == 4


async def test_exhausted_when_the_server_has_nothing_new():
    router = FakeRouter(1)
    prefetcher = TaskPrefetcher(router, size=2)
    only = await prefetcher.next()
    assert only is not None and not prefetcher.exhausted
    prefetcher.skip(only.sample_id)
    assert await prefetcher.next() is None
    assert prefetcher.exhausted


async def test_skips_reach_the_server_so_many_skips_still_find_new_tasks():
    router = FakeRouter(30)
    prefetcher = TaskPrefetcher(router, size=1)
    for _ in range(25):  # more than the 20 a request can hold
        t = await prefetcher.next()
        assert t is not None
        prefetcher.skip(t.sample_id)
    await prefetcher.refill()
    assert len(router.skipped) == 25 and not prefetcher.unsent_skips
    assert max(router.counts) <= 2  # nothing skipped is asked for again


async def test_offline_skips_are_kept_and_sent_by_the_next_refill():
    router = FakeRouter(5)
    prefetcher = TaskPrefetcher(router, size=1)
    t = await prefetcher.next()
    assert t is not None
    router.offline = True
    prefetcher.skip(t.sample_id)
    prefetcher.skip(t.sample_id)  # twice: sent once
    with pytest.raises(ServerUnreachable):
        await prefetcher.refill()
    assert prefetcher.unsent_skips == [t.sample_id]
    router.offline = False
    nxt = await prefetcher.next()
    assert router.skipped == [t.sample_id] and not prefetcher.unsent_skips
    assert nxt is not None and nxt.sample_id != t.sample_id


async def test_a_refused_skip_is_dropped_with_a_warning(caplog):
    router = FakeRouter(3)
    prefetcher = TaskPrefetcher(router, size=1)
    t = await prefetcher.next()
    assert t is not None
    router.submit(t.sample_id)  # submitted from elsewhere meanwhile
    prefetcher.skip(t.sample_id)
    with caplog.at_level(logging.WARNING, logger="crlhf.prefetch"):
        assert await prefetcher.refill() == 1
    assert not prefetcher.unsent_skips
    assert "refused to skip sample s-0" in caplog.text


async def test_a_skip_the_warm_up_refuses_gives_the_task_back_with_a_message():
    router = FakeRouter(3)
    router.skips_allowed = 0
    prefetcher = TaskPrefetcher(router, size=1)
    t = await prefetcher.next()
    assert t is not None
    prefetcher.skip(t.sample_id)
    assert await prefetcher.refill() == 1
    back = prefetcher.take()
    assert back is not None and back.sample_id == t.sample_id  # served again, still open
    assert prefetcher.take_refusals() == [f"Sample {t.sample_id} comes back: please judge this one"]
    assert prefetcher.take_refusals() == [] and not prefetcher.unsent_skips
