"""The built-in checkers' rules on hand-made samples, and the runner's abstentions."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any, cast

import pytest

from crlhf.client import CrlhfClient
from crlhf.machines.checkers import Verdict
from crlhf.machines.runner import MachineRunner
from crlhf.machines.source import program_prefix
from crlhf.machines.spectrum import Trace
from crlhf.machines.static_checker import StaticChecker, arity_lines, unreachable_lines
from crlhf.machines.tests_checker import TestsChecker, verdict_from_traces
from crlhf.sandbox import Executor
from crlhf.schemas import Label, MachineProblemView, MachineTask, split_code

W, C = Label.WRONG, Label.CORRECT


def task(code: str, tests: str = "", description: str = "d") -> MachineTask:
    return MachineTask(
        sample_id="s",
        problem=MachineProblemView(
            id="p", title="t", description=description, entry_point="f", tests=tests
        ),
        code=code,
        lines=split_code(code),
        served_at=datetime.now(UTC),
    )


def test_all_passing_votes_correct_on_executed_lines_only() -> None:
    traces = [Trace(True, frozenset({1, 2})), Trace(True, frozenset({1, 3}))]
    assert verdict_from_traces([1, 2, 3, 4], traces) == {1: C, 2: C, 3: C}


def test_failing_tests_blame_the_top_ochiai_line_and_the_crash_line() -> None:
    traces = [
        Trace(True, frozenset({1, 2, 4})),
        Trace(False, frozenset({1, 2, 3})),
        Trace(False, frozenset({1, 2, 3})),
        Trace(False, frozenset({1, 3, 5}), error_line=5),
    ]
    # Line 3: all 3 failing tests, no passing one: 3 / sqrt(3 * 3) = 1, the top alone
    # (line 1: 3 / sqrt(3 * 4); line 2: 2 / sqrt(3 * 3)). Line 5 raised.
    assert verdict_from_traces([1, 2, 3, 4, 5], traces) == {3: W, 5: W}


def test_a_tie_larger_than_max_blamed_abstains_and_lines_every_test_runs_are_spared() -> None:
    traces = [Trace(True, frozenset({1})), Trace(False, frozenset({1, 2, 3}))]
    assert verdict_from_traces([1, 2, 3], traces) == {2: W, 3: W}
    assert verdict_from_traces([1, 2, 3], traces, max_blamed=1) == {}
    # Every test fails: the def line (module level, run on import) is spared.
    traces = [Trace(False, frozenset({1, 2}), error_line=2), Trace(False, frozenset({1, 2}))]
    assert verdict_from_traces([1, 2], traces) == {1: W, 2: W}
    assert verdict_from_traces([1, 2], traces, spared=frozenset({1})) == {2: W}


def test_a_completion_is_run_after_the_prompt_it_continues() -> None:
    body = "    return xs[0]\n"
    prefix, error = program_prefix(task(body, description="# first\ndef f(xs):\n"))
    assert (prefix, error) == ("# first\ndef f(xs):\n", None)
    assert program_prefix(task("def f(xs):\n    return 1\n")) == ("", None)
    # Whole code keeps the prompt's one-line imports, except what it binds itself.
    prompt = "import math\nfrom typing import List, Dict\nfrom os import *\ndef f(xs):\n"
    assert program_prefix(task("def f(xs):\n    return 1\n", description=prompt)) == (
        "import math\nfrom typing import List, Dict\n",
        None,
    )
    own = "import math\ndef f(xs):\n    return math.pi\n"
    assert program_prefix(task(own, description=prompt))[0] == "from typing import List, Dict\n"
    # A real syntax error in the body is located in the body's numbering.
    assert program_prefix(task("    x = 1\n    return (\n", description="def f(xs):"))[1] == 2


def test_static_rules_flag_real_bugs_only() -> None:
    code = (
        "import os\n"  # 1 unused import: style, no vote
        "def f(xs):\n"  # 2
        "    unused = 3\n"  # 3 F841: a dead store, where a bug elsewhere shows: no vote
        "    return undefined_name + g(1, 2)\n"  # 4 F821 and arity (g takes 1)
        "    print(xs)\n"  # 5 unreachable
        "def g(a):\n"  # 6
        "    return a\n"  # 7
    )
    verdict = StaticChecker().check(task(code))
    assert verdict.labels == {4: W, 5: W}
    import ast

    tree = ast.parse(code)
    assert unreachable_lines(tree) == {5}
    assert arity_lines(tree) == {4}


def test_static_abstains_on_clean_code_and_on_syntax_errors() -> None:
    assert StaticChecker().check(task("def f(x):\n    return x + 1\n")).labels == {}
    verdict = StaticChecker().check(task("def f(x):\n    return (\n"))
    assert verdict.labels == {} and verdict.note and "syntax error" in verdict.note


def test_tests_checker_abstains_without_tests_and_blames_syntax_errors() -> None:
    checker = TestsChecker(cast(Executor, None))  # neither case runs anything
    assert checker.check(task("def f(x):\n    return x\n", tests="")).labels == {}
    assert checker.check(task("def f(x):\n    return (\n", tests="assert f(1)")).labels == {2: W}


@pytest.mark.e2e
def test_tests_checker_in_the_sandbox() -> None:
    checker = TestsChecker(Executor(workers=1))
    tests = "assert f([1, 2]) == 3\nassert f([]) == 0\nassert f([5]) == 5\n"
    good = "def f(xs):\n    total = 0\n    for x in xs:\n        total += x\n    return total\n"
    assert checker.check(task(good, tests)).labels == dict.fromkeys([1, 2, 3, 4, 5], C)
    crash = "def f(xs):\n    if not xs:\n        return 1 / 0\n    return sum(xs)\n"
    assert checker.check(task(crash, tests)).labels == {3: W}
    # A completion of the prompt in the description: numbered as the sample.
    body = "    if not xs:\n        return 1\n    return sum(xs)\n"
    verdict = checker.check(task(body, tests, description="# sum\ndef f(xs):\n"))
    assert verdict.labels == {2: W}
    undefined = "def f(xs):\n    return sum(xs) + offset\n"  # the def line is spared
    assert checker.check(task(undefined, tests)).labels == {2: W}
    # A whole function (a chat reply) runs after the prompt's imports, as the suite runs it.
    uses_import = "def f(xs):\n    total = math.fsum(xs)\n    return int(total)\n"
    header = "import math\n\n\ndef f(xs):\n"
    assert checker.check(task(uses_import, tests, description=header)).labels == {
        1: C,
        2: C,
        3: C,
    }


class _Broken:
    name = "broken"
    version = "0"

    def __init__(self, mode: str) -> None:
        self.mode = mode

    def check(self, task: MachineTask) -> Verdict:
        if self.mode == "crash":
            raise RuntimeError("boom\nsecond line")
        time.sleep(0.5)
        return Verdict({1: W})


@pytest.mark.parametrize("mode", ["crash", "slow"])
def test_a_failing_checker_abstains_and_logs_one_line(
    mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    runner = MachineRunner(cast(CrlhfClient, None), _Broken(mode), timeout_s=0.05)
    verdict = asyncio.run(runner.judge(task("x = 1\n")))
    assert verdict.labels == {}
    records = [r for r in caplog.records if r.name == "crlhf.machines.runner"]
    assert len(records) == 1 and "\n" not in records[0].getMessage()
    expected: dict[str, Any] = {"crash": "crashed: RuntimeError: boom", "slow": "timed out"}
    assert expected[mode] in records[0].getMessage()


async def test_the_runner_abstains_on_code_that_is_not_python_without_running_it() -> None:
    from crlhf.machines.runner import MachineRunner

    class Exploding:
        name, version = "tests", "1"

        def check(self, task: MachineTask) -> None:
            raise AssertionError("a JavaScript sample must never reach a Python checker")

    js = task("function f(x) {\n  return x;\n}\n", tests="assert f(1) == 1")
    js = js.model_copy(update={"problem": js.problem.model_copy(update={"language": "javascript"})})
    runner = MachineRunner(client=None, checker=Exploding())  # type: ignore[arg-type]
    verdict = await runner.judge(js)
    assert verdict.labels == {} and verdict.note == "javascript: only Python is checked"
