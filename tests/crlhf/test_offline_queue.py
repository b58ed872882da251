"""The offline queue: durable before the network, synced exactly once, never loses a row."""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
import textwrap
from uuid import UUID, uuid4

import httpx
import pytest

from crlhf.client import CrlhfClient
from crlhf.errors import AuthenticationFailed, InvalidFile, InvalidInput
from crlhf.offline_queue import OfflineQueue, QueueState, queue_path
from crlhf.schemas import Label, LineLabel, Submission

BASE = "http://crlhf.test"


def make_submission(sample_id: str = "s-1", wrong: int | None = None) -> Submission:
    labels = [LineLabel(line=n, label=Label.WRONG if n == wrong else Label.CORRECT) for n in (1, 2)]
    return Submission(submission_id=uuid4(), sample_id=sample_id, labels=labels)


class FakeServer:
    """The batch route's contract: atomic, idempotent ids, errors naming submissions[i].

    ``fail_before`` requests fail with a connect error before anything is stored;
    ``lose_after`` requests are stored and then the answer is lost (a read timeout), the
    case where a client must replay.
    """

    def __init__(self, fail_before: int = 0, lose_after: int = 0) -> None:
        self.stored: dict[str, dict[str, object]] = {}
        self.fail_before = fail_before
        self.lose_after = lose_after
        self.requests = 0
        self.batch_sizes: list[int] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        if request.headers["authorization"] != "Bearer good":
            denied = {"code": "authentication_failed", "message": "unknown token", "details": []}
            return httpx.Response(401, json=denied)
        if self.fail_before:
            self.fail_before -= 1
            raise httpx.ConnectError("connection refused")
        submissions = json.loads(request.content)["submissions"]
        self.batch_sizes.append(len(submissions))
        for i, sub in enumerate(submissions):
            if sub["sample_id"].startswith("bad"):
                refused = {
                    "code": "invalid_vote",
                    "message": "labels do not match the sample's judged lines",
                    "details": [{"field": f"submissions[{i}].labels", "message": "no"}],
                }
                return httpx.Response(422, json=refused)
        receipts = []
        for sub in submissions:
            replayed = sub["submission_id"] in self.stored
            self.stored[sub["submission_id"]] = sub
            receipts.append({**_receipt(sub), "replayed": replayed})
        if self.lose_after:
            self.lose_after -= 1
            raise httpx.ReadTimeout("answer lost")
        return httpx.Response(200, json={"receipts": receipts})


def _receipt(sub: dict[str, object]) -> dict[str, object]:
    return {"submission_id": sub["submission_id"], "sample_id": sub["sample_id"], "revision": 1}


async def no_sleep(delay: float) -> None:
    assert 0 <= delay <= 30


@pytest.fixture
def queue(tmp_path):
    with OfflineQueue(tmp_path / "queue.db") as q:
        yield q


def client_for(server: FakeServer, token: str = "good") -> CrlhfClient:
    return CrlhfClient(BASE, token, transport=httpx.MockTransport(server))


def test_enqueue_is_visible_to_a_fresh_queue_on_the_same_file(tmp_path):
    first, second = make_submission("s-1"), make_submission("s-2", wrong=2)
    with OfflineQueue(tmp_path / "q.db") as q:
        assert q.enqueue(first) and q.enqueue(second)
    with OfflineQueue(tmp_path / "q.db") as reopened:
        pending = reopened.pending()
        assert [p.submission for p in pending] == [first, second]
        assert reopened.count() == 2
        assert reopened.pending_sample_ids() == {"s-1", "s-2"}


def test_enqueue_twice_is_a_no_op_but_different_content_is_refused(queue):
    submission = make_submission()
    assert queue.enqueue(submission)
    assert not queue.enqueue(submission)
    assert queue.count() == 1
    changed = submission.model_copy(update={"sample_id": "s-9"})
    with pytest.raises(InvalidInput, match="already queued"):
        queue.enqueue(changed)


