"""Snapshots of the main screen at 80x24 and 120x40, the problem pane full screen, the
"nothing to annotate" screen, help and stats (pytest-textual-snapshot).

Deterministic: a fixed task and fixed stats from the in-memory fake, no sync loop, no
clock on screen. After a deliberate change to the look, regenerate with
``pytest tests/client_tui/test_snapshots.py --snapshot-update`` and review the SVGs.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from crlhf_tui.app import CrlhfTui
from crlhf_tui.session import Session
from crlhf_tui.sync import SyncService
from textual.pilot import Pilot

from crlhf.client_config import ClientConfig
from crlhf.offline_queue import OfflineQueue
from tests.client_tui.fakes import FakeClient, make_task

CONFIG = ClientConfig(server="http://crlhf.example:8000", token="snapshot-token")

# Line 3 wrong with a comment, 4 correct, 13-15 wrong via visual mode, cursor on 8.
MARKS = ("j", "j", "w", "m", *"starts at 0, so negatives are lost", "enter")
MARKS += ("j", "c", "G", "k", "k", "v", "k", "k", "w", "g", "j", "j", "j", "j", "j", "j")


@pytest.fixture
def app(tmp_path: Path) -> CrlhfTui:
    client = FakeClient([make_task("s-7f3a9c"), make_task("s-0b12de")])

    def connect(config: ClientConfig) -> Session:
        queue = OfflineQueue(tmp_path / "queue.db")
        return Session(config.server, client, queue, SyncService(client, queue))

    return CrlhfTui(CONFIG, connect=connect, background=False, save_config=False)


async def one_sync_round(pilot: Pilot[None]) -> None:
    """What the background loop would do once, run in step so the picture is fixed."""
    app = pilot.app
    assert isinstance(app, CrlhfTui) and app.session is not None
    sync = app.session.sync
    assert await sync.tick() == []
    app.on_round(sync.status(), [])
    await pilot.pause()


def test_main_screen(snap_compare, app):
    assert snap_compare(app, press=MARKS, terminal_size=(80, 24), run_before=one_sync_round)


def test_main_screen_large(snap_compare, app):
    """At 120x40 the problem pane grows and shows the whole spec with its tests."""
    assert snap_compare(app, press=MARKS, terminal_size=(120, 40), run_before=one_sync_round)


def test_problem_full_screen(snap_compare, app):
    assert snap_compare(app, press=["f"], terminal_size=(80, 24), run_before=one_sync_round)


def test_nothing_to_annotate(snap_compare, tmp_path):
    client = FakeClient([])

    def connect(config: ClientConfig) -> Session:
        queue = OfflineQueue(tmp_path / "queue.db")
        return Session(config.server, client, queue, SyncService(client, queue))

    empty = CrlhfTui(CONFIG, connect=connect, background=False, save_config=False)
    assert snap_compare(empty, terminal_size=(80, 24), run_before=one_sync_round)


def test_help_screen(snap_compare, app):
    assert snap_compare(app, press=["question_mark"], run_before=one_sync_round)


def test_stats_screen(snap_compare, app):
    assert snap_compare(app, press=["t"], run_before=one_sync_round)
