"""The stats screen: samples done, agreement with the crowd, reliability, as numbers and bars.

The numbers come from ``GET /v1/me/stats`` as last fetched by the background sync (it
refreshes them every round), so opening the screen never waits on the network.
"""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from crlhf.schemas import AnnotatorStats

BAR_WIDTH = 30


def bar(value: float | None, style: str, missing: str = "not enough votes yet") -> Text:
    """A horizontal bar for a share in [0, 1]; ``–`` and why when there is no value yet."""
    if value is None:
        return Text(f"–  ({missing})", style="dim")
    filled = round(max(0.0, min(1.0, value)) * BAR_WIDTH)
    text = Text()
    text.append("█" * filled, style=style)
    text.append("░" * (BAR_WIDTH - filled), style="dim")
    text.append(f" {value:6.1%}")
    return text


def stats_table(stats: AnnotatorStats) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column(no_wrap=True)
    table.add_row("annotator", stats.name)
    table.add_row("samples done", str(stats.samples_done))
    table.add_row("done today", str(stats.samples_today))
    table.add_row("line votes", str(stats.votes))
    if stats.tasks_left is not None:
        table.add_row("tasks left", str(stats.tasks_left))
    table.add_row("", "")
    alone = "nobody else has judged your lines yet"
    table.add_row("agreement", bar(stats.agreement, "cyan", missing=alone))
    table.add_row("reliability", bar(stats.reliability, "green"))
    return table


EXPLANATION = (
    "Agreement: the share of your line votes that match the crowd's current consensus, "
    "on lines someone else judged too. "
    "Reliability: the server's estimate that you label a line right; it weighs your votes "
    "(0.5 counts for nothing, higher counts more)."
)


class StatsScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,t,q", "dismiss", "close")]

    def __init__(self, stats: AnnotatorStats | None) -> None:
        super().__init__()
        self.stats = stats

    def compose(self) -> ComposeResult:
        with Vertical(id="stats", classes="dialog") as box:
            box.border_title = "Your statistics"
            box.border_subtitle = "Esc or t closes"
            if self.stats is None:
                yield Static("No statistics yet: the server has not answered since start-up.")
            else:
                yield Static(stats_table(self.stats))
                yield Static(EXPLANATION, id="explanation")
