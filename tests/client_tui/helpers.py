"""Waiting for the App's background work in Pilot tests, without timing assertions."""

from __future__ import annotations

import html
import re
from collections.abc import Callable

from crlhf_tui.screens.annotate import AnnotateScreen
from crlhf_tui.state import AnnotationState
from crlhf_tui.sync import SyncStatus
from crlhf_tui.widgets.status_bar import StatusBar
from textual.app import App
from textual.pilot import Pilot


async def until(pilot: Pilot[None], condition: Callable[[], bool], limit: float = 20.0) -> None:
    """Let the app run until ``condition`` holds; fail with a clear message after ``limit``."""
    waited = 0.0
    while not condition():
        if waited >= limit:
            raise AssertionError(f"condition not met after {limit} s: {condition}")
        await pilot.pause(0.02)
        waited += 0.02


def annotate_screen(pilot: Pilot[None]) -> AnnotateScreen:
    screen = pilot.app.screen
    assert isinstance(screen, AnnotateScreen), type(screen)
    return screen


def current(pilot: Pilot[None]) -> AnnotationState:
    """The annotation state on screen; fails when no sample is shown."""
    state = annotate_screen(pilot).state
    assert state is not None, "no sample on screen"
    return state


def has_task(pilot: Pilot[None]) -> bool:
    screen = pilot.app.screen
    return isinstance(screen, AnnotateScreen) and screen.state is not None


def status(pilot: Pilot[None]) -> SyncStatus:
    """What the header shows; fails before the first sync round."""
    shown = pilot.app.screen.query_one(StatusBar).status
    assert shown is not None, "no sync round yet"
    return shown


def notifications(pilot: Pilot[None]) -> list[str]:
    # Textual has no public accessor for the notifications it holds.
    return [n.message for n in pilot.app._notifications]


def screen_text(app: App[None]) -> str:
    """The visible text of the screen, from Textual's own SVG export."""
    svg = app.export_screenshot()
    spans = re.findall(r"<text [^>]*>([^<]*)</text>", svg)
    return html.unescape("".join(spans)).replace("\xa0", " ")
