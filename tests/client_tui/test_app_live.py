"""The TUI against a real ``crlhf serve`` process: votes stored exactly, offline work synced
exactly once.

The server's database is read directly (read-only) so the assertions see what was stored,
not what some API chose to report.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from contextlib import closing

import pytest
from crlhf_tui.app import CrlhfTui
from crlhf_tui.session import Session
from crlhf_tui.sync import Connection, SyncService
from crlhf_tui.widgets.status_bar import StatusBar
from textual.pilot import Pilot

from crlhf.client import CrlhfClient
from crlhf.client_config import ClientConfig
from crlhf.offline_queue import OfflineQueue
from tests.client_tui.helpers import (
    annotate_screen,
    current,
    has_task,
    notifications,
    status,
    until,
)
from tests.conftest import LiveServer

pytestmark = pytest.mark.e2e

SIZE = (80, 24)


async def annotator_config(live_server: LiveServer, name: str) -> ClientConfig:
    async with CrlhfClient(live_server.url, live_server.admin_token) as admin:
        created = await admin.create_annotator(name)
    return ClientConfig(server=live_server.url, token=created.token)


def make_app(config: ClientConfig) -> CrlhfTui:
    """The real client and queue; a short backoff cap so a restarted server is seen fast."""

    def connect(config: ClientConfig) -> Session:
        client = CrlhfClient.from_config(config, timeout=5.0)
        queue = OfflineQueue.for_config(config)
        sync = SyncService(client, queue, prefetch=3, min_delay=0.1, max_delay=0.5)
        return Session(config.server, client, queue, sync)

    return CrlhfTui(config, connect=connect, save_config=False)


def stored(
    live_server: LiveServer, token_name: str
) -> dict[str, list[dict[int, tuple[int, str | None]]]]:
    """Every submission of one annotator: sample -> [ {line: (label, comment)} per row ]."""
    uri = f"file:{live_server.db_path}?mode=ro"
    with closing(sqlite3.connect(uri, uri=True)) as db:
        rows = db.execute(
            "SELECT s.id, s.sample_id, v.line, v.label, v.comment FROM submissions s "
            "JOIN annotators a ON a.id = s.annotator_id "
            "JOIN votes v ON v.submission = s.id WHERE a.name = ? ORDER BY s.id, v.line",
            (token_name,),
        ).fetchall()
    by_submission: dict[int, tuple[str, dict[int, tuple[int, str | None]]]] = {}
    for submission, sample, line, label, comment in rows:
        by_submission.setdefault(submission, (sample, {}))[1][line] = (label, comment)
    result: dict[str, list[dict[int, tuple[int, str | None]]]] = {}
    for sample, votes in by_submission.values():
        result.setdefault(sample, []).append(votes)
    return result


def on_screen(pilot: Pilot[None]) -> Callable[[], bool]:
    return lambda: has_task(pilot)


async def flag_first_line_and_submit(pilot: Pilot[None]) -> tuple[str, dict[int, tuple[int, None]]]:
    state = current(pilot)
    sample, judged = state.task.sample_id, state.judged
    await pilot.press("g", "w", "enter")
    return sample, {n: (-1 if n == judged[0] else 1, None) for n in judged}


async def skip_to_a_sample_of(pilot: Pilot[None], judged_lines: int) -> None:
    """Skip until the sample on screen has at least ``judged_lines`` judged lines (routing
    serves short unvoted samples first, so the first one may be too short)."""
    await until(pilot, on_screen(pilot))
    for _ in range(20):
        if len(current(pilot).judged) >= judged_lines:
            return
        shown = current(pilot).task.sample_id
        await pilot.press("s")
        await until(
            pilot, lambda shown=shown: has_task(pilot) and current(pilot).task.sample_id != shown
        )
    raise AssertionError(f"no seeded sample with {judged_lines} judged lines in 20 tasks")


async def test_annotate_and_submit_stores_exactly_those_votes(
    live_server_factory: Callable[..., LiveServer],
):
    live_server = live_server_factory(env={"CRLHF_WARMUP_MAX_SKIPS": "20"})
    config = await annotator_config(live_server, "tui-live")
    app = make_app(config)
    async with app.run_test(size=SIZE) as pilot:
        await skip_to_a_sample_of(pilot, 5)
        state = current(pilot)
        judged = state.judged
        sample = state.task.sample_id
        # judged[2] wrong; judged[3..4] wrong as a visual range with a comment on judged[4];
        # judged[0] explicitly correct; the rest unmarked (sent as correct).
        await pilot.press("j", "j", "w", "j", "v", "j", "w", "m", *"off by one", "enter")
        await pilot.press("g", "c", "enter")
        await until(pilot, lambda: current(pilot).task.sample_id != sample)
        await until(pilot, lambda: status(pilot).queued == 0)
        await until(pilot, lambda: status(pilot).samples_today == 1)
    wrong = {judged[2], judged[3], judged[4]}
    expected = {
        n: (-1 if n in wrong else 1, "off by one" if n == judged[4] else None) for n in judged
    }
    assert stored(live_server, "tui-live") == {sample: [expected]}


async def test_offline_annotations_sync_exactly_once_after_restart(live_server: LiveServer):
    config = await annotator_config(live_server, "tui-offline")
    app = make_app(config)
    expected: dict[str, list[dict[int, tuple[int, None]]]] = {}
    async with app.run_test(size=SIZE) as pilot:
        sync = annotate_screen(pilot).sync
        await until(pilot, on_screen(pilot))
        await until(pilot, lambda: len(sync.prefetcher) >= 2)
        sample, votes = await flag_first_line_and_submit(pilot)
        expected[sample] = [votes]
        await until(pilot, lambda: status(pilot).queued == 0)

        live_server.stop()
        # The next two come from the prefetch buffer: annotating never waits on the network.
        await until(pilot, on_screen(pilot))
        for _ in range(2):
            sample, votes = await flag_first_line_and_submit(pilot)
            expected[sample] = [votes]
        await until(pilot, lambda: status(pilot).connection is Connection.OFFLINE)
        assert status(pilot).queued == 2
        assert len(stored(live_server, "tui-offline")) == 1

        live_server.start()
        await until(pilot, lambda: status(pilot).queued == 0)
        await until(pilot, lambda: status(pilot).connection is Connection.ONLINE)
        await pilot.pause(0.3)  # a further round must not send anything again
    assert stored(live_server, "tui-offline") == expected


async def test_work_queued_offline_syncs_on_the_next_start(live_server: LiveServer):
    config = await annotator_config(live_server, "tui-restart")
    first = make_app(config)
    async with first.run_test(size=SIZE) as pilot:
        sync = annotate_screen(pilot).sync
        await until(pilot, lambda: len(sync.prefetcher) >= 1 and has_task(pilot))
        live_server.stop()
        sample, votes = await flag_first_line_and_submit(pilot)
        assert status(pilot).queued == 1
        await pilot.press("q")
    assert stored(live_server, "tui-restart") == {}

    live_server.start()
    second = make_app(config)
    async with second.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: pilot.app.screen.query_one(StatusBar).status is not None)
        await until(pilot, lambda: status(pilot).queued == 0)
        await until(pilot, on_screen(pilot))
        # The queued sample is not shown again although the server had it open.
        assert current(pilot).task.sample_id != sample
    assert stored(live_server, "tui-restart") == {sample: [votes]}


async def test_a_skipped_sample_is_not_shown_again_after_a_restart(live_server: LiveServer):
    config = await annotator_config(live_server, "tui-skip")
    first = make_app(config)
    async with first.run_test(size=SIZE) as pilot:
        sync = annotate_screen(pilot).sync
        await until(pilot, on_screen(pilot))
        skipped = current(pilot).task.sample_id
        await pilot.press("s")
        await until(pilot, lambda: current(pilot).task.sample_id != skipped)
        await until(pilot, lambda: not sync.prefetcher.unsent_skips)
        await pilot.press("q")

    live_server.stop()
    live_server.start()
    second = make_app(config)
    async with second.run_test(size=SIZE) as pilot:
        sync = annotate_screen(pilot).sync
        await until(pilot, on_screen(pilot))
        await until(pilot, lambda: len(sync.prefetcher) >= 2)
        shown = [current(pilot).task.sample_id]
        for _ in range(2):
            await pilot.press("s")
            await until(pilot, lambda: current(pilot).task.sample_id not in shown)
            shown.append(current(pilot).task.sample_id)
    # Before skips reached the server, the restarted client got the skipped task first.
    assert skipped not in shown
    assert stored(live_server, "tui-skip") == {}


async def test_a_skip_the_warm_up_refuses_brings_the_sample_back_with_the_reason(
    live_server_factory: Callable[..., LiveServer],
):
    server = live_server_factory(env={"CRLHF_WARMUP_HONEYPOTS": "1", "CRLHF_WARMUP_MAX_SKIPS": "0"})
    config = await annotator_config(server, "tui-warmup-skip")
    app = make_app(config)
    async with app.run_test(size=SIZE) as pilot:
        sync = annotate_screen(pilot).sync
        await until(pilot, on_screen(pilot))
        refused = current(pilot).task.sample_id
        await pilot.press("s")
        await until(pilot, lambda: not sync.prefetcher.unsent_skips)
        await until(pilot, lambda: any("comes back" in m for m in notifications(pilot)))
        assert any(refused in m and "please judge" in m for m in notifications(pilot))
        shown = []
        while (task := sync.take_task()) is not None:
            shown.append(task.sample_id)
        on_screen_now = current(pilot).task.sample_id
        assert refused in [*shown, on_screen_now]
