"""Finding and killing what a sandbox left behind, and choosing whom it runs as.

Linux only: everything here reads ``/proc``. A runner runs in its own session; when the
host is root it also runs under a uid of its own (one per concurrent runner, claimed
with a lock file), so "every process of that uid" is an exact description of what to
kill afterwards, even for a process that escaped its session.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import logging
import os
import pwd
import signal
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from crlhf.errors import SandboxError

logger = logging.getLogger(__name__)

RUNNER_MARKER = b"crlhf-sandbox-runner"
_SWEEP_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class ProcInfo:
    pid: int
    uid: int
    session: int
    threads: int
    zombie: bool


def _read_proc(pid: int) -> ProcInfo | None:
    try:
        with open(f"/proc/{pid}/status", encoding="utf-8", errors="replace") as handle:
            status = handle.read()
    except OSError:
        return None  # gone between listing and reading
    fields: dict[str, str] = {}
    for line in status.splitlines():
        key, _, value = line.partition(":")
        fields[key] = value
    try:
        return ProcInfo(
            pid=pid,
            uid=int(fields["Uid"].split()[0]),  # the real uid: what RLIMIT_NPROC counts
            session=int(fields["NSsid"].split()[0]),
            threads=int(fields.get("Threads", "1")),
            zombie=fields["State"].split()[0] in ("Z", "X"),
        )
    except (KeyError, ValueError, IndexError):
        return None


def processes() -> Iterator[ProcInfo]:
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (info := _read_proc(int(entry))) is not None:
            yield info


def tasks_of_uid(uid: int) -> int:
    """Threads (kernel tasks) of ``uid``: the count RLIMIT_NPROC is checked against."""
    return sum(max(p.threads, 1) for p in processes() if p.uid == uid)


def kill_all(match: Callable[[ProcInfo], bool], *, settle: bool = False) -> int:
    """SIGKILL every process that matches, repeating until none is left.

    Repeats because a process may fork while its siblings are being killed; the
    sandbox's process limit bounds how long that can go on. With ``settle``, also waits
    until the killed processes are reaped: until then they still count against the
    uid's RLIMIT_NPROC, and the next runner under that uid could not fork.
    """
    me = os.getpid()
    killed = 0
    deadline = time.monotonic() + _SWEEP_TIMEOUT_S
    while time.monotonic() < deadline:
        found = [p for p in processes() if p.pid != me and match(p)]
        victims = [p.pid for p in found if not p.zombie]
        if not victims and not (settle and found):
            return killed
        for pid in victims:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
                killed += 1
        time.sleep(0.005)
    logger.warning("sandbox sweep gave up after %.0f s", _SWEEP_TIMEOUT_S)
    return killed


def sweep_uid(uid: int) -> None:
    """Kill every process of ``uid`` and wait until they are gone."""
    kill_all(functools.partial(_has_uid, uid), settle=True)


def sandbox_pids(host: int | None = None) -> list[int]:
    """Live sandbox processes: zygotes, runners and samples (forks keep the zygote's
    command line, which carries the runner's marker and the host's pid as last argument).
    ``host`` limits the answer to the sandboxes of that host process."""
    found = []
    for info in processes():
        try:
            argv = Path(f"/proc/{info.pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        ours = host is None or (len(argv) > 1 and argv[-2] == str(host).encode())
        if any(RUNNER_MARKER in arg for arg in argv) and ours and not info.zombie:
            found.append(info.pid)
    return found


_settled: set[int] = set()
"""Uids this process has seen empty; every release leaves its uid empty again."""


def _has_uid(uid: int, info: ProcInfo) -> bool:
    return info.uid == uid


@contextlib.contextmanager
def claim_uid(base: int, span: int = 256) -> Iterator[int]:
    """Hold an unused uid from ``[base, base + span)`` for one runner.

    A uid with a passwd entry is skipped (it belongs to someone); the lock file makes
    the claim exclusive across threads and processes, so a sweep by uid never touches
    another runner. Processes left with that uid by a host that died are killed at the
    first claim; the caller must leave the uid without processes when it releases it
    (``sweep_uid``).
    """
    lock_dir = Path(tempfile.gettempdir()) / "crlhf-sandbox-uids"
    lock_dir.mkdir(mode=0o700, exist_ok=True)
    for uid in range(base, base + span):
        try:
            pwd.getpwuid(uid)
            continue
        except KeyError:
            pass
        fd = os.open(lock_dir / f"{uid}.lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        try:
            if uid not in _settled:  # first use by this process: a dead host's leftovers?
                kill_all(functools.partial(_has_uid, uid), settle=True)
                _settled.add(uid)
            yield uid
        finally:
            os.close(fd)  # releases the lock
        return
    raise SandboxError(f"no free sandbox uid in [{base}, {base + span})")
