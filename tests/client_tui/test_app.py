"""Pilot tests of every key and screen against the in-memory fake server.

The same flows against a real ``crlhf serve`` process are in ``test_app_live.py``; these
cover the corners (empty server, offline start, errors, login) quickly.
"""

from __future__ import annotations

import re

from crlhf_tui.app import CrlhfTui
from crlhf_tui.keymap import MAIN_KEYS
from crlhf_tui.screens.dialogs import CommentDialog, ConfirmDialog
from crlhf_tui.screens.help import HelpScreen
from crlhf_tui.screens.login import LoginScreen
from crlhf_tui.screens.stats import StatsScreen
from crlhf_tui.session import Session
from crlhf_tui.sync import Connection
from crlhf_tui.widgets.code_view import CodeView
from textual.widgets import Input, Static

from crlhf.client_config import ClientConfig, config_path
from crlhf.errors import AuthenticationFailed, CrlhfError, ServerUnreachable
from crlhf.schemas import Annotator, Label, Role
from tests.client_tui.conftest import CONFIG
from tests.client_tui.fakes import STATS, make_task
from tests.client_tui.helpers import (
    annotate_screen,
    current,
    has_task,
    notifications,
    screen_text,
    status,
    until,
)

SIZE = (80, 24)


async def test_navigation_keys_move_over_judged_lines(rig):
    app = rig().app
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: has_task(pilot))
        state = current(pilot)
        steps = [
            ("j", 2), ("down", 3), ("j", 4), ("j", 6), ("k", 4), ("up", 3),
            ("G", 17), ("g", 1), ("end", 17), ("home", 1),
        ]  # fmt: skip
        for key, expected in steps:
            await pilot.press(key)
            assert state.cursor == expected, key
        await pilot.press("pagedown")
        assert state.cursor > 6
        await pilot.press("pageup")
        assert state.cursor == 1


async def test_long_lines_scroll_sideways(rig):
    long_line = "x = " + " + ".join(f"value_{i}" for i in range(30))
    app = rig(tasks=[make_task("wide", code=f"{long_line}\nreturn x\n")]).app
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: has_task(pilot))
        code = app.screen.query_one(CodeView)
        assert "x = value_0" in screen_text(app)
        await pilot.press("l", "l")
        await pilot.pause()
        assert code.scroll_x == 16
        assert "x = value_0" not in screen_text(app)
        assert "2 ·" in screen_text(app)  # the gutter stays
        await pilot.press("h", "left")
        await pilot.pause()
        assert code.scroll_x == 0
        await pilot.press("right")
        await pilot.pause()
        assert code.scroll_x == 8


async def test_marking_visual_mode_and_undo(rig):
    app = rig().app
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: has_task(pilot))
        state = current(pilot)
        await pilot.press("w")
        assert state.label_of(1) is Label.WRONG
        await pilot.press("j", "c")
        assert state.label_of(2) is Label.CORRECT
        await pilot.press("space")
        assert state.label_of(2) is Label.WRONG
        await pilot.press("space")
        assert state.label_of(2) is Label.CORRECT
        await pilot.press("j", "v", "j", "j")
        assert state.visual and state.selection == [3, 4, 6]
        await pilot.press("escape")
        assert not state.visual
        await pilot.press("v", "k", "k", "w")
        assert state.wrong_lines == {1, 3, 4, 6}
        await pilot.press("u")
        assert state.wrong_lines == {1}
        await pilot.press("u", "u", "u", "u")
        assert state.marks == {}
        await pilot.press("u")
        await until(pilot, lambda: "Nothing to undo." in notifications(pilot))


async def test_comment_on_a_wrong_line(rig):
    app = rig().app
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: has_task(pilot))
        state = current(pilot)
        await pilot.press("m")
        assert not isinstance(app.screen, CommentDialog)
        await until(pilot, lambda: any("before commenting" in n for n in notifications(pilot)))
        await pilot.press("w", "m")
        assert isinstance(app.screen, CommentDialog)
        await pilot.press(*"returns [x] not x", "enter")
        assert state.comments == {1: "returns [x] not x"}
        await pilot.press("m", "escape")
        assert state.comments == {1: "returns [x] not x"}


async def test_submit_queues_then_syncs_and_shows_the_next_sample(rig):
    made = rig()
    app, client = made.app, made.client
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: has_task(pilot))
        first = current(pilot).task.sample_id
        await pilot.press("j", "j", "w", "enter")
        assert current(pilot).task.sample_id != first
        await until(pilot, lambda: first in client.submitted)
        labels = {i.line: i.label for i in client.submitted[first].labels}
        assert [n for n, label in labels.items() if label is Label.WRONG] == [3]
        await until(pilot, lambda: status(pilot).queued == 0)


async def test_submit_without_marks_asks_first(rig):
    made = rig()
    app, client = made.app, made.client
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: has_task(pilot))
        first = current(pilot).task.sample_id
        await pilot.press("enter")
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("n")
        assert current(pilot).task.sample_id == first
        await pilot.press("enter", "y")
        assert current(pilot).task.sample_id != first
        await until(pilot, lambda: first in client.submitted)
        assert {i.label for i in client.submitted[first].labels} == {Label.CORRECT}


async def test_skip_moves_on_without_submitting(rig):
    made = rig()
    app, client = made.app, made.client
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: has_task(pilot))
        first = current(pilot).task.sample_id
        await pilot.press("s")
        assert current(pilot).task.sample_id != first
        await until(pilot, lambda: client.skipped == [first])
        assert client.submitted == {}


