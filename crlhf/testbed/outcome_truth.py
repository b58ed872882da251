"""Line truth from a problem's tests: a simulated crowd for real models on real suites.

The testbed knows the truth of every line it wrote; for code a real model wrote for a
HumanEval or MBPP problem there is no line-level truth, only the tests. This rule stands
in for it: every judged line of a program that passes the problem's tests is correct,
every judged line of one that fails is wrong. Simulated annotators
(:class:`~crlhf.testbed.annotators.SimulatedAnnotator`) vote it with their reliability, so
the aggregated reward of a sample estimates whether it passes.
"""

from __future__ import annotations

from collections.abc import Sequence

from crlhf.errors import InvalidInput
from crlhf.evaluation.problems import BenchProblem
from crlhf.sandbox import Executor
from crlhf.sandbox.results import Outcome
from crlhf.schemas import judged_line_numbers
from crlhf.testbed.annotators import Truth


def passes(executor: Executor, problem: BenchProblem, code: str, *, standalone: bool) -> bool:
    """Whether ``code`` passes the problem's tests in the sandbox."""
    [result] = executor.run([problem.program(code, standalone=standalone)])
    return result.outcome is Outcome.PASSED


def truth_from_tests(
    problems: Sequence[BenchProblem], executor: Executor, *, standalone: bool
) -> Truth:
    """A :data:`Truth` that runs each distinct (problem, code) once and labels every judged
    line by the outcome. ``standalone``: the code is whole extracted code (chat style)."""
    by_id = {p.task_id: p for p in problems}
    seen: dict[tuple[str, str], bool] = {}

    def truth(problem_id: str, code: str) -> list[bool]:
        problem = by_id.get(problem_id)
        if problem is None:
            raise InvalidInput(f"{problem_id!r} is not one of the problems", field="problem_id")
        key = (problem_id, code)
        if key not in seen:
            seen[key] = passes(executor, problem, code, standalone=standalone)
        return [seen[key]] * len(judged_line_numbers(code))

    return truth
