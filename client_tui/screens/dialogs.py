"""Small modal dialogs: a yes/no confirmation and a one-line comment prompt."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label

from crlhf.schemas import MAX_COMMENT_CHARS


class ConfirmDialog(ModalScreen[bool]):
    """Ask a yes/no question; dismisses with True for yes. Keys: y / n, Esc means no."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "yes"),
        Binding("n,escape", "answer(False)", "no"),
    ]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.question, classes="dialog--question")
            with Horizontal(classes="dialog--buttons"):
                yield Button("Yes (y)", variant="primary", id="yes")
                yield Button("No (n)", id="no")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)


class CommentDialog(ModalScreen[str | None]):
    """Ask for a short comment on a wrong line; None when cancelled (Esc)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "cancel")]

    def __init__(self, line: int, current: str = "") -> None:
        super().__init__()
        self.line = line
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(
                f"Why is line {self.line} wrong? (Enter saves, empty removes, Esc cancels)",
                classes="dialog--question",
            )
            yield Input(
                value=self.current,
                placeholder="e.g. off by one: range should stop at n",
                max_length=MAX_COMMENT_CHARS,
                id="comment",
            )

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)
