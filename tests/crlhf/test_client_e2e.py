"""The client core against a real server: offline, restart, sync exactly once."""

from __future__ import annotations

from uuid import uuid4

import pytest

from crlhf.client import CrlhfClient
from crlhf.errors import (
    AuthenticationFailed,
    NotServed,
    PermissionDenied,
    SampleNotFound,
    ServerUnreachable,
)
from crlhf.offline_queue import OfflineQueue
from crlhf.prefetch import TaskPrefetcher
from crlhf.schemas import Label, LineLabel, Submission

pytestmark = pytest.mark.e2e


async def test_offline_submissions_sync_exactly_once_after_a_restart(live_server, tmp_path):
    async with CrlhfClient(live_server.url, live_server.admin_token) as admin:
        created = await admin.create_annotator("ada")
        assert (await admin.health()).status == "ok"
    ada = created.annotator.id

    async with CrlhfClient(live_server.url, created.token) as client:
        assert (await client.me()).name == "ada"
        with OfflineQueue(tmp_path / "q.db") as queue:
            prefetcher = TaskPrefetcher(client, size=3, exclude=queue.pending_sample_ids)
            assert await prefetcher.refill() == 3

            live_server.stop()  # the network goes away; annotation goes on from the buffer
            submissions = []
            while (task := prefetcher.take()) is not None:
                wrong = set(task.judged_numbers[:1])
                submissions.append(Submission.from_marks(uuid4(), task, wrong))
                queue.enqueue(submissions[-1])
                prefetcher.finish(task.sample_id)
            offline = await queue.sync(client, max_attempts=2, backoff=0.01)
            assert offline.offline and offline.pending == 3
            with pytest.raises(ServerUnreachable):
                await client.next_tasks()

            live_server.start()
            online = await queue.sync(client)
            assert (online.synced, online.pending, online.offline) == (3, 0, False)
            assert (await queue.sync(client)).synced == 0

        # A client killed between the server's answer and marking rows synced replays
        # them: the server must not count them twice.
        with OfflineQueue(tmp_path / "replay.db") as replay:
            for submission in submissions:
                replay.enqueue(submission)
            assert (await replay.sync(client)).synced == 3

        stats = await client.stats()
        assert stats.samples_done == 3
        assert stats.votes == sum(len(s.labels) for s in submissions)
        consensus = await client.consensus(submissions[0].sample_id)
        assert {c.line for c in consensus} == {item.line for item in submissions[0].labels}

        async with CrlhfClient(live_server.url, live_server.admin_token) as admin:
            done = {x.sample_id for x in submissions}
            other = next(s for s in await admin.list_samples(limit=200) if s.id not in done)
        labels = [
            LineLabel(line=line.number, label=Label.CORRECT) for line in other.lines if line.judged
        ]
        with pytest.raises(NotServed):
            await client.submit(
                Submission(submission_id=uuid4(), sample_id=other.id, labels=labels)
            )

        with pytest.raises(PermissionDenied):
            await client.list_annotators()

    async with CrlhfClient(live_server.url, live_server.admin_token) as admin:
        assert (await admin.annotator_stats(ada)).samples_done == 3
    async with CrlhfClient(live_server.url, "not-a-token") as stranger:
        with pytest.raises(AuthenticationFailed):
            await stranger.me()


async def test_skips_made_offline_reach_the_server_and_are_never_served_again(live_server):
    async with CrlhfClient(live_server.url, live_server.admin_token) as admin:
        created = await admin.create_annotator("sam")
    async with CrlhfClient(live_server.url, created.token) as client:
        prefetcher = TaskPrefetcher(client, size=2)
        assert await prefetcher.refill() == 2
        first = prefetcher.take()
        assert first is not None
        live_server.stop()
        prefetcher.skip(first.sample_id)
        with pytest.raises(ServerUnreachable):
            await prefetcher.refill()
        assert prefetcher.unsent_skips == [first.sample_id]
        live_server.start()
        await prefetcher.refill()
        assert not prefetcher.unsent_skips
        everything = await client.next_tasks(20)
        assert first.sample_id not in {t.sample_id for t in everything}
        await client.skip(first.sample_id)  # idempotent
        with pytest.raises(SampleNotFound):
            await client.skip("no-such-sample")
