"""Line truth from the tests: the outcome rule, and the fault-localising rule that gives a
failing program's lines something to say (issue 22's learning loop)."""

from __future__ import annotations

import pytest

from crlhf.errors import InvalidInput
from crlhf.evaluation.problems import BenchProblem
from crlhf.sandbox import Executor
from crlhf.testbed.outcome_truth import truth_from_localisation, truth_from_tests

PROBLEM = BenchProblem(
    task_id="mbpp/add",
    prompt='"""\nAdd two numbers.\nassert add(1, 2) == 3\n"""\n',
    tests="assert add(1, 2) == 3\nassert add(2, 2) == 4\nassert add(7, 1) == 8",
    reference="def add(a, b):\n    return a + b\n",
    description="Add two numbers.",
)
RIGHT = "def add(a, b):\n    return a + b\n"
# Line 3 runs only in the failing test (add(7, 1)): the top Ochiai line, alone.
BUG_IN_ONE_BRANCH = "def add(a, b):\n    if a > 5:\n        return a - b\n    return a + b\n"
# The entry point is missing: every test fails in the test code, no line of the sample
# is to blame, so the rule falls back to the outcome.
NO_ENTRY_POINT = "def plus(a, b):\n    return a + b\n"


@pytest.fixture(scope="module")
def executor() -> Executor:
    return Executor(workers=1)


def test_the_outcome_rule_labels_every_line_by_pass_or_fail(executor: Executor) -> None:
    truth = truth_from_tests([PROBLEM], executor, standalone=True)
    assert truth("mbpp/add", RIGHT) == [True, True]
    assert truth("mbpp/add", BUG_IN_ONE_BRANCH) == [False] * 4


def test_localisation_blames_the_failing_line_and_clears_the_rest(executor: Executor) -> None:
    truth = truth_from_localisation([PROBLEM], executor, standalone=True)
    assert truth("mbpp/add", RIGHT) == [True, True]
    assert truth("mbpp/add", BUG_IN_ONE_BRANCH) == [True, True, False, True]
    assert truth("mbpp/add", NO_ENTRY_POINT) == [False, False]
    # A syntax error: the checker blames its line only.
    assert truth("mbpp/add", "def add(a, b):\n    return a +\n") == [True, False]


def test_an_unknown_problem_is_refused(executor: Executor) -> None:
    truth = truth_from_localisation([PROBLEM], executor, standalone=True)
    with pytest.raises(InvalidInput, match="not one of the problems"):
        truth("mbpp/other", RIGHT)
