"""Line spectra from the sandbox and Ochiai scores, pinned on hand-computed cases."""

from __future__ import annotations

import math

import pytest

from crlhf.machines.spectrum import Trace, ochiai, parse_trace, program, split_tests
from crlhf.sandbox import Executor

CODE = "def f(x):\n    y = x + 1\n    if x > 5:\n        return 1 / 0\n    return y\n"


def test_split_tests_keeps_setup_before_each_assert_and_humaneval_checks_whole() -> None:
    tests = "import math\nassert f(1) == 2\nK = 3\nassert f(K) == 4\n"
    assert split_tests(tests) == [
        "import math\nassert f(1) == 2",
        "import math\nK = 3\nassert f(K) == 4",
    ]
    humaneval = "def check(candidate):\n    assert candidate(1) == 2\n\ncheck(f)\n"
    assert split_tests(humaneval) == [humaneval]


def test_ochiai_matches_the_formula() -> None:
    traces = [
        Trace(True, frozenset({1, 2, 3, 5})),
        Trace(False, frozenset({1, 2, 3, 4})),
        Trace(False, frozenset({1, 4})),
    ]
    scores = ochiai(traces)
    # line 4: failed 2 of 2 failing tests, never passed: 2 / sqrt(2 * 2) = 1
    assert scores[4] == pytest.approx(1.0)
    # line 1: every test: 2 / sqrt(2 * 3)
    assert scores[1] == pytest.approx(2 / math.sqrt(6))
    # line 5: only the passing test
    assert scores[5] == 0.0
    assert ochiai([Trace(True, frozenset({1}))]) == {1: 0.0}


@pytest.mark.e2e
def test_the_sandbox_reports_executed_lines_and_the_raising_line() -> None:
    runs = split_tests("assert f(1) == 2\nassert f(9) == 10\n")
    results = Executor(workers=1).run([program(CODE, test) for test in runs])
    traces = [parse_trace(r.output, r.passed) for r in results]
    assert traces[0] == Trace(True, frozenset({1, 2, 3, 5}), None)
    assert traces[1] == Trace(False, frozenset({1, 2, 3, 4}), 4)
