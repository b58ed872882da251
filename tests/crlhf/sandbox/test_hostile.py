"""Hostile samples: each contained, classified, and leaving nothing behind.

Every test runs twice where it makes sense: with the audit hook (the verdict is
``blocked``) and without it, to show the OS layer underneath (uid drop, rlimits, network
namespace, process-group kill) holds on its own.
"""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

import pytest

from crlhf.sandbox import Executor, Limits, Outcome
from crlhf.sandbox.processes import sandbox_pids

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="the sandbox needs Linux /proc")

FAST = Limits(timeout_s=1.5)
IS_ROOT = os.geteuid() == 0


def no_orphans(executor: Executor) -> None:
    """No zygote, runner or sample process of this test process survives a run (even one
    that escaped its session: forks keep the zygote's command line)."""
    assert executor.isolation is not None  # something did run
    assert sandbox_pids(os.getpid()) == []


@pytest.fixture(params=[True, False], ids=["audit", "os-only"])
def executor(request: pytest.FixtureRequest) -> Executor:
    return Executor(FAST, audit=request.param)


@pytest.fixture
def guarded() -> Executor:
    return Executor(FAST)


def test_infinite_loop_times_out_and_the_next_sample_still_runs(executor: Executor) -> None:
    first, second = executor.run(["while True:\n    pass\n", "assert 2 + 2 == 4\n"])
    assert first.outcome is Outcome.TIMED_OUT
    assert first.duration_s >= FAST.timeout_s
    assert second.outcome is Outcome.PASSED
    no_orphans(executor)


FORK_BOMB = """
import os
while True:
    try:
        os.fork()
    except OSError:
        pass
"""


def test_fork_bomb_is_blocked_by_the_hook(guarded: Executor) -> None:
    (result,) = guarded.run([FORK_BOMB])
    assert result.outcome is Outcome.BLOCKED
    assert "os.fork" in result.message
    no_orphans(guarded)


def test_fork_bomb_is_bounded_and_killed_without_the_hook() -> None:
    """RLIMIT_NPROC (binding because root drops to a private uid) caps the bomb; the
    wall-clock limit ends it; the group kill and uid/session sweep leave nothing."""
    executor = Executor(FAST, audit=False)
    result, after = executor.run([FORK_BOMB, "assert True\n"])
    assert result.outcome is Outcome.TIMED_OUT
    assert after.outcome is Outcome.PASSED
    no_orphans(executor)


def test_a_process_that_escapes_its_session_is_still_killed() -> None:
    """The runner is a child subreaper (and, as root, the host sweeps the private uid)."""
    program = (
        "import os, time\n"
        "if os.fork() == 0:\n"
        "    os.setsid()\n"
        "    if os.fork() == 0:\n"
        "        time.sleep(600)\n"
        "    os._exit(0)\n"
    )
    executor = Executor(FAST, audit=False)
    (result,) = executor.run([program])
    assert result.outcome is Outcome.PASSED
    no_orphans(executor)


MEMORY_BOMBS = [
    "x = bytearray(64 * 1024 ** 3)\n",
    "chunks = []\nwhile True:\n    chunks.append(bytes(100 * 1024 ** 2))\n",
]


@pytest.mark.parametrize("program", MEMORY_BOMBS, ids=["one-shot", "growing"])
def test_memory_bomb_crashes_against_the_address_space_limit(
    executor: Executor, program: str
) -> None:
    (result,) = executor.run([program])
    assert result.outcome is Outcome.CRASHED
    assert "memory" in result.message.lower()
    no_orphans(executor)


def test_deleting_a_file_outside_the_temp_dir_fails(executor: Executor, tmp_path: Path) -> None:
    canary = tmp_path / "canary.txt"
    canary.write_text("still here")
    victim_dir = tmp_path / "tree"
    victim_dir.mkdir()
    (victim_dir / "inner.txt").write_text("also here")
    programs = [
        f"import os\nos.remove({str(canary)!r})\n",
        f"import shutil\nshutil.rmtree({str(victim_dir)!r})\n",
        f"open({str(canary)!r}, 'w').write('overwritten')\n",
    ]
    results = executor.run(programs)
    expected = Outcome.BLOCKED if executor.audit else Outcome.FAILED
    if not executor.audit and not executor.drop_privileges:
        pytest.skip("without root there is no uid to drop to: file permissions protect nothing")
    assert [r.outcome for r in results] == [expected] * 3
    assert canary.read_text() == "still here"
    assert (victim_dir / "inner.txt").read_text() == "also here"
    no_orphans(executor)


