"""The one-line header: server, connection state, offline queue, progress today.

The queue count is what tells an annotator working offline that nothing is lost: it
grows while the server is away and drains once it is back.
"""

from __future__ import annotations

from crlhf_tui.sync import Connection, SyncStatus
from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

_CONNECTION_STYLE: dict[Connection, tuple[str, str]] = {
    Connection.CONNECTING: ("◌ connecting", "bold yellow"),
    Connection.ONLINE: ("● online", "bold green"),
    Connection.OFFLINE: ("○ offline", "bold red"),
}


class StatusBar(Widget):
    DEFAULT_CSS = """
    StatusBar {
        height: 1;
        background: $panel;
        color: $text;
    }
    """

    status: reactive[SyncStatus | None] = reactive(None)

    def __init__(self, server: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.server = server

    def render(self) -> Text:
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(" crlhf ", style="bold reverse")
        text.append(" ")
        status = self.status
        if status is None:
            label, style = _CONNECTION_STYLE[Connection.CONNECTING]
            text.append(label, style=style)
            text.append(f"  {self.server}")
            return text
        label, style = _CONNECTION_STYLE[status.connection]
        text.append(label, style=style)
        text.append("  queued ", style="dim")
        text.append(str(status.queued), style="bold yellow" if status.queued else "bold")
        text.append("  today ", style="dim")
        text.append("–" if status.samples_today is None else str(status.samples_today))
        left = None if status.stats is None else status.stats.tasks_left
        if left is not None:
            text.append("  left ", style="dim")
            text.append(str(left))
        text.append(f"  {self.server}", style="dim")
        return text
