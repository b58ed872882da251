"""The sample's code: line numbers, a gutter mark per judged line, Python highlighting.

A Line API widget (one ``render_line`` per visible row) rather than a list of widgets or a
read-only TextArea: it renders a 300-line sample as cheaply as a 10-line one, it owns the
cursor and range highlight of the annotation state exactly, and a click maps to a line
with one addition. The gutter stays put when a long line is scrolled sideways.
"""

from __future__ import annotations

from typing import ClassVar

from crlhf_tui.state import AnnotationState
from rich.segment import Segment
from rich.style import Style
from rich.syntax import Syntax
from rich.text import Text
from textual import events
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from crlhf.schemas import Label

TAB_SIZE = 4

MARK_WRONG = "✗"
MARK_CORRECT = "✓"
MARK_UNMARKED = "·"
"""Judged but not marked: it is submitted as correct."""
MARK_COMMENT = "✎"


def highlight(lines: list[str], language: str = "python") -> list[Text]:
    """Highlight the whole program at once (a string spanning lines stays a string), then
    split it back into lines, in the problem's ``language`` (a Pygments lexer name; an
    unknown one shows plain text). ``ansi_dark`` has no background, so the cursor's shows."""
    code = "\n".join(line.expandtabs(TAB_SIZE) for line in lines)
    highlighted = Syntax("", language, theme="ansi_dark").highlight(code)
    texts = list(highlighted.split("\n", allow_blank=True))
    # Syntax.highlight may add a final newline; keep exactly one Text per line.
    return (texts + [Text("")] * len(lines))[: len(lines)]


class CodeView(ScrollView, can_focus=False):
    """Shows an :class:`AnnotationState`; the screen owns the state and the keys.

    It is not focusable so the screen's bindings (arrows, page keys) move the annotation
    cursor instead of scrolling; the mouse wheel still scrolls.
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "code-view--cursor",
        "code-view--range",
        "code-view--number",
        "code-view--blank",
        "code-view--wrong",
        "code-view--correct",
        "code-view--unmarked",
        "code-view--comment",
    }

    DEFAULT_CSS = """
    CodeView {
        background: $surface;
    }
    CodeView > .code-view--cursor { background: $primary 40%; }
    CodeView > .code-view--range { background: $secondary 30%; }
    CodeView > .code-view--number { color: $text-muted; }
    CodeView > .code-view--blank { color: $text-disabled; }
    CodeView > .code-view--wrong { color: $text-error; background: $error-muted; text-style: bold; }
    CodeView > .code-view--correct { color: $text-success; text-style: bold; }
    CodeView > .code-view--unmarked { color: $text-muted; }
    CodeView > .code-view--comment { color: $text-warning; }
    """

    class LineClicked(Message):
        """The user clicked a row of the code: ``number`` is the line under the mouse."""

        def __init__(self, number: int) -> None:
            super().__init__()
            self.number = number

    def __init__(self, *, name: str | None = None, id: str | None = None) -> None:
        super().__init__(name=name, id=id)
        self._state: AnnotationState | None = None
        self._texts: list[Text] = []
        self._number_width = 3

    @property
    def gutter_width(self) -> int:
        """`` 12 ✗✎ ``: a space, the number, a space, the mark, the comment flag, a space."""
        return self._number_width + 5

    def show(self, state: AnnotationState | None) -> None:
        """Display a new task's state (None: nothing to show) from its first line."""
        self._state = state
        lines = [line.text for line in state.task.lines] if state else []
        self._texts = highlight(lines, state.task.problem.language if state else "python")
        self._number_width = max(3, len(str(len(lines))))
        widest = max((text.cell_len for text in self._texts), default=0)
        self.virtual_size = Size(self.gutter_width + widest, len(lines))
        self.scroll_to(0, 0, animate=False, immediate=True)
        self.refresh()

    def changed(self) -> None:
        """Redraw after the state changed, keeping the cursor's line in view."""
        if self._state is not None:
            row = self._state.cursor - 1
            height = max(1, self.scrollable_content_region.height)
            top = int(self.scroll_y)
            if row < top:
                self.scroll_to(y=row, animate=False, immediate=True)
            elif row >= top + height:
                self.scroll_to(y=row - height + 1, animate=False, immediate=True)
        self.refresh()

    @property
    def page_lines(self) -> int:
        return max(1, self.scrollable_content_region.height - 1)

    def _gutter(self, number: int, judged: bool) -> list[Segment]:
        state = self._state
        assert state is not None

        def style(name: str) -> Style:
            # Only what the CSS sets (partial), so the cursor's background shows through;
            # but colours from the full style, where translucent theme colours ($text-muted)
            # are blended with the background: taken partially they come out as white,
            # invisible on a light theme's surface.
            partial = self.get_component_rich_style(name, partial=True)
            full = self.get_component_rich_style(name)
            return Style(
                color=full.color if partial.color else None,
                bgcolor=full.bgcolor if partial.bgcolor else None,
                bold=partial.bold,
            )

        number_text = f" {number:>{self._number_width}} "
        if not judged:
            blank = style("code-view--blank")
            return [Segment(number_text, blank), Segment("   ", blank)]
        label = state.label_of(number)
        if label is Label.WRONG:
            mark = Segment(MARK_WRONG, style("code-view--wrong"))
        elif label is Label.CORRECT:
            mark = Segment(MARK_CORRECT, style("code-view--correct"))
        else:
            mark = Segment(MARK_UNMARKED, style("code-view--unmarked"))
        flag = MARK_COMMENT if number in state.comments else " "
        return [
            Segment(number_text, style("code-view--number")),
            mark,
            Segment(flag, style("code-view--comment")),
            Segment(" "),
        ]

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.scrollable_content_region.width
        base = self.rich_style
        row = scroll_y + y
        state = self._state
        if state is None or row >= len(self._texts):
            return Strip.blank(width, base)
        line = state.task.lines[row]
        code_width = max(0, width - self.gutter_width)
        text = self._texts[row]
        if not line.judged:
            blank = Style(color=self.get_component_rich_style("code-view--blank").color)
            text = Text(text.plain, style=blank)
        console = self.app.console
        code = Strip(list(text.render(console, end=""))).crop_extend(
            scroll_x, scroll_x + code_width, None
        )
        strip = Strip.join([Strip(self._gutter(line.number, line.judged)), code])
        strip = strip.adjust_cell_length(width)
        highlight_style: Style | None = None
        if line.number == state.cursor:
            highlight_style = self.get_component_rich_style("code-view--cursor")
        elif line.judged and line.number in state.selection and state.visual:
            highlight_style = self.get_component_rich_style("code-view--range")
        if highlight_style is not None:
            strip = strip.apply_style(highlight_style)
        return strip.apply_style(base)

    def on_click(self, event: events.Click) -> None:
        if self._state is None:
            return
        row = event.y + int(self.scroll_y)
        if 0 <= row < len(self._texts):
            event.stop()
            self.post_message(self.LineClicked(row + 1))
