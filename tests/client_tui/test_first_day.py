"""The first day's fixes, under Pilot on the in-memory fake server: the problem pane (grows,
takes the keys, full screen, shows the tests), Enter in visual mode, revising the last
submission, honest toasts and stats, the consensus after submitting, tasks left, and line
numbers readable on a light theme."""

from __future__ import annotations

from crlhf_tui.screens.annotate import ProblemPanel
from crlhf_tui.screens.stats import StatsScreen
from crlhf_tui.sync import Connection
from crlhf_tui.widgets.code_view import CodeView

from crlhf.offline_queue import OfflineQueue
from crlhf.schemas import Label, Task
from tests.client_tui.fakes import STATS, TESTS, make_task
from tests.client_tui.helpers import (
    annotate_screen,
    current,
    has_task,
    notifications,
    screen_text,
    status,
    until,
)

SMALL, LARGE = (80, 24), (120, 40)

SPEC = "\n".join(
    f"Rule {n}: a sentence of the specification that the annotator must read." for n in range(12)
)


def long_task(sample_id: str = "s-long") -> Task:
    """A problem whose description and tests overflow the pane at 80x24 and at 120x40."""
    task = make_task(sample_id)
    problem = task.problem.model_copy(update={"description": SPEC})
    return task.model_copy(update={"problem": problem})


async def test_problem_pane_grows_scrolls_from_the_keyboard_and_goes_full_screen(rig):
    heights = {}
    for size in (SMALL, LARGE):
        app = rig(tasks=[long_task()]).app
        async with app.run_test(size=size) as pilot:
            await until(pilot, lambda: has_task(pilot))
            await pilot.pause()
            heights[size] = app.screen.query_one(ProblemPanel).outer_size.height
    assert heights[LARGE] > heights[SMALL] > 5  # was 5 rows at any size

    app = rig(tasks=[long_task()]).app
    async with app.run_test(size=SMALL) as pilot:
        await until(pilot, lambda: has_task(pilot))
        panel = app.screen.query_one(ProblemPanel)
        assert TESTS.splitlines()[0] in str(panel.query_one("#description").render())
        cursor = current(pilot).cursor
        await pilot.press("tab")
        assert panel.has_focus and "PROBLEM" in screen_text(app)
        await pilot.press("j", "pagedown")
        assert panel.scroll_y > 0
        assert current(pilot).cursor == cursor  # the keys scrolled the problem, not the code
        await pilot.press("tab")
        assert not panel.has_focus
        await pilot.press("j")
        assert current(pilot).cursor != cursor

        await pilot.press("f")
        await pilot.pause()
        assert not app.screen.query_one(CodeView).display
        assert panel.outer_size.height == SMALL[1] - 3 and panel.has_focus  # all but 3 bars
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen.query_one(CodeView).display and not panel.has_focus


async def test_enter_in_visual_mode_ends_the_range_and_never_submits(rig):
    made = rig()
    async with made.app.run_test(size=SMALL) as pilot:
        await until(pilot, lambda: has_task(pilot))
        state = current(pilot)
        await pilot.press("g", "w", "v", "j", "j", "space", "v", "enter")
        assert current(pilot) is state and not state.visual
        with OfflineQueue(made.queue_path) as queue:
            assert queue.count() == 0
        assert made.client.submitted == {}


async def test_revise_reopens_the_last_submission_and_sends_a_new_revision(rig):
    made = rig()
    async with made.app.run_test(size=SMALL) as pilot:
        await until(pilot, lambda: has_task(pilot))
        first = current(pilot).task.sample_id
        await pilot.press("j", "j", "w", "enter")
        await until(pilot, lambda: first in made.client.submitted)
        second = current(pilot)
        await pilot.press("w")  # work in progress on the next sample
        await pilot.press("r")
        reopened = current(pilot)
        assert reopened.task.sample_id == first and reopened.wrong_lines == {3}
        assert "REVISE" in screen_text(made.app)
        await pilot.press("c", "enter")  # line 3 was right after all
        assert current(pilot) is second and second.label_of(1) is Label.WRONG
        await until(
            pilot,
            lambda: all(i.label is Label.CORRECT for i in made.client.submitted[first].labels),
        )
        with OfflineQueue(made.queue_path) as queue:
            assert queue.count() == 0
        assert sum(len(batch) for batch in made.client.batches) == 2  # two revisions sent
        await pilot.press("r", "r")  # reopen, then go back unchanged
        assert current(pilot) is second


async def test_nothing_to_revise_says_so(rig):
    async with rig().app.run_test(size=SMALL) as pilot:
        await until(pilot, lambda: has_task(pilot))
        await pilot.press("r")
        assert "Nothing submitted in this session to revise." in notifications(pilot)


async def test_offline_submission_is_queued_not_submitted(rig):
    made = rig(online=False)
    async with made.app.run_test(size=SMALL) as pilot:
        await until(pilot, lambda: status(pilot).connection is Connection.OFFLINE)
        made.client.online = True
        await pilot.press("R")  # retry now
        await until(pilot, lambda: has_task(pilot))
        made.client.online = False
        await until(pilot, lambda: status(pilot).connection is Connection.OFFLINE)
        sample = current(pilot).task.sample_id
        await pilot.press("w", "enter")
        assert any(m.startswith(f"Queued {sample} (offline)") for m in notifications(pilot))
        assert not any(m.startswith("Submitted") for m in notifications(pilot))


async def test_consensus_and_tasks_left_after_submitting(rig):
    made = rig()
    made.client.others_wrong = {6}
    async with made.app.run_test(size=SMALL) as pilot:
        await until(pilot, lambda: has_task(pilot))
        assert "left 12" in screen_text(made.app).splitlines()[0]
        sample = current(pilot).task.sample_id
        await pilot.press("j", "j", "w", "enter")  # line 3 wrong; the other voter says 6
        expected = f"Crowd on {sample}: lines 3, 6 wrong; you agree on 13 of 14 lines."
        await until(pilot, lambda: expected in notifications(pilot))


async def test_stats_do_not_claim_agreement_when_alone(rig):
    made = rig()
    made.client.stats_value = STATS.model_copy(update={"agreement": None})
    async with made.app.run_test(size=SMALL) as pilot:
        await until(pilot, lambda: status(pilot).stats is not None)
        await pilot.press("t")
        assert isinstance(made.app.screen, StatsScreen)
        text = screen_text(made.app)
        assert "nobody else has judged your lines yet" in text and "100" not in text


def _contrast(foreground: tuple[int, int, int], background: tuple[int, int, int]) -> float:
    """WCAG contrast ratio of two sRGB colours."""

    def luminance(rgb: tuple[int, int, int]) -> float:
        def channel(value: int) -> float:
            c = value / 255
            return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

        r, g, b = (channel(v) for v in rgb)
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    high, low = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (high + 0.05) / (low + 0.05)


async def test_line_numbers_are_readable_on_light_and_dark_themes(rig):
    for theme in ("textual-light", "textual-dark"):
        app = rig().app
        async with app.run_test(size=SMALL) as pilot:
            await until(pilot, lambda: has_task(pilot))
            app.theme = theme
            await pilot.pause()
            code = annotate_screen(pilot).query_one(CodeView)
            number = next(iter(code.render_line(1)))  # line 2: judged, not the cursor's
            assert number.text.strip() == "2" and number.style is not None
            fg, bg = number.style.color, number.style.bgcolor
            assert fg is not None and bg is not None
            assert _contrast(fg.get_truecolor(), bg.get_truecolor()) >= 4.5, theme
