"""Commands printed as hints, spelled so that they run where they are printed.

After ``make run`` the console scripts live in ``.venv/bin``, which is not on PATH: a hint
that says ``crlhf admin ...`` fails as printed. :func:`runnable` spells a script of this
installation the way the user's shell can find it.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from pathlib import Path


def runnable(name: str) -> str:
    """``name`` when PATH finds this installation's copy of the script, else its path:
    relative (``.venv/bin/crlhf``) when it lies below the working directory, else absolute.
    """
    script = Path(sys.executable).parent / name
    if not script.exists():
        return name
    found = shutil.which(name)
    if found is not None and Path(found).resolve() == script.resolve():
        return name
    try:
        relative = script.relative_to(Path.cwd())
    except ValueError:
        return str(script)
    return str(relative) if len(relative.parts) > 1 else f".{os.sep}{relative}"


def _source_checkout() -> Path | None:
    """The checkout folder when crlhf runs from one (an editable install, ``make run``):
    the package's parent holds a pyproject.toml; a wheel's site-packages does not."""
    root = Path(__file__).resolve().parent.parent
    return root if (root / "pyproject.toml").is_file() else None


def install_command(extra: str) -> str:
    """The pip command that adds ``extra`` to this installation, runnable where printed:
    ``.venv/bin/pip install -e '.[tui]'`` in a checkout, else ``pip install 'crlhf[tui]'``."""
    pip = runnable("pip")
    source = _source_checkout()
    if source is None:
        return f"{pip} install 'crlhf[{extra}]'"
    try:
        where = source.relative_to(Path.cwd())
    except ValueError:
        return f"{pip} install -e '{source}[{extra}]'"
    return f"{pip} install -e '{where}[{extra}]'"


def tui_command(server: str, token: str) -> str:
    """The lines that start ``crlhf-tui`` for this server and token from here, preceded by
    the install step when the ``tui`` extra is missing."""
    start = f"CRLHF_SERVER={server} CRLHF_TOKEN={token} {runnable('crlhf-tui')}"
    if importlib.util.find_spec("textual") is None:
        return f"    {install_command('tui')}\n    {start}\n"
    return f"    {start}\n"
