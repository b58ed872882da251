"""The background sync: queue first, prefetch without duplicates, offline and back."""

from __future__ import annotations

from uuid import uuid4

import pytest
from crlhf_tui.state import AnnotationState
from crlhf_tui.sync import Connection, SyncService

from crlhf.errors import AuthenticationFailed, SampleNotFound
from crlhf.offline_queue import OfflineQueue
from crlhf.schemas import AnnotatorStats, Label
from tests.client_tui.fakes import STATS, FakeClient, make_task


@pytest.fixture
def queue(tmp_path):
    with OfflineQueue(tmp_path / "queue.db") as q:
        yield q


def submit_one(sync: SyncService, wrong_line: int | None = None) -> str:
    task = sync.take_task()
    assert task is not None
    state = AnnotationState(task)
    if wrong_line is not None:
        state.select(wrong_line)
        state.mark(Label.WRONG)
    sync.submit(state.to_submission(uuid4()))
    return task.sample_id


def submit_one_task(sync: SyncService, task) -> None:
    sync.submit(AnnotationState(task).to_submission(uuid4()))


async def test_first_round_prefetches_and_reads_stats(queue):
    client = FakeClient([make_task(f"s{i}") for i in range(5)])
    sync = SyncService(client, queue, prefetch=3)
    assert sync.status().connection is Connection.CONNECTING
    assert await sync.tick() == []
    status = sync.status()
    assert status.connection is Connection.ONLINE
    assert status.samples_today == STATS.samples_today
    assert not status.exhausted
    taken = [sync.take_task() for _ in range(3)]
    assert [t.sample_id for t in taken if t is not None] == ["s0", "s1", "s2"]
    assert sync.take_task() is None  # the buffer is local: no network here


async def test_submission_is_queued_before_sending_and_sent_once(queue):
    client = FakeClient([make_task(f"s{i}") for i in range(5)])
    sync = SyncService(client, queue, prefetch=2)
    await sync.tick()
    sample = submit_one(sync, wrong_line=3)
    assert queue.count() == 1  # persisted before any network call
    assert client.submitted == {}
    await sync.tick()
    await sync.tick()
    assert queue.count() == 0
    assert list(client.submitted) == [sample]
    assert len(client.batches) == 1
    labels = {i.line: i.label for i in client.submitted[sample].labels}
    assert labels[3] is Label.WRONG


async def test_offline_work_is_kept_then_synced_exactly_once(queue):
    client = FakeClient([make_task(f"s{i}") for i in range(6)])
    sync = SyncService(client, queue, prefetch=3, min_delay=1.0, max_delay=8.0)
    await sync.tick()
    client.online = False
    done = [submit_one(sync), submit_one(sync, wrong_line=1)]
    await sync.tick()
    assert sync.status().connection is Connection.OFFLINE
    assert sync.status().queued == 2
    assert sync.delay == 1.0
    await sync.tick()
    await sync.tick()
    assert sync.delay == 4.0  # doubling while offline
    for _ in range(5):
        await sync.tick()
    assert sync.delay == 8.0  # capped
    client.online = True
    await sync.tick()
    assert sync.status().connection is Connection.ONLINE
    assert sync.delay == sync.poll
    assert sorted(client.submitted) == sorted(done)
    assert len(client.batches) == 1  # one batch, no duplicate sends
    await sync.tick()
    assert len(client.batches) == 1


async def test_prefetch_never_hands_out_a_sample_twice(queue):
    client = FakeClient([make_task(f"s{i}") for i in range(8)])
    sync = SyncService(client, queue, prefetch=2)
    seen: list[str] = []
    for _ in range(3):
        await sync.tick()
        task = sync.take_task()
        assert task is not None
        seen.append(task.sample_id)
        if len(seen) == 2:
            sync.skip(task)
        else:
            submit_one_task(sync, task)
    await sync.tick()
    while (task := sync.take_task()) is not None:
        seen.append(task.sample_id)
        submit_one_task(sync, task)
        await sync.tick()
    assert len(seen) == len(set(seen)) == 8


async def test_restart_does_not_show_queued_samples_again(tmp_path):
    """Killed while offline: the queued sample is open on the server and served again
    first, but the new session skips it and syncs it."""
    client = FakeClient([make_task(f"s{i}") for i in range(3)])
    with OfflineQueue(tmp_path / "q.db") as queue:
        first = SyncService(client, queue, prefetch=1)
        await first.tick()
        client.online = False
        queued = submit_one(first)
    with OfflineQueue(tmp_path / "q.db") as queue:
        client.online = True
        second = SyncService(client, queue, prefetch=1)
        await second.tick()
        task = second.take_task()
        assert task is not None
        assert task.sample_id != queued
        assert list(client.submitted) == [queued]


async def test_exhausted_when_the_server_has_nothing(queue):
    client = FakeClient([make_task("only")])
    sync = SyncService(client, queue, prefetch=2)
    await sync.tick()
    assert not sync.status().exhausted  # one task is buffered
    submit_one(sync)
    await sync.tick()
    assert sync.status().exhausted


async def test_server_errors_become_messages_not_exceptions(queue):
    client = FakeClient([make_task("s0")])

    async def refuse() -> AnnotatorStats:
        raise AuthenticationFailed("unknown token")

    client.stats = refuse  # type: ignore[method-assign]
    sync = SyncService(client, queue)
    messages = await sync.tick()
    assert messages == ["unknown token (crlhf-tui --login signs in again)"]
    assert sync.delay == sync.min_delay
    assert await sync.tick() == []  # said once, not on every retry
    assert sync.delay == 2 * sync.min_delay


async def test_refused_submission_is_reported_with_its_sample(queue):
    client = FakeClient([make_task("s0"), make_task("s1")])

    async def refuse(submissions, /):
        raise SampleNotFound("sample s0 was deleted", field="submissions[0].sample_id")

    sync = SyncService(client, queue)
    await sync.tick()
    client.submit_batch = refuse  # type: ignore[method-assign]
    submit_one(sync)
    messages = await sync.tick()
    assert len(messages) == 1
    assert "s0" in messages[0] and "deleted" in messages[0]
    assert sync.status().queued == 0
    assert sync.status().connection is Connection.ONLINE