def test_a_process_killed_right_after_enqueue_loses_nothing(tmp_path):
    path = tmp_path / "q.db"
    script = textwrap.dedent(
        f"""
        import os, pathlib, uuid
        from crlhf.offline_queue import OfflineQueue
        from crlhf.schemas import Submission
        q = OfflineQueue(pathlib.Path({str(path)!r}))
        for i in range(3):
            q.enqueue(Submission(submission_id=uuid.UUID(int=i + 1), sample_id=f"s-{{i}}",
                                 labels=[{{"line": 1, "label": -1}}]))
        os._exit(42)  # no atexit, no close, no finally: as abrupt as a kill
        """
    )
    result = subprocess.run([sys.executable, "-c", script], check=False, timeout=60)
    assert result.returncode == 42
    with OfflineQueue(path) as q:
        ids = [p.submission_id for p in q.pending()]
    assert ids == [UUID(int=1), UUID(int=2), UUID(int=3)]


async def test_sync_sends_in_batches_and_marks_synced(queue):
    server = FakeServer()
    subs = [make_submission(f"s-{i}") for i in range(5)]
    for sub in subs:
        queue.enqueue(sub)
    async with client_for(server) as client:
        result = await queue.sync(client, batch_size=2, sleep=no_sleep)
    assert (result.synced, result.pending, result.offline) == (5, 0, False)
    assert server.batch_sizes == [2, 2, 1]
    assert set(server.stored) == {str(s.submission_id) for s in subs}
    assert queue.counts()[QueueState.SYNCED] == 5


async def test_sync_exactly_once_against_a_flaky_server(queue):
    # Two connect failures, then the first stored batch's answer is lost: the client must
    # retry, replay that batch, and still end with each submission stored exactly once.
    server = FakeServer(fail_before=2, lose_after=1)
    subs = [make_submission(f"s-{i}") for i in range(4)]
    for sub in subs:
        queue.enqueue(sub)
    delays: list[float] = []

    async def record(delay: float) -> None:
        delays.append(delay)

    async with client_for(server) as client:
        result = await queue.sync(client, batch_size=2, sleep=record, backoff=1.0)
    assert result.synced == 4 and result.pending == 0
    assert sorted(server.stored) == sorted(str(s.submission_id) for s in subs)
    assert len(delays) == 3
    # Exponential with jitter in [0.5, 1] of the nominal 1, 2, 4 seconds.
    for delay, nominal in zip(delays, (1.0, 2.0, 4.0), strict=True):
        assert nominal / 2 <= delay <= nominal


async def test_offline_sync_keeps_everything_pending_and_resumes(queue):
    server = FakeServer(fail_before=100)
    queue.enqueue(make_submission())
    async with client_for(server) as client:
        result = await queue.sync(client, max_attempts=3, sleep=no_sleep)
    assert result.offline and result.pending == 1 and result.synced == 0
    assert server.requests == 3
    assert queue.pending()[0].attempts == 3
    server.fail_before = 0
    async with client_for(server) as client:
        result = await queue.sync(client, sleep=no_sleep)
    assert result.synced == 1 and not result.offline and queue.count() == 0


async def test_a_bad_submission_is_isolated_rejected_and_kept(queue):
    subs = [make_submission(f"s-{i}") for i in range(7)]
    subs.insert(3, make_submission("bad-1"))
    subs.append(make_submission("bad-2"))
    for sub in subs:
        queue.enqueue(sub)
    server = FakeServer()
    async with client_for(server) as client:
        result = await queue.sync(client, batch_size=50, sleep=no_sleep)
    assert result.synced == 7 and result.pending == 0
    assert {r.submission.sample_id for r in result.rejected} == {"bad-1", "bad-2"}
    rejected = queue.rejected()
    assert [r.submission.sample_id for r in rejected] == ["bad-1", "bad-2"]
    assert rejected[0].error_code == "invalid_vote"
    assert "judged lines" in (rejected[0].error_message or "")
    assert len(server.stored) == 7
    assert not any(str(s["sample_id"]).startswith("bad") for s in server.stored.values())


