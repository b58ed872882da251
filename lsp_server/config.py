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

import platformdirs

from crlhf.client_config import APP_NAME, ClientConfig
from crlhf.errors import InvalidInput

ENV_CACHE_DIR = "CRLHF_CACHE_DIR"
SECTION = "crlhf"


def default_tasks_dir(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    base = env.get(ENV_CACHE_DIR) or platformdirs.user_cache_dir(APP_NAME)
    return Path(base) / "tasks"


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

    @classmethod
    def from_options(cls, options: Any) -> LspSettings:
        """Read ``{"server", "token", "tasksDir"}``; anything else than an object is empty."""
        if not isinstance(options, Mapping):
            return cls()
        tasks_dir = _text(options, "tasksDir")
        return cls(
            server=_text(options, "server"),
            token=_text(options, "token"),
            tasks_dir=Path(tasks_dir).expanduser() if tasks_dir else None,
        )

    def overlay(self, stronger: LspSettings) -> LspSettings:
        """These settings with every value ``stronger`` sets replacing ours."""
        return replace(
            self,
            server=stronger.server or self.server,
            token=stronger.token or self.token,
            tasks_dir=stronger.tasks_dir or self.tasks_dir,
        )

    def client_config(self) -> ClientConfig:
        """Resolve server and token (raises :class:`InvalidInput` naming what is missing)."""
        return ClientConfig.load(self.server, self.token)

    def resolved_tasks_dir(self) -> Path:
        return self.tasks_dir or default_tasks_dir()
