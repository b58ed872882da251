# crlhf-sandbox-runner: the process that runs one problem's samples.
"""Child-side half of the sandbox: a zygote that forks one runner per problem.

This file is executed as a script (``python -I -S -c <this source> HOST_PID``), never
imported by the host, so it uses the standard library only and nothing from crlhf. The
first line is a marker that lets tests and the host find stray sandbox processes.

Three kinds of process, each forked from the one before:

- the zygote (one per host worker, trusted, runs as the host's user) reads jobs from
  stdin and forks a runner per job, so Python's start-up is paid once per worker;
- the runner (one per problem, trusted code until it forks) enters its own session,
  network namespace and mount namespace (a fresh tmpfs on /tmp, /var/tmp and /dev/shm),
  lowers its limits, drops to the job's uid, then runs each sample;
- the sample process (one per sample, untrusted) becomes its own process group, points
  fds 0-2 at /dev/null, captures ``print`` output up to a cap, arms an audit hook (see
  ``_arm``) and executes the program. The runner waits for its verdict on a private pipe
  with a wall-clock deadline and kills its process group when it passes.

Messages to the host go to stdout, one line each, the repr of a dict of literals (read
with ``ast.literal_eval``): the runner's pid, its isolation, one verdict per sample, a
"done" line, and the runner's exit status from the zygote.
"""

from __future__ import annotations

import marshal
import os
import resource
import select
import signal
import sys
import time
from typing import Any, NoReturn

CLONE_NEWNET = 0x40000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWNS = 0x00020000
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_BIND = 0x1000
MS_REC = 0x4000
MS_PRIVATE = 1 << 18
SHARED_TMP = ("/tmp", "/var/tmp", "/dev/shm")
"""World-writable directories a sample could leave files in for later samples or users."""
TMPFS_OPTIONS = b"mode=1777,size=64m,nr_inodes=4096"
PR_SET_PDEATHSIG = 1
PR_SET_NO_NEW_PRIVS = 38
PR_SET_CHILD_SUBREAPER = 36
MESSAGE_CAP = 2000
VERDICT_CAP = 1 << 20

# Events that are refused outright while a sample runs.
FORBIDDEN_EVENTS = frozenset(
    {
        "os.fork",
        "os.forkpty",
        "os.exec",
        "os.posix_spawn",
        "os.spawn",
        "os.system",
        "os.startfile",
        "subprocess.Popen",
        "pty.spawn",
        "socket.__new__",
        "socket.bind",
        "socket.connect",
        "socket.getaddrinfo",
        "socket.gethostbyname",
        "socket.gethostbyaddr",
        "socket.sethostname",
        "ctypes.dlopen",
        "ctypes.dlsym",
        "ctypes.dlsym/handle",
        "ctypes.call_function",
        "ctypes.cdata",
        "ctypes.cdata/buffer",
        "gc.get_objects",
        "gc.get_referrers",
        "gc.get_referents",
        "sys._current_frames",
        "os.setuid",
        "resource.setrlimit",
        "resource.prlimit",
    }
)
# Modules whose mere import hands out an unaudited way round the hook.
FORBIDDEN_IMPORTS = frozenset({"_posixsubprocess", "_ctypes", "ctypes", "_xxsubinterpreters"})
# Events whose first argument is a path that may only point inside the sample's temp dir.
WRITE_PATH_EVENTS = frozenset(
    {
        "os.remove",
        "os.rmdir",
        "os.mkdir",
        "os.chmod",
        "os.chown",
        "os.truncate",
        "os.utime",
        "os.chflags",
        "os.lchflags",
        "os.setxattr",
        "os.removexattr",
        "shutil.rmtree",
    }
)
# Events with two paths (source, destination), both confined to the temp dir.
TWO_PATH_EVENTS = frozenset({"os.rename", "os.link", "os.symlink", "shutil.copyfile"})
READ_PATH_EVENTS = frozenset({"os.listdir", "os.scandir", "os.getxattr", "os.listxattr"})
# Pure standard-library modules that test programs commonly import and that do nothing
# when imported (no I/O, no threads): imported once in the zygote, so that no sample pays
# for them (importing typing in every sample, the audit hook resolving each file it opens,
# costs tens of milliseconds).
PRELOADABLE = frozenset(
    {
        "typing", "math", "cmath", "re", "collections", "heapq", "itertools", "functools",
        "string", "bisect", "random", "copy", "operator", "array", "hashlib", "statistics",
        "fractions", "decimal", "datetime", "json", "dataclasses", "enum", "textwrap",
    }
)  # fmt: skip
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