def test_reading_the_users_home_fails(
    executor: Executor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    secret = home / ".secret"
    secret.write_text("TOP-SECRET-CANARY")
    secret.chmod(0o600)
    monkeypatch.setenv("HOME", str(home))
    programs = [
        f"print(open({str(secret)!r}).read())\n",
        "import os\nprint(os.listdir(os.path.expanduser('~')))\n"
        f"print(os.listdir({str(home)!r}))\n",
        "import os\nassert os.environ['HOME'] != " + repr(str(home)) + "\n",
    ]
    if not executor.audit and not executor.drop_privileges:
        pytest.skip("without root there is no uid to drop to: file permissions protect nothing")
    read_file, list_dir, environment = executor.run(programs)
    expected = Outcome.BLOCKED if executor.audit else Outcome.FAILED
    assert read_file.outcome is expected
    assert list_dir.outcome is expected
    assert environment.outcome is Outcome.PASSED  # HOME points at the sandbox, not the user
    for result in (read_file, list_dir):
        assert "TOP-SECRET-CANARY" not in result.output + result.message
        assert ".secret" not in result.output
    no_orphans(executor)


def test_opening_a_socket_reaches_nothing(executor: Executor) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(5)
        port = listener.getsockname()[1]
        program = (
            "import socket\n"
            f"s = socket.create_connection(('127.0.0.1', {port}), timeout=1)\n"
            "s.sendall(b'exfiltrated')\n"
        )
        (result,) = executor.run([program])
        assert executor.isolation is not None
        if not executor.audit and not executor.isolation.network_isolated:
            pytest.skip(f"no network namespace here: {executor.isolation.network}")
        listener.settimeout(0.2)
        with pytest.raises(TimeoutError):
            listener.accept()
    assert result.outcome is (Outcome.BLOCKED if executor.audit else Outcome.FAILED)
    no_orphans(executor)


def test_killing_the_parent_spares_the_host_and_the_other_samples(executor: Executor) -> None:
    programs = ["import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\n", "assert 1\n"]
    killer, after = executor.run(programs)
    # With the hook the kill is refused; without it the runner dies, the sample is
    # reported as crashed and a new runner carries on.
    assert killer.outcome is (Outcome.BLOCKED if executor.audit else Outcome.CRASHED)
    assert after.outcome is Outcome.PASSED
    os.kill(os.getpid(), 0)  # the test process is alive (trivially, but said)
    no_orphans(executor)


def test_printing_megabytes_is_capped_and_the_run_completes(executor: Executor) -> None:
    program = (
        "import sys\n"
        "print('x' * 10_000_000)\n"
        "for _ in range(2000):\n"
        "    sys.stderr.write('y' * 1000)\n"
        "import os\n"
        "os.write(1, b'z' * 1_000_000)\n"
        "assert True\n"
    )
    (result,) = executor.run([program])
    assert result.outcome is Outcome.PASSED
    assert FAST.output_cap <= len(result.output) <= FAST.output_cap + 100
    assert result.output.startswith("x" * 1000)
    assert "more characters dropped" in result.output
    no_orphans(executor)


def test_escaping_through_ctypes_or_subprocess_is_blocked(guarded: Executor) -> None:
    programs = [
        "import ctypes\nctypes.CDLL(None).fork()\n",
        "import subprocess\nsubprocess.run(['true'])\n",
        "import os\nos.system('true')\n",
        "import os\nos.execv('/bin/true', ['true'])\n",
    ]
    results = guarded.run(programs)
    assert [r.outcome for r in results] == [Outcome.BLOCKED] * 4
    no_orphans(guarded)


def test_shared_temp_dirs_keep_nothing_a_sample_wrote(executor: Executor) -> None:
    """/tmp, /var/tmp and /dev/shm are world-writable: a sample gets its own tmpfs on each
    (a private mount namespace), or, where the OS refuses one, what its private uid left
    there is removed after the run. Either way the host finds nothing."""
    tag = f"crlhf-canary-{os.getpid()}-{int(executor.audit)}"
    targets = [f"{root}/{tag}" for root in ("/tmp", "/var/tmp", "/dev/shm")]
    targets = [t for t in targets if os.path.isdir(os.path.dirname(t))]
    programs = [f"open({t!r}, 'w').write('left behind')\n" for t in targets]
    programs.append(f"import os\nos.mkdir({f'/tmp/{tag}-dir'!r})\n")
    results = executor.run(programs)
    isolation = executor.isolation
    assert isolation is not None
    if executor.audit:
        assert {r.outcome for r in results} == {Outcome.BLOCKED}
    elif not isolation.tmp_isolated and not executor.drop_privileges:
        pytest.skip(f"no private tmpfs ({isolation.tmp}) and no private uid to sweep")
    else:
        assert {r.outcome for r in results} == {Outcome.PASSED}, results
    leftovers = [t for t in [*targets, f"/tmp/{tag}-dir"] if os.path.lexists(t)]
    assert leftovers == []
    if IS_ROOT:
        assert isolation.tmp == "tmpfs " + ",".join(os.path.dirname(t) for t in targets)
    no_orphans(executor)
