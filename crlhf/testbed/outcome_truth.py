"""Line truth from a problem's tests: a simulated crowd for real models on real suites.

The testbed knows the truth of every line it wrote; for code a real model wrote for a
HumanEval or MBPP problem there is no line-level truth, only the tests. Two rules stand
in for it; simulated annotators (:class:`~crlhf.testbed.annotators.SimulatedAnnotator`)
vote it with their reliability.

- :func:`truth_from_tests` (outcome): every judged line of a program that passes the
  problem's tests is correct, every judged line of one that fails is wrong. The reward
  then estimates whether the sample passes; on a model that rarely passes, nearly every
  reward is 0 and a round has little to rank.
- :func:`truth_from_localisation` (outcome, then fault localisation): a passing program
  as above; in a failing one, the lines the ``tests`` machine checker blames
  (:class:`crlhf.machines.tests_checker.TestsChecker`: the line a test crashed on, the
  top Ochiai lines of the spectrum over the tests) are wrong and its other judged lines
  correct. When the checker blames no line (the entry point is missing, every test runs
  the same straight-line code, nothing reported coverage), every judged line is wrong,
  as under the outcome rule. A failing program whose fault the tests pin to a line or
  two thus earns more than one that is wrong as a whole, which is the line-level signal
  cRLHF's rewards are for (``../shared/method.md``: s = c / k).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from crlhf.errors import InvalidInput
from crlhf.evaluation.problems import BenchProblem
from crlhf.machines.tests_checker import TestsChecker
from crlhf.sandbox import Executor
from crlhf.sandbox.results import Outcome
from crlhf.schemas import Label, MachineProblemView, MachineTask, judged_line_numbers, split_code
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
    by_id = _by_id(problems)
    seen: dict[tuple[str, str], bool] = {}

    def truth(problem_id: str, code: str) -> list[bool]:
        key = (problem_id, code)
        if key not in seen:
            seen[key] = passes(executor, _problem(by_id, problem_id), code, standalone=standalone)
        return [seen[key]] * len(judged_line_numbers(code))

    return truth


def truth_from_localisation(
    problems: Sequence[BenchProblem], executor: Executor, *, standalone: bool
) -> Truth:
    """A :data:`Truth` by the outcome, then the ``tests`` checker's blame on failing code
    (module docstring). Each distinct (problem, code) is run once."""
    by_id = _by_id(problems)
    checker = TestsChecker(executor)
    seen: dict[tuple[str, str], list[bool]] = {}

    def truth(problem_id: str, code: str) -> list[bool]:
        key = (problem_id, code)
        if key not in seen:
            problem = _problem(by_id, problem_id)
            judged = judged_line_numbers(code)
            if passes(executor, problem, code, standalone=standalone):
                seen[key] = [True] * len(judged)
            else:
                labels = checker.check(_task(problem, code, standalone=standalone)).labels
                blamed = {n for n, label in labels.items() if label is Label.WRONG}
                seen[key] = [n not in blamed for n in judged] if blamed else [False] * len(judged)
        return list(seen[key])

    return truth


def _by_id(problems: Sequence[BenchProblem]) -> dict[str, BenchProblem]:
    return {p.task_id: p for p in problems}


def _problem(by_id: dict[str, BenchProblem], problem_id: str) -> BenchProblem:
    problem = by_id.get(problem_id)
    if problem is None:
        raise InvalidInput(f"{problem_id!r} is not one of the problems", field="problem_id")
    return problem


def _task(problem: BenchProblem, code: str, *, standalone: bool) -> MachineTask:
    """The sample as the ``tests`` checker is served it; the prompt is what the code
    continues (for standalone code, the header :meth:`BenchProblem.program` puts first)."""
    return MachineTask(
        sample_id=problem.task_id,
        problem=MachineProblemView(
            id=problem.task_id,
            title=problem.task_id,
            description=problem.description or problem.prompt,
            entry_point=problem.entry_point,
            tests=problem.tests,
            prompt=problem.header() if standalone else problem.prompt,
        ),
        code=code,
        lines=split_code(code),
        served_at=datetime.now(UTC),
    )
