"""First run: ask for the server URL and token and check them against the server.

Shown when no configuration is found (``--server``/``--token``, ``CRLHF_SERVER``/
``CRLHF_TOKEN`` or the config file). A working pair is saved to the config file, so the
next start goes straight to annotating.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Button, Input, Label, Static

from crlhf.client_config import ClientConfig
from crlhf.errors import AuthenticationFailed, CrlhfError, ServerUnreachable
from crlhf.schemas import Annotator

Check = Callable[[ClientConfig], Awaitable[Annotator]]
"""Ask the server who the token belongs to (``CrlhfClient.me``)."""


def explain(exc: CrlhfError, server: str) -> str:
    """A sentence for the user, for each way a first connection fails."""
    if isinstance(exc, AuthenticationFailed):
        return f"The server at {server} does not accept this token ({exc.message})."
    if isinstance(exc, ServerUnreachable):
        return f"Cannot reach a crlhf server at {server}. Is it running? ({exc.message})"
    return f"The server answered with an error: {exc}"


class LoginScreen(Screen[ClientConfig]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("ctrl+q", "app.quit", "quit")]

    def __init__(self, check: Check, *, server: str = "", message: str = "") -> None:
        super().__init__()
        self.check = check
        self.server = server
        self.message = message

    def compose(self) -> ComposeResult:
        with Vertical(id="login", classes="dialog") as box:
            box.border_title = "Connect to a crlhf server"
            yield Static(
                "Your admin gives you a server URL and a personal token. They are saved "
                "to your config file (see docs/tui.md) once the server accepts them."
            )
            yield Label("Server URL")
            yield Input(self.server, placeholder="http://127.0.0.1:8000", id="server")
            yield Label("Token")
            yield Input(password=True, placeholder="token from your admin", id="token")
            yield Button("Connect", variant="primary", id="connect")
            yield Static(Text(self.message), id="login-error")

    def on_mount(self) -> None:
        self.query_one("#server" if not self.server else "#token", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.input.id == "server":
            self.query_one("#token", Input).focus()
        else:
            self.attempt()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.attempt()

    def _say(self, message: str) -> None:
        self.query_one("#login-error", Static).update(Text(message))

    @work(exclusive=True, group="login")
    async def attempt(self) -> None:
        server = self.query_one("#server", Input).value
        token = self.query_one("#token", Input).value
        try:
            config = ClientConfig(server=server, token=token)
        except CrlhfError as exc:
            self._say(str(exc))
            return
        self._say(f"Checking {config.server} …")
        try:
            annotator = await self.check(config)
        except CrlhfError as exc:
            self._say(explain(exc, config.server))
            return
        self.notify(f"Signed in as {annotator.name}.", markup=False)
        self.dismiss(config)
