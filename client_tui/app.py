"""``crlhf-tui``: the terminal annotation client.

Start-up stays under a second because nothing heavy is imported: the core's schemas and
HTTP client, Textual, and this package; never torch, never the server (a test checks).
"""

from __future__ import annotations

import argparse
import logging
import sqlite3
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from crlhf_tui.screens.annotate import AnnotateScreen
from crlhf_tui.screens.login import Check, LoginScreen
from crlhf_tui.session import Session, check_token, open_session
from crlhf_tui.sync import SyncStatus
from textual.app import App
from textual.worker import Worker

from crlhf import __version__
from crlhf.client_config import ClientConfig, data_dir
from crlhf.errors import CrlhfError

logger = logging.getLogger(__name__)

Connect = Callable[[ClientConfig], Session]


class CrlhfTui(App[None]):
    """Shows the login screen when there is no config, then the annotation screen.

    ``connect`` builds the session for a config and ``check`` verifies a token on the
    login screen; tests pass fakes. With ``background=False`` no sync loop runs (the
    snapshot tests drive a fixed state).
    """

    CSS_PATH = "styles.tcss"
    TITLE = "crlhf"

    def __init__(
        self,
        config: ClientConfig | None,
        *,
        connect: Connect = open_session,
        check: Check = check_token,
        save_config: bool = True,
        background: bool = True,
        login_server: str = "",
        login_message: str = "",
    ) -> None:
        super().__init__()
        self.config = config
        self._connect = connect
        self._check = check
        self._save_config = save_config
        self._background = background
        self._login_server = login_server
        self._login_message = login_message
        self.session: Session | None = None
        self._sync_worker: Worker[None] | None = None

    async def on_mount(self) -> None:
        if self.config is None:
            self.push_screen(
                LoginScreen(self._check, server=self._login_server, message=self._login_message),
                self._logged_in,
            )
        else:
            await self.start(self.config)

    async def _logged_in(self, config: ClientConfig | None) -> None:
        if config is None:
            self.exit()
            return
        if self._save_config:
            try:
                path = config.save()
            except OSError as exc:
                self.notify(f"Could not save the config: {exc}", severity="warning", markup=False)
            else:
                logger.info("saved config to %s", path)
        await self.start(config)

    async def start(self, config: ClientConfig) -> None:
        """Open the session (local only) and show the annotation screen at once; the
        network is the sync loop's business."""
        self.config = config
        try:
            self.session = self._connect(config)
        except (CrlhfError, OSError, sqlite3.Error) as exc:
            message = f"Cannot open the local queue: {exc}. Ctrl+Q quits."
            self.notify(message, severity="error", timeout=60, markup=False)
            return
        # Awaited: the first sync round must find the screen's widgets mounted.
        await self.push_screen(AnnotateScreen(self.session.sync, self.session.server))
        if self._background:
            self._sync_worker = self.run_worker(
                self.session.sync.run(self.on_round), name="sync", group="sync"
            )

    def on_round(self, status: SyncStatus, messages: list[str]) -> None:
        """A sync round ended: refresh the annotation screen, tell the user what failed."""
        for screen in self.screen_stack:
            if isinstance(screen, AnnotateScreen):
                screen.apply_status(status)
        for message in messages:
            self.notify(message, title="Server", severity="error", timeout=8, markup=False)

    async def on_unmount(self) -> None:
        if self._sync_worker is not None:
            self._sync_worker.cancel()
        if self.session is not None:
            await self.session.aclose()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="crlhf-tui",
        description="Annotate generated code line by line, in the terminal.",
    )
    parser.add_argument("--server", help="server URL (else $CRLHF_SERVER or the config file)")
    parser.add_argument("--token", help="your token (else $CRLHF_TOKEN or the config file)")
    parser.add_argument(
        "--login", action="store_true", help="ask for server and token even if configured"
    )
    parser.add_argument("--prefetch", type=int, default=3, help="samples to keep ready (default 3)")
    parser.add_argument("--log-file", type=Path, help="log here (default <data dir>/tui.log)")
    parser.add_argument("--version", action="version", version=f"crlhf-tui {__version__}")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.prefetch < 1:
        sys.stderr.write("crlhf-tui: --prefetch must be at least 1\n")
        return 2
    # The terminal belongs to the UI: logs go to a file, never to stderr.
    log_file: Path = args.log_file or data_dir() / "tui.log"
    log_file.parent.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(
        filename=log_file,
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request is noise
    config: ClientConfig | None = None
    message = ""
    if not args.login:
        try:
            config = ClientConfig.load(args.server, args.token)
        except CrlhfError as exc:
            message = str(exc)  # names every missing setting and where it could come from

    def connect(config: ClientConfig) -> Session:
        return open_session(config, prefetch=args.prefetch)

    CrlhfTui(config, connect=connect, login_server=args.server or "", login_message=message).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
