"""Verdicts, messages and bookkeeping of the executor on ordinary programs."""

from __future__ import annotations

import os
import sys
import time

import pytest

from crlhf.errors import InvalidInput
from crlhf.sandbox import Executor, Limits, Outcome
from crlhf.sandbox.processes import sandbox_pids
from crlhf.sandbox.zygote import ZygotePool

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="the sandbox needs Linux /proc")


@pytest.fixture(scope="module")
def executor() -> Executor:
    return Executor(Limits(timeout_s=3.0))


def test_verdicts_and_messages(executor: Executor) -> None:
    programs = [
        "def add(a, b):\n    return a + b\nassert add(2, 2) == 4\n",
        "def add(a, b):\n    return a - b\nassert add(0, 0) == 0\nassert add(2, 2) == 4\n",
        "assert 1 == 2, 'one is not two'\n",
        "def f():\n    return undefined_name\nf()\n",
        "def f(:\n",
        "import sys\nsys.exit(0)\n",
    ]
    results = executor.run(programs)
    assert [r.index for r in results] == list(range(len(programs)))
    assert [r.outcome for r in results] == [
        Outcome.PASSED,
        Outcome.FAILED,
        Outcome.FAILED,
        Outcome.FAILED,
        Outcome.FAILED,
        Outcome.CRASHED,  # exiting early must not count as passing the tests after it
    ]
    assert results[1].message == "line 4: assert add(2, 2) == 4"
    assert results[2].message == "AssertionError: one is not two"
    assert results[3].message.startswith("NameError")
    assert results[4].message.startswith("SyntaxError")


def test_samples_of_a_problem_do_not_share_state(executor: Executor) -> None:
    programs = [
        "import builtins\nbuiltins.len = lambda x: 42\nopen('note.txt', 'w').write('a')\n",
        "import os\nassert len([1]) == 1\nassert not os.path.exists('note.txt')\n",
    ]
    assert [r.outcome for r in executor.run(programs)] == [Outcome.PASSED, Outcome.PASSED]


def test_output_is_returned(executor: Executor) -> None:
    (result,) = executor.run(["print('hello', 42)\n"])
    assert result.output == "hello 42\n"


def test_isolation_is_reported(executor: Executor) -> None:
    executor.run(["pass\n"])
    isolation = executor.isolation
    assert isolation is not None
    assert isolation.audit_hook
    assert isolation.rlimits["core"] == 0
    assert isolation.rlimits["memory_mb"] == executor.limits.memory_mb
    if os.geteuid() == 0:
        assert isolation.dropped_privileges
        assert isolation.uid >= executor.uid_base
        assert isolation.network == "netns"


def test_run_many_keeps_problem_order_and_reports_progress(executor: Executor) -> None:
    problems = [[f"assert {i} == {i}\n", f"assert {i} == -1\n"] for i in range(5)]
    seen: list[int] = []
    results = executor.run_many(problems, on_done=lambda i, _: seen.append(i))
    assert sorted(seen) == list(range(5))
    assert [[r.outcome for r in rs] for rs in results] == [[Outcome.PASSED, Outcome.FAILED]] * 5
    assert sandbox_pids(os.getpid()) == []


def test_invalid_limits_are_rejected() -> None:
    with pytest.raises(InvalidInput):
        Limits(timeout_s=0)
    with pytest.raises(InvalidInput):
        Limits(memory_mb=0)


def test_each_problem_gets_its_own_runner_and_each_sample_its_own_process() -> None:
    executor = Executor(Limits(timeout_s=3.0), workers=1)
    probe = "import os\nprint(os.getppid(), os.getpid(), os.getsid(0))\n"
    results = executor.run_many([[probe, probe], [probe, probe]])
    seen = [[tuple(map(int, r.output.split())) for r in rs] for rs in results]
    (runner_a, sample_a1, session_a), (runner_a2, sample_a2, _) = seen[0]
    (runner_b, _, session_b), _ = seen[1]
    assert runner_a == runner_a2 != runner_b  # one runner per problem
    assert sample_a1 != sample_a2  # a fresh process per sample
    assert session_a == runner_a and session_b == runner_b  # each runner leads a session


def test_the_orphan_check_sees_live_sandbox_processes(executor: Executor) -> None:
    """sandbox_pids, which every hostile test relies on, does find a live zygote."""
    pool = ZygotePool(executor.python)
    with pool.zygote() as zygote:
        # Under heavy load the first /proc scan has once missed a zygote that had just
        # started (seen twice in full runs on two busy cores); poll briefly, bounded.
        deadline = time.monotonic() + 5.0
        while zygote.proc.pid not in sandbox_pids(os.getpid()) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert zygote.proc.pid in sandbox_pids(os.getpid())
    pool.close()
    assert sandbox_pids(os.getpid()) == []
