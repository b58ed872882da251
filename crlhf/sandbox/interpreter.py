"""Which Python runs the sandbox runner.

The runner uses only the standard library, so any CPython >= 3.9 will do. When the host
is root the runner drops to an unprivileged uid, and that uid must still be able to
execute the interpreter and read its standard library (a pyenv Python under /root is not
readable by others); this module finds one that is.
"""

from __future__ import annotations

import functools
import os
import shutil
import stat
import sys
from pathlib import Path

from crlhf.errors import SandboxError


def _world_can(path: Path, bit: int) -> bool:
    """Whether any user can traverse to ``path`` and use it with permission ``bit``."""
    try:
        resolved = path.resolve(strict=True)
        for parent in reversed(resolved.parents):
            if not parent.stat().st_mode & stat.S_IXOTH:
                return False
        return bool(resolved.stat().st_mode & bit)
    except OSError:
        return False


def _stdlib_of(executable: Path) -> Path | None:
    prefix = executable.resolve().parent.parent
    found = sorted((prefix / "lib").glob("python3.*/os.py"))
    return found[-1].parent if found else None


def usable_by_others(executable: Path) -> bool:
    stdlib = _stdlib_of(executable)
    return (
        _world_can(executable, stat.S_IXOTH)
        and stdlib is not None
        and _world_can(stdlib / "os.py", stat.S_IROTH)
    )


@functools.cache
def choose(unprivileged: bool) -> str:
    """The interpreter for the runner: this one unless an unprivileged uid cannot use it."""
    if not unprivileged:
        return sys.executable
    candidates = [sys.executable, getattr(sys, "_base_executable", "")]
    minor = f"python3.{sys.version_info.minor}"
    candidates += [shutil.which(minor) or "", f"/usr/bin/{minor}", "/usr/bin/python3"]
    candidates += [shutil.which("python3") or "", "/usr/local/bin/python3"]
    for candidate in candidates:
        if candidate and os.path.exists(candidate) and usable_by_others(Path(candidate)):
            return candidate
    raise SandboxError(
        "no Python interpreter is usable by an unprivileged uid; pass python=... "
        "or install one outside /root"
    )
