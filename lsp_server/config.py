"""Where crlhf-lsp finds its server, token and task directory.

Sources, strongest first: workspace configuration (``crlhf.server``, ``crlhf.token``,
``crlhf.tasksDir``), ``initializationOptions`` (the same keys, without the prefix), then
whatever :class:`crlhf.client_config.ClientConfig` resolves from ``CRLHF_SERVER`` /
``CRLHF_TOKEN`` and the user's ``config.toml``, the same place the TUI reads. Task files
go to ``$CRLHF_CACHE_DIR/tasks`` or the platform's cache dir.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import platformdirs
from crlhf_lsp.messages import GENERIC, EditorTerms

from crlhf.client_config import APP_NAME, ClientConfig
from crlhf.errors import InvalidInput

ENV_CACHE_DIR = "CRLHF_CACHE_DIR"
SECTION = "crlhf"


def default_tasks_dir(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    base = env.get(ENV_CACHE_DIR) or platformdirs.user_cache_dir(APP_NAME)
    return Path(base) / "tasks"


def _resolves(server: str | None, token: str | None) -> bool:
    try:
        ClientConfig.load(server, token)
    except InvalidInput:
        return False
    return True


def _text(options: Mapping[str, Any], key: str) -> str | None:
    value = options.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"crlhf.{key} must be a string, got {type(value).__name__}", field=key)
    return value


@dataclass(frozen=True)
class LspSettings:
    """Settings the editor gave; ``None`` falls back to env and the config file."""

    server: str | None = None
    token: str | None = None
    tasks_dir: Path | None = None
    editor: str | None = None
    """Which editor runs us ("neovim", "vscode"): messages name its settings."""

    @classmethod
    def from_options(cls, options: Any) -> LspSettings:
        """Read ``{"server", "token", "tasksDir", "editor"}``; a non-object is empty."""
        if not isinstance(options, Mapping):
            return cls()
        tasks_dir = _text(options, "tasksDir")
        return cls(
            server=_text(options, "server"),
            token=_text(options, "token"),
            tasks_dir=Path(tasks_dir).expanduser() if tasks_dir else None,
            editor=_text(options, "editor"),
        )

    def overlay(self, stronger: LspSettings) -> LspSettings:
        """These settings with every value ``stronger`` sets replacing ours."""
        return replace(
            self,
            server=stronger.server or self.server,
            token=stronger.token or self.token,
            tasks_dir=stronger.tasks_dir or self.tasks_dir,
            editor=stronger.editor or self.editor,
        )

    def client_config(self, terms: EditorTerms = GENERIC) -> ClientConfig:
        """Resolve server and token; what is missing or wrong is named in ``terms``.

        The core's own message names the command line's ``--server``/``--token``, which
        an editor does not have, so each half is probed on its own to say which is missing.
        """
        try:
            config = ClientConfig.load(self.server, self.token)
        except InvalidInput as exc:
            missing = []
            if self.server is None and not _resolves(None, "probe"):
                missing.append(f"the server URL ({terms.server_setting}, $CRLHF_SERVER)")
            if self.token is None and not _resolves("http://probe", None):
                missing.append(f"your token ({terms.token_setting})")
            if not missing:  # a value is there but wrong (a malformed URL)
                raise InvalidInput(f"{exc.message}; check {terms.server_setting}") from exc
            raise InvalidInput(
                "crlhf is not configured: set "
                + " and ".join(missing)
                + " (or put them in the crlhf config file)"
            ) from exc
        path = urlsplit(config.server).path.rstrip("/")
        if path.endswith("/v1"):
            base = config.server[: -len("/v1")]
            raise InvalidInput(
                f"the server URL {config.server} ends in /v1; give the base URL "
                f"({base}) in {terms.server_setting}: crlhf adds /v1 itself"
            )
        return config

    def resolved_tasks_dir(self) -> Path:
        return self.tasks_dir or default_tasks_dir()