class SandboxViolation(BaseException):
    """Raised by the audit hook. A BaseException so ``except Exception`` cannot hide it."""


class CappedWriter:
    """A text stream that keeps the first ``cap`` characters and counts the rest."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.parts: list[str] = []
        self.kept = 0
        self.dropped = 0

    def write(self, text: object) -> int:
        text = str(text)
        room = self.cap - self.kept
        if room > 0:
            self.parts.append(text[:room])
            self.kept += min(room, len(text))
        self.dropped += max(0, len(text) - max(room, 0))
        return len(text)

    def flush(self) -> None:
        return None

    def isatty(self) -> bool:
        return False

    def value(self) -> str:
        out = "".join(self.parts)
        if self.dropped:
            out += f"\n[... {self.dropped} more characters dropped]"
        return out


def _libc() -> tuple[Any, Any]:
    import ctypes  # the runner's own use, before any sample exists

    return ctypes.CDLL(None, use_errno=True), ctypes


def _isolate_network(libc: Any, ctypes: Any, privileged: bool) -> str:
    """Enter a fresh network namespace (only a down loopback) if the OS lets us."""
    if libc.unshare(CLONE_NEWNET) == 0:
        return "netns"
    first = ctypes.get_errno()
    if not privileged and libc.unshare(CLONE_NEWUSER | CLONE_NEWNET) == 0:
        return "userns+netns"
    return f"none (unshare failed: {os.strerror(first)})"


def _inside_any(path: str, roots: list[str]) -> bool:
    return any(path == root or path.startswith(root.rstrip("/") + "/") for root in roots)


def _private_tmp(libc: Any, ctypes: Any, need_userns: bool) -> str:
    """Enter a mount namespace with a fresh tmpfs on each of SHARED_TMP, if the OS lets us.

    What a sample writes there vanishes with the namespace (when the runner and its
    samples have exited) and no other process sees it. The job's own temp dir usually
    lives under /tmp: it is bound back at its path first, so the sample and the host still
    share it. ``need_userns``: not root and not yet in a user namespace.
    """
    workdir = os.getcwd()  # the job's temp dir (the runner chdir'd into it)
    flags = CLONE_NEWNS | (CLONE_NEWUSER if need_userns else 0)
    if libc.unshare(flags) != 0:
        return f"none (unshare failed: {os.strerror(ctypes.get_errno())})"
    # Nothing mounted here may propagate back to the host's namespace.
    if libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None) != 0:
        return f"none (making mounts private failed: {os.strerror(ctypes.get_errno())})"
    keep = os.open(workdir, os.O_RDONLY | os.O_DIRECTORY)
    covered: list[str] = []
    for path in SHARED_TMP:
        if os.path.isdir(path) and not os.path.islink(path):
            target = path.encode()
            if libc.mount(b"tmpfs", target, b"tmpfs", MS_NOSUID | MS_NODEV, TMPFS_OPTIONS) == 0:
                covered.append(path)
    if _inside_any(workdir, covered):
        os.makedirs(workdir, exist_ok=True)
        source = f"/proc/self/fd/{keep}".encode()
        if libc.mount(source, workdir.encode(), None, MS_BIND | MS_REC, None) != 0:
            os._exit(4)  # the job's dir is gone from view: nothing can run correctly
    os.close(keep)
    os.chdir(workdir)
    if not covered:
        return "none (no tmpfs could be mounted)"
    return "tmpfs " + ",".join(covered)


def _sweep_own_files() -> int:
    """Remove what this (private) uid left at the top of SHARED_TMP; returns the count.

    Where the runner has its own tmpfs these are gone anyway; without one, a sample could
    otherwise leave files for the next user of the directory. Called after every sample
    process of the uid is dead, so nothing can recreate them.
    """
    import shutil  # the runner's own use, after every sample has ended

    me = os.getuid()
    removed = 0
    for root in SHARED_TMP:
        try:
            entries = list(os.scandir(root))
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.stat(follow_symlinks=False).st_uid != me:
                    continue
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path, ignore_errors=True)
                else:
                    os.unlink(entry.path)
                removed += 1
            except OSError:
                pass
    return removed


def _set_limits(job: dict[str, Any]) -> dict[str, int]:
    limits = job["limits"]
    mib = 1024 * 1024
    pairs = [
        (resource.RLIMIT_CORE, 0),
        (resource.RLIMIT_AS, limits["memory_mb"] * mib),
        (resource.RLIMIT_FSIZE, limits["file_size_mb"] * mib),
        (resource.RLIMIT_NOFILE, limits["open_files"]),
        (resource.RLIMIT_NPROC, job["nproc"]),
    ]
    for which, value in pairs:
        resource.setrlimit(which, (value, value))
    return {
        "core": 0,
        "memory_mb": limits["memory_mb"],
        "file_size_mb": limits["file_size_mb"],
        "open_files": limits["open_files"],
        "processes": job["nproc"],
        "cpu_s": limits["cpu_s"],
    }


def _prepare(job: dict[str, Any], libc: Any, ctypes: Any, zygote: int) -> dict[str, Any]:
    """Trusted set-up, in the order that keeps each step possible: namespace needs root,
    limits are lowered before the uid changes, the parent-death signal after it (a
    credential change clears it)."""
    privileged = job["uid"] is not None
    network = _isolate_network(libc, ctypes, privileged) if job["isolate_network"] else "off"
    in_userns = network == "userns+netns"
    tmp = _private_tmp(libc, ctypes, need_userns=not privileged and not in_userns)
    rlimits = _set_limits(job)
    if privileged:
        os.setgroups([])
        os.setgid(job["gid"])
        os.setuid(job["uid"])
    no_new_privs = libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0
    subreaper = libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != zygote:
        os._exit(3)  # the zygote died before the death signal was in place
    roots = [os.path.realpath(p) for p in sys.path if p and os.path.exists(p)]
    job["read_roots"] = [*roots, "/dev/null", "/dev/urandom", *job["extra_read_roots"]]
    return {
        "network": network,
        "tmp": tmp,
        "read_roots": job["read_roots"],
        "uid": os.getuid(),
        "gid": os.getgid(),
        "dropped_privileges": privileged,
        "no_new_privs": no_new_privs,
        "subreaper": subreaper,
        "rlimits": rlimits,
        "audit_hook": job["audit"],
        "python": sys.version.split()[0],
    }


def _inside(path: str, roots: tuple[str, ...]) -> bool:
    return any(path == root or path.startswith(root + os.sep) for root in roots)


def _arm(workdir: str, read_roots: tuple[str, ...], violations: list[str]) -> None:
    """Install the audit hook that refuses what a test program never needs.

    Not a security boundary on its own (CPython's audit hooks can be dodged by code that
    reaches the interpreter's internals); it sits on top of the OS limits and uid drop,
    and its value is turning hostile behaviour into a clear ``blocked`` verdict.
    """
    write_roots = (workdir,)
    my_pid = os.getpid()
    realpath = os.path.realpath
    fspath = os.fspath

    def resolve(path: Any) -> str | None:
        if isinstance(path, int):
            return None  # an already open descriptor
        try:
            return realpath(fspath(path) if not isinstance(path, bytes) else os.fsdecode(path))
        except (TypeError, ValueError):
            return "?"

    def refuse(event: str, detail: str) -> NoReturn:
        if not violations:
            violations.append(f"{event} {detail}".strip()[:MESSAGE_CAP])
        raise SandboxViolation(f"sandbox: {event} is not allowed")

    def hook(event: str, args: tuple[Any, ...]) -> None:
        if event in FORBIDDEN_EVENTS:
            shown = args[1:3] if event == "socket.__new__" else args[:1]
            refuse(event, repr(shown)[:200])
        elif event == "import" and args[0] in FORBIDDEN_IMPORTS:
            refuse("import", args[0])
        elif event == "open":
            path, mode, flags = args
            resolved = resolve(path)
            if resolved is None:
                return
            writing = (mode is not None and any(c in mode for c in "wax+")) or (
                mode is None and bool(flags & WRITE_FLAGS)
            )
            allowed = write_roots if writing else write_roots + read_roots
            if not _inside(resolved, allowed):
                refuse("open", f"{'write' if writing else 'read'} {resolved}")
        elif event in WRITE_PATH_EVENTS or event in TWO_PATH_EVENTS:
            paths = args[:2] if event in TWO_PATH_EVENTS else args[:1]
            for path in paths:
                resolved = resolve(path)
                if resolved is not None and not _inside(resolved, write_roots):
                    refuse(event, resolved)
        elif event in READ_PATH_EVENTS:
            resolved = resolve(args[0] if args and args[0] is not None else ".")
            if resolved is not None and not _inside(resolved, write_roots + read_roots):
                refuse(event, resolved)
        elif event in ("os.kill", "os.killpg"):
            target = args[0]
            if target not in (my_pid, 0):
                refuse(event, str(target))

    sys.addaudithook(hook)


def _assert_message(exc: AssertionError, program: str) -> str:
    """The first failing assertion, as the user would want to read it."""
    text = str(exc)
    if text:
        return f"AssertionError: {text}"[:MESSAGE_CAP]
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    lines = program.splitlines()
    if tb is not None and 1 <= tb.tb_lineno <= len(lines):
        source = lines[tb.tb_lineno - 1].strip()
        if source.startswith("assert"):
            return f"line {tb.tb_lineno}: {source}"[:MESSAGE_CAP]
    return "AssertionError"


def _verdict(program: str, violations: list[str]) -> tuple[str, str]:
    """Run the program in this (forked) process and return its verdict."""
    try:
        code = compile(program, "<sample>", "exec")
        exec(code, {"__name__": "__sample__", "__builtins__": __builtins__})
    except SandboxViolation:
        pass
    except AssertionError as exc:
        if not violations:
            return "failed", _assert_message(exc, program)
    except MemoryError:
        if not violations:
            return "crashed", "MemoryError: memory limit reached"
    except RecursionError as exc:
        if not violations:
            return "failed", f"RecursionError: {exc}"[:MESSAGE_CAP]
    except Exception as exc:
        if not violations:
            return "failed", f"{type(exc).__name__}: {exc}"[:MESSAGE_CAP]
    except BaseException as exc:  # SystemExit, KeyboardInterrupt: the sample ended itself
        if not violations:
            return "crashed", f"{type(exc).__name__}: {exc}"[:MESSAGE_CAP]
    if violations:
        return "blocked", violations[0]
    return "passed", ""


def _child(index: int, program: str, job: dict[str, Any], verdict_fd: int, libc: Any) -> None:
    """Forked child: become a contained sample process, run, report, exit."""
    os.setpgid(0, 0)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    del libc
    for name in [m for m in sys.modules if m in ("ctypes", "_ctypes") or m.startswith("ctypes.")]:
        del sys.modules[name]  # so that importing ctypes again is an audited event
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.closerange(3, verdict_fd)
    os.closerange(verdict_fd + 1, resource.getrlimit(resource.RLIMIT_NOFILE)[1])
    workdir = os.path.join(job["tmp"], f"s{index}")
    os.mkdir(workdir, 0o700)
    os.chdir(workdir)
    os.environ["HOME"] = workdir
    os.environ["TMPDIR"] = workdir
    cpu = job["limits"]["cpu_s"]
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    capture = CappedWriter(job["limits"]["output_cap"])
    sys.stdout = sys.stderr = capture
    sys.stdin = open(os.devnull)  # noqa: SIM115 - lives as long as the process
    violations: list[str] = []
    if job["audit"]:
        _arm(workdir, tuple(job["read_roots"]), violations)
    outcome, message = _verdict(program, violations)
    # Outcome, message and output separated by NUL: nothing to parse that hostile bytes
    # could confuse (the output is last and may contain anything).
    parts = (outcome, message.replace("\0", "\\0"), capture.value())
    payload = "\0".join(parts).encode("utf-8", "surrogatepass")
    view = memoryview(payload)
    while view:
        view = view[os.write(verdict_fd, view) :]
    os._exit(0)


def _describe_status(status: int) -> tuple[str, str]:
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        if sig == signal.SIGXCPU:
            return "timed_out", "CPU time limit reached"
        if sig == signal.SIGXFSZ:
            return "crashed", "file size limit reached"
        try:
            name = signal.Signals(sig).name
        except ValueError:
            name = f"signal {sig}"
        return "crashed", f"killed by {name}"
    return "crashed", f"exited with status {os.waitstatus_to_exitcode(status)} without a verdict"


def _wait(pid: int, read_end: int, deadline: float) -> tuple[bytes, bool]:
    """Collect the child's verdict until it exits or the deadline passes.

    Waits for the child's exit (a pidfd), not for EOF on the pipe: a descendant that
    inherited the pipe could hold it open forever. Returns (verdict bytes, timed out).
    """
    pidfd = os.pidfd_open(pid)
    chunks: list[bytes] = []
    size = 0
    exited = False
    try:
        while not exited:
            left = deadline - time.monotonic()
            if left <= 0:
                return b"", True
            ready, _, _ = select.select([read_end, pidfd], [], [], left)
            exited = pidfd in ready
            if read_end in ready or exited:
                os.set_blocking(read_end, False)
                while True:  # drain what is there now, keeping at most VERDICT_CAP
                    try:
                        chunk = os.read(read_end, 65536)
                    except BlockingIOError:
                        break
                    if not chunk:
                        break
                    size += len(chunk)
                    if size <= VERDICT_CAP:
                        chunks.append(chunk)
    finally:
        os.close(pidfd)
    return (b"".join(chunks) if size <= VERDICT_CAP else b"?"), False


def _reap_strays() -> None:
    """Kill and reap every remaining child of the runner.

    The runner is a child subreaper, so whatever a sample left running (even in a new
    session) is re-parented here once its own parent is gone.
    """
    children_file = f"/proc/{os.getpid()}/task/{os.getpid()}/children"
    for _ in range(1000):
        try:
            with open(children_file) as handle:
                strays = [int(pid) for pid in handle.read().split()]
        except OSError:
            strays = []
        if not strays:
            return
        for stray in strays:
            try:  # noqa: SIM105
                os.kill(stray, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for stray in strays:
            try:  # noqa: SIM105
                os.waitpid(stray, 0)
            except ChildProcessError:
                pass


def _run_one(index: int, program: str, job: dict[str, Any], libc: Any) -> dict[str, Any]:
    read_end, write_end = os.pipe()
    started = time.monotonic()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(read_end)
            _child(index, program, job, write_end, libc)
        finally:
            os._exit(70)
    os.close(write_end)
    raw, timed_out = _wait(pid, read_end, started + job["limits"]["timeout_s"])
    os.close(read_end)
    try:  # noqa: SIM105 - the sample's group: itself and what it forked
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    _, status = os.waitpid(pid, 0)
    _reap_strays()
    elapsed = time.monotonic() - started
    result = {"index": index, "duration_s": round(elapsed, 4), "output": ""}
    if timed_out:
        result.update(
            outcome="timed_out", message=f"wall clock limit {job['limits']['timeout_s']} s"
        )
        return result
    verdict = raw.decode("utf-8", "replace").split("\0", 2)
    if len(verdict) == 3 and verdict[0] in ("passed", "failed", "crashed", "blocked"):
        result.update(
            outcome=verdict[0],
            message=verdict[1][:MESSAGE_CAP],
            output=verdict[2][: job["limits"]["output_cap"] + 100],
        )
    elif raw:
        result.update(outcome="crashed", message="malformed verdict")
    else:
        outcome, message = _describe_status(status)
        result.update(outcome=outcome, message=message)
    return result


def _send(message: dict[str, Any]) -> None:
    """One message to the host: the repr of a dict of literals, on one line (repr escapes
    newlines), which the host reads with ``ast.literal_eval``: safe on any input."""
    sys.stdout.write(repr(message) + "\n")
    sys.stdout.flush()


def _run_job(job: dict[str, Any], libc: Any, ctypes: Any, zygote: int) -> None:
    """A runner: a fresh process for one problem, forked from the zygote."""
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)  # the job channel belongs to the zygote
    os.close(devnull)
    os.chdir(job["tmp"])
    os.environ["HOME"] = os.environ["TMPDIR"] = job["tmp"]
    isolation = _prepare(job, libc, ctypes, zygote)
    isolation["preloaded"] = sorted(PRELOADABLE)
    _send({"isolation": isolation})
    for index, program in enumerate(job["programs"], start=job["first_index"]):
        _send(_run_one(index, program, job, libc))
    private = job["uid"] is not None
    swept = private and _sweep_own_uid()
    _send({"done": True, "swept": swept, "files_swept": _sweep_own_files() if private else 0})


def serve(host: int) -> None:
    """The zygote: start once, then fork a fresh runner per job, one job at a time.

    Python's start-up and the imports every runner needs are paid once per zygote, not
    once per problem. Jobs arrive on stdin, length-prefixed and marshalled by the host
    (trusted). For each the zygote announces the runner's pid, lets it run (the runner
    writes its own messages to the shared stdout) and reports its exit status.
    """
    libc, ctypes = _libc()
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != host:
        os._exit(3)  # the host died before the death signal was in place
    for name in sorted(PRELOADABLE):
        __import__(name)
    jobs = sys.stdin.buffer
    me = os.getpid()
    while True:
        size = jobs.read(4)
        if len(size) < 4:
            return  # the host closed the channel: done
        job = marshal.loads(jobs.read(int.from_bytes(size, "big")))
        go_read, go_write = os.pipe()
        pid = os.fork()
        if pid == 0:
            try:
                os.close(go_write)
                os.read(go_read, 1)  # wait until the host knows our pid
                os.close(go_read)
                os.setsid()
                _run_job(job, libc, ctypes, me)
            finally:
                sys.stdout.flush()
                os._exit(0)
        os.close(go_read)
        _send({"runner": pid})
        os.write(go_write, b"x")
        os.close(go_write)
        _, status = os.waitpid(pid, 0)
        _send({"exited": status})


def _sweep_own_uid() -> bool:
    """Kill every other process of this private uid, then reap them (they are all our
    descendants, re-parented here since the runner is a subreaper). Only when the uid
    is private to this runner: kill(-1) reaches every process of the caller's uid."""
    try:  # noqa: SIM105
        os.kill(-1, signal.SIGKILL)
    except ProcessLookupError:
        pass
    while True:
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            return True


if __name__ == "__main__":
    serve(int(sys.argv[1]))