async def test_bisection_without_a_hint_still_isolates_the_culprit(queue, monkeypatch):
    import crlhf.offline_queue as module

    monkeypatch.setattr(module, "_BATCH_INDEX", re.compile(r"^never$"))
    for i in range(8):
        queue.enqueue(make_submission("bad" if i == 5 else f"s-{i}"))
    server = FakeServer()
    async with client_for(server) as client:
        result = await queue.sync(client, sleep=no_sleep)
    assert result.synced == 7
    assert [r.submission.sample_id for r in queue.rejected()] == ["bad"]


async def test_auth_failure_stops_sync_and_rejects_nothing(queue):
    queue.enqueue(make_submission())
    async with client_for(FakeServer(), token="wrong") as client:
        with pytest.raises(AuthenticationFailed):
            await queue.sync(client, sleep=no_sleep)
    assert queue.count() == 1 and queue.rejected() == []


async def test_bad_sync_arguments(queue):
    async with client_for(FakeServer()) as client:
        with pytest.raises(InvalidInput, match="batch_size"):
            await queue.sync(client, batch_size=0)
        with pytest.raises(InvalidInput, match="max_attempts"):
            await queue.sync(client, max_attempts=0)


def test_queue_path_differs_per_server_and_token(tmp_path):
    a = queue_path("http://a:1", "t1", tmp_path)
    assert a != queue_path("http://a:1", "t2", tmp_path)
    assert a != queue_path("http://b:1", "t1", tmp_path)
    assert a == queue_path("http://a:1", "t1", tmp_path)
    assert "t1" not in a.name and a.parent == tmp_path


async def test_a_server_that_acknowledges_nothing_does_not_loop_forever(queue):
    queue.enqueue(make_submission())

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"receipts": []})

    async with CrlhfClient(BASE, "good", transport=httpx.MockTransport(handler)) as client:
        result = await queue.sync(client, sleep=no_sleep)
    assert result.synced == 0 and result.pending == 1 and not result.offline


UNVERSIONED_SCHEMA = """
CREATE TABLE IF NOT EXISTS submissions (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    submission_id TEXT NOT NULL UNIQUE,
    sample_id     TEXT NOT NULL,
    body          TEXT NOT NULL,
    state         TEXT NOT NULL DEFAULT 'pending'
                  CHECK (state IN ('pending', 'synced', 'rejected')),
    attempts      INTEGER NOT NULL DEFAULT 0,
    enqueued_at   TEXT NOT NULL,
    synced_at     TEXT,
    error_code    TEXT,
    error_message TEXT
);
CREATE INDEX IF NOT EXISTS submissions_state_seq ON submissions (state, seq);
"""
"""The queue file as crlhf 0.1.0 wrote it, before it carried a schema version."""


def test_a_queue_file_from_before_versioning_upgrades_with_its_votes(tmp_path):
    path = tmp_path / "old.db"
    waiting = [make_submission("s-1"), make_submission("s-2", wrong=3)]
    old = sqlite3.connect(path)
    old.executescript(UNVERSIONED_SCHEMA)
    old.executemany(
        "INSERT INTO submissions (submission_id, sample_id, body, enqueued_at) VALUES (?,?,?,?)",
        [
            (str(s.submission_id), s.sample_id, s.model_dump_json(), "2026-11-01T00:00:00+00:00")
            for s in waiting
        ],
    )
    old.commit()
    old.close()

    with OfflineQueue(path) as upgraded:
        assert [p.submission for p in upgraded.pending()] == waiting
    check = sqlite3.connect(path)
    assert check.execute("PRAGMA user_version").fetchone()[0] == 1
    check.close()


def test_a_queue_file_from_a_newer_crlhf_is_refused_untouched(tmp_path):
    path = tmp_path / "new.db"
    with OfflineQueue(path) as q:
        q.enqueue(make_submission("s-1"))
    newer = sqlite3.connect(path)
    newer.execute("PRAGMA user_version = 99")
    newer.close()
    with pytest.raises(InvalidFile, match="newer crlhf"):
        OfflineQueue(path)
    check = sqlite3.connect(path)
    assert check.execute("SELECT count(*) FROM submissions").fetchone()[0] == 1
    check.close()
