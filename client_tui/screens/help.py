"""The help screen: every key of the annotation screen and what the gutter marks mean.

Built from :data:`client_tui.keymap.MAIN_KEYS`, the same table the bindings come from.
"""

from __future__ import annotations

from typing import ClassVar

from crlhf_tui.keymap import MAIN_KEYS
from crlhf_tui.widgets.code_view import MARK_COMMENT, MARK_CORRECT, MARK_UNMARKED, MARK_WRONG
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static


def key_table() -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    for key in MAIN_KEYS:
        table.add_row(key.shown, key.description)
    return table


def legend() -> Text:
    text = Text()
    text.append(MARK_WRONG, style="bold red")
    text.append(" wrong  ")
    text.append(MARK_CORRECT, style="bold green")
    text.append(" correct  ")
    text.append(MARK_UNMARKED, style="dim")
    text.append(" unmarked, sent as correct  ")
    text.append(MARK_COMMENT, style="yellow")
    text.append(" comment\n")
    text.append("Dim number, no mark: blank line, not judged. Click selects a line.")
    return text


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,question_mark,f1,q", "dismiss", "close"),
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help", classes="dialog") as box:
            box.border_title = "Keys"
            box.border_subtitle = "Esc, ? or F1 closes"
            yield Static(key_table())
            yield Static(legend(), id="legend")
