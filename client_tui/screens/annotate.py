"""The annotation screen: one sample at a time, keyboard first, never waiting on the network.

It is the controller between the keys, the pure :class:`AnnotationState`, the widgets and
the :class:`SyncService`. Tasks come from the prefetch buffer and submissions go to the
persistent offline queue; both are local, so every key answers at once, online or not.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import ClassVar
from uuid import uuid4

from crlhf_tui.keymap import TASK_ACTIONS, bindings
from crlhf_tui.screens.dialogs import CommentDialog, ConfirmDialog
from crlhf_tui.screens.help import HelpScreen
from crlhf_tui.screens.stats import StatsScreen
from crlhf_tui.state import AnnotationState
from crlhf_tui.sync import Connection, SyncService, SyncStatus
from crlhf_tui.widgets.code_view import CodeView
from crlhf_tui.widgets.status_bar import StatusBar
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widgets import Footer, Static

from crlhf.errors import CrlhfError
from crlhf.schemas import Label, Task


class ProblemPanel(VerticalScroll, can_focus=True):
    """The problem above the code: description, then the tests where the problem has them.

    It grows with the terminal (a share of its height, see styles.tcss), takes focus with
    Tab (then the arrows, PgUp/PgDn, Home/End, j and k scroll it) and fills the screen with
    f, so a keyboard-only annotator can read the whole spec before judging.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "scroll_down", "scroll down", show=False),
        Binding("k", "scroll_up", "scroll up", show=False),
    ]


def problem_text(task: Task) -> Text:
    """Description, then the tests under a heading. Text, not markup: this is data."""
    text = Text(task.problem.description)
    if task.problem.tests.strip():
        text.append("\n\nTests\n", style="bold")
        text.append(task.problem.tests.rstrip("\n"))
    return text


def empty_notice(status: SyncStatus | None, poll_s: float) -> str:
    """Why there is no sample on screen, in the user's terms."""
    if status is None or status.connection is Connection.CONNECTING:
        return "Connecting to the server…"
    if status.connection is Connection.OFFLINE:
        return (
            "Offline, and no sample was prefetched.\n"
            "Your submissions are safe in the local queue; annotating resumes when the "
            "server is back."
        )
    return (
        "Nothing to annotate right now: the server has no sample for you.\n"
        f"This screen checks again every {poll_s:g} s; R checks now, q quits."
    )


class AnnotateScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = list(bindings())
    AUTO_FOCUS = ""
    """Nothing focused: the keys act on the code; Tab hands them to the problem pane."""

    def __init__(
        self,
        sync: SyncService,
        server: str,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.sync = sync
        self.server = server
        self.clock = clock
        self.state: AnnotationState | None = None
        self.last_status: SyncStatus | None = None
        self._started = 0.0
        self._mounted = False
        self._last: AnnotationState | None = None
        """The state of this session's last submission, for r (revise)."""
        self._set_aside: AnnotationState | None = None
        """The task on screen when r reopened the last submission; it comes back after."""
        self._revising = False

    def compose(self) -> ComposeResult:
        yield StatusBar(self.server, id="status")
        with ProblemPanel(id="problem"):
            yield Static(id="description")
        yield CodeView(id="code")
        yield Static(id="notice")
        yield Static(id="mode")
        # Compact and without the palette hint: all eight footer keys fit in 80 columns.
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self._mounted = True
        self.apply_status(self.last_status or self.sync.status())

    # ------------------------------------------------------------ task flow

    def apply_status(self, status: SyncStatus) -> None:
        """A sync round ended: update the header; pick up a task if none is on screen."""
        self.last_status = status
        if not self._mounted:  # a round may end before the widgets exist; on_mount applies it
            return
        try:
            self.query_one(StatusBar).status = status
        except NoMatches:  # ... or after they are gone, while the app exits
            return
        for note in self.sync.take_consensus():
            self.notify(note.summary(), title="Consensus", timeout=6, markup=False)
        if self.state is None:
            self.load_next()

    def load_next(self) -> None:
        task = self.sync.take_task()
        self._show_state(AnnotationState(task) if task is not None else None)

    def _show_state(self, state: AnnotationState | None) -> None:
        self.state = state
        self._started = self.clock()
        self._show_task(None if state is None else state.task)
        self.refresh_view()
        self.refresh_bindings()

    def _show_task(self, task: Task | None) -> None:
        panel = self.query_one(ProblemPanel)
        code = self.query_one(CodeView)
        notice = self.query_one("#notice", Static)
        panel.display = code.display = task is not None
        notice.display = task is None
        if task is None:
            self._leave_problem()
            notice.update(empty_notice(self.last_status, self.sync.poll))
            code.show(None)
            return
        # Text, not str: titles and descriptions are data ("list[int]" is not markup).
        panel.border_title = Text(task.problem.title)
        panel.border_subtitle = Text(task.sample_id)
        self.query_one("#description", Static).update(problem_text(task))
        panel.scroll_home(animate=False)
        code.show(self.state)

    def refresh_view(self) -> None:
        self.query_one(CodeView).changed()
        self.query_one("#mode", Static).update(self._mode_line())

    def _mode_line(self) -> Text:
        state = self.state
        text = Text(no_wrap=True, overflow="ellipsis")
        if state is None:
            return text
        if self.query_one(ProblemPanel).has_focus:
            text.append(" PROBLEM ", style="bold reverse cyan")
            text.append("  ↑ ↓ PgUp PgDn j k scroll the problem; Tab or Esc: back to the code")
            return text
        if self._revising:
            text.append(" REVISE ", style="bold reverse yellow")
        mode = " VISUAL " if state.visual else " NORMAL "
        text.append(mode, style="bold reverse magenta" if state.visual else "bold reverse")
        position = state.judged.index(state.cursor) + 1
        text.append(f"  line {state.cursor}  ({position}/{len(state.judged)} judged)")
        wrong = len(state.wrong_lines)
        correct = sum(1 for label in state.marks.values() if label is Label.CORRECT)
        text.append(f"  ✗ {wrong}", style="bold red" if wrong else "")
        text.append(f"  ✓ {correct}", style="bold green" if correct else "")
        if state.comments:
            text.append(f"  ✎ {len(state.comments)}", style="yellow")
        return text

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Without a sample on screen, task keys neither run nor show in the footer."""
        return not (action in TASK_ACTIONS and self.state is None)

    def _require_state(self) -> AnnotationState | None:
        if self.state is None:
            self.notify("No sample on screen.", severity="warning")
        return self.state

    # -------------------------------------------------------------- actions

    def action_move(self, steps: int) -> None:
        if state := self._require_state():
            state.move(steps)
            self.refresh_view()

    def action_first(self) -> None:
        if state := self._require_state():
            state.move_to_first()
            self.refresh_view()

    def action_last(self) -> None:
        if state := self._require_state():
            state.move_to_last()
            self.refresh_view()

    def action_page(self, direction: int) -> None:
        if state := self._require_state():
            state.page(direction, self.query_one(CodeView).page_lines)
            self.refresh_view()

    def action_scroll_code(self, columns: int) -> None:
        code = self.query_one(CodeView)
        code.scroll_to(x=code.scroll_x + columns, animate=False)

    def on_code_view_line_clicked(self, message: CodeView.LineClicked) -> None:
        if self.state is not None:
            self.state.select(message.number)
            self.refresh_view()

    def action_mark_wrong(self) -> None:
        if state := self._require_state():
            state.mark(Label.WRONG)
            self.refresh_view()

    def action_mark_correct(self) -> None:
        if state := self._require_state():
            state.mark(Label.CORRECT)
            self.refresh_view()

    def action_flip(self) -> None:
        if state := self._require_state():
            state.toggle()
            self.refresh_view()

    def action_visual(self) -> None:
        if state := self._require_state():
            if state.visual:
                state.cancel_visual()
            else:
                state.start_visual()
            self.refresh_view()

    def action_escape(self) -> None:
        """Leave the problem pane if it has the keys, else leave visual mode."""
        if self._leave_problem():
            self.refresh_view()
        elif self.state is not None and self.state.visual:
            self.state.cancel_visual()
            self.refresh_view()

    def _leave_problem(self) -> bool:
        """Give the keys back to the code and end full screen; False if neither was on."""
        panel = self.query_one(ProblemPanel)
        was = panel.has_focus or self.has_class("-problem-full")
        self.remove_class("-problem-full")
        self.query_one(CodeView).display = self.state is not None
        if panel.has_focus:
            self.set_focus(None)
        return was

    def action_focus_problem(self) -> None:
        if not self._leave_problem():
            self.query_one(ProblemPanel).focus()

    def action_full_problem(self) -> None:
        if self.has_class("-problem-full"):
            self._leave_problem()
        else:
            self.add_class("-problem-full")
            self.query_one(CodeView).display = False
            self.query_one(ProblemPanel).focus()

    def on_descendant_focus(self) -> None:
        self.refresh_view()  # the mode line says which pane has the keys

    def on_descendant_blur(self) -> None:
        self.refresh_view()

    def action_retry_now(self) -> None:
        self.sync.wake()
        self.notify("Checking the server now.", timeout=2)

    def action_undo(self) -> None:
        if state := self._require_state():
            if not state.undo():
                self.notify("Nothing to undo.")
            self.refresh_view()

    def action_comment(self) -> None:
        state = self._require_state()
        if state is None:
            return
        line = state.cursor
        if state.label_of(line) is not Label.WRONG:
            self.notify(f"Mark line {line} wrong (w) before commenting on it.")
            return

        def save(comment: str | None) -> None:
            if comment is None or self.state is not state:
                return
            try:
                state.set_comment(line, comment)
            except CrlhfError as exc:
                self.notify(str(exc), severity="error", markup=False)
            self.refresh_view()

        self.app.push_screen(CommentDialog(line, state.comments.get(line, "")), save)

    def action_submit(self) -> None:
        state = self._require_state()
        if state is None:
            return
        if state.visual:
            # Enter ends a range as Esc does: a slip of the finger never submits a sample.
            state.cancel_visual()
            self.refresh_view()
            self.notify("Range ended without marking (w, c or Space marks it).", timeout=3)
            return
        if state.has_marks:
            self._submit(state)
            return

        def answer(yes: bool | None) -> None:
            if yes and self.state is state:
                self._submit(state)

        question = "Nothing is marked. Submit every line as correct?"
        self.app.push_screen(ConfirmDialog(question), answer)

    def _submit(self, state: AnnotationState) -> None:
        duration_ms = max(0, round((self.clock() - self._started) * 1000))
        try:
            self.sync.submit(state.to_submission(uuid4(), duration_ms))
        except CrlhfError as exc:
            self.notify(f"Could not queue the submission: {exc}", severity="error", markup=False)
            return
        wrong = len(state.wrong_lines)
        what = "Revised" if self._revising else "Submitted"
        if self.sync.connection is Connection.ONLINE:
            message = f"{what} {state.task.sample_id}: {wrong} wrong line(s)."
        else:
            message = (
                f"Queued {state.task.sample_id} (offline): {wrong} wrong line(s); "
                "it is sent when the server is back."
            )
        self.notify(message, timeout=3, markup=False)
        self._last = state
        self._revising = False
        aside, self._set_aside = self._set_aside, None
        if aside is not None:
            self._show_state(aside)
        else:
            self.load_next()
        self.query_one(StatusBar).status = self.sync.status()

    def action_revise(self) -> None:
        """Reopen this session's last submission with its marks; submitting it again sends
        a new revision (the server keeps the history). r again goes back unchanged."""
        if self._revising:
            self._revising = False
            aside, self._set_aside = self._set_aside, None
            if aside is not None:
                self._show_state(aside)
            else:
                self.load_next()
            self.notify("Revision cancelled; the submission stands as sent.", timeout=2)
            return
        if self._last is None:
            self.notify("Nothing submitted in this session to revise.")
            return
        self._leave_problem()
        self._set_aside = self.state
        self._revising = True
        self._show_state(self._last.reopened())
        self.notify(
            f"Revising {self._last.task.sample_id}: change the marks, Enter sends a new "
            "revision, r goes back.",
            timeout=4,
            markup=False,
        )

    def action_skip(self) -> None:
        if state := self._require_state():
            if self._revising:
                self.notify("This is a revision; r goes back without changing it.")
                return
            self.sync.skip(state.task)
            self.load_next()

    def action_stats(self) -> None:
        self.sync.wake()
        self.app.push_screen(StatsScreen(self.sync.stats))

    def action_help(self) -> None:
        self.app.push_screen(HelpScreen())

    async def action_quit(self) -> None:
        self.app.exit()