async def test_help_lists_every_key(rig):
    app = rig().app
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: has_task(pilot))
        await pilot.press("f1")  # F1 and ? both open it
        assert isinstance(app.screen, HelpScreen)
        await pilot.pause()
        text = screen_text(app)
        await pilot.press("end")  # at 80x24 the rest is a keystroke away
        await pilot.pause()
        text += screen_text(app)
        for key in MAIN_KEYS:
            assert key.description in text, key
        await pilot.press("escape")
        annotate_screen(pilot)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("f1")
        annotate_screen(pilot)


async def test_stats_screen_shows_the_server_numbers(rig):
    app = rig().app
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: annotate_screen(pilot).sync.stats is not None)
        await pilot.press("t")
        assert isinstance(app.screen, StatsScreen)
        assert app.screen.stats == STATS
        await pilot.pause()
        text = screen_text(app)
        assert re.search(r"samples done\s*42\b", text)
        assert "87.0%" in text and "81.0%" in text
        await pilot.press("escape")
        annotate_screen(pilot)


async def test_click_selects_a_line(rig):
    app = rig().app
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: has_task(pilot))
        state = current(pilot)
        assert await pilot.click(CodeView, offset=(12, 7))  # row 7 = line 8
        assert state.cursor == 8
        assert await pilot.click(CodeView, offset=(12, 4))  # line 5 is blank
        assert state.cursor == 6


async def test_quit_key_exits(rig):
    app = rig().app
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: has_task(pilot))
        await pilot.press("q")
        await pilot.pause()
        assert not app.is_running


async def test_says_so_when_the_server_has_nothing(rig):
    made = rig(tasks=[])
    app = made.app
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: status(pilot).connection is Connection.ONLINE)
        notice = str(app.screen.query_one("#notice").render())
        assert "Nothing to annotate" in notice
        assert "checks again every 15 s; R checks now" in notice  # the real interval
        requests = made.client.requests
        await pilot.pause(0.5)
        assert made.client.requests == requests  # waits for the next poll, does not spin
        footer = screen_text(app).splitlines()[-1]
        assert "help" in footer and "quit" in footer
        for task_key in ("wrong", "correct", "visual", "submit", "skip", "undo"):
            assert task_key not in footer  # only keys that work here
        await pilot.press("w", "v", "enter")  # task keys do nothing, say nothing
        assert notifications(pilot) == []
        await pilot.press("R")  # ... but R asks the server at once
        await until(pilot, lambda: made.client.requests > requests)


async def test_offline_start_keeps_working_and_says_so(rig):
    made = rig(online=False)
    app, client = made.app, made.client
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: status(pilot).connection is Connection.OFFLINE)
        assert "Offline" in str(app.screen.query_one("#notice").render())
        client.online = True
        await until(pilot, lambda: has_task(pilot))
        assert status(pilot).connection is Connection.ONLINE


async def test_server_errors_are_notifications_not_tracebacks(rig):
    made = rig()

    async def broken_stats():
        raise CrlhfError("server answered 500 Internal Server Error to GET /v1/me/stats: [boom]")

    made.client.stats = broken_stats
    app = made.app
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: any("[boom]" in n for n in notifications(pilot)))
        assert app.is_running
        await until(pilot, lambda: has_task(pilot))


class FakeCheck:
    def __init__(self) -> None:
        self.seen: list[ClientConfig] = []

    async def __call__(self, config: ClientConfig) -> Annotator:
        self.seen.append(config)
        if config.token == "bad":
            raise AuthenticationFailed("unknown token")
        if "down" in config.server:
            raise ServerUnreachable("connection refused")
        return Annotator(id=3, name="ada", role=Role.ANNOTATOR, active=True, reliability=0.7)


async def test_first_run_asks_for_server_and_token_and_saves_them(rig):
    made = rig()
    check = FakeCheck()
    connect = made.app._connect
    app = CrlhfTui(None, connect=connect, check=check, login_message="not configured")
    async with app.run_test(size=SIZE) as pilot:
        assert isinstance(app.screen, LoginScreen)

        def error() -> str:
            return str(app.screen.query_one("#login-error", Static).render())

        assert "not configured" in error()
        await pilot.press(*"ftp://x", "enter", *"tok", "enter")
        await until(pilot, lambda: "must look like" in error())
        assert check.seen == []
        app.screen.query_one("#server", Input).value = "http://down.test"
        app.screen.query_one("#token", Input).value = "good"
        await pilot.click("#connect")
        await until(pilot, lambda: "Cannot reach" in error())
        # Enter in the token field connects too (a second quick click would be a double click).
        app.screen.query_one("#server", Input).value = "http://crlhf.test:8000"
        app.screen.query_one("#token", Input).value = "bad"
        app.screen.query_one("#token").focus()
        await pilot.press("enter")
        await until(pilot, lambda: "does not accept this token" in error())
        assert not config_path().exists()
        app.screen.query_one("#token", Input).value = "good"
        await pilot.press("enter")
        await until(pilot, lambda: has_task(pilot))
    saved = ClientConfig.load()
    assert saved == ClientConfig(server="http://crlhf.test:8000", token="good")


async def test_task_text_is_never_read_as_markup(rig):
    task = make_task("s-markup").model_copy(
        update={"problem": make_task().problem.model_copy(update={"title": "[bold]x[/bold] ["})}
    )
    app = rig(tasks=[task]).app
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: has_task(pilot))
        await pilot.pause()
        assert "[bold]x[/bold] [" in screen_text(app)


async def test_unusable_data_dir_is_a_notification():
    def connect(config: ClientConfig) -> Session:
        raise PermissionError(13, "Permission denied", "/data/crlhf")

    app = CrlhfTui(CONFIG, connect=connect, save_config=False)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: any("local queue" in n for n in notifications(pilot)))
        assert app.is_running
