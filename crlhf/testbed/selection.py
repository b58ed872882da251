"""Training problems a policy can learn from, chosen by sampling it once.

A round ranks a problem's samples against each other; on a problem the policy never
solves, or always solves, every sample earns much the same reward and the round learns
little from it. So before a learning run the policy is *screened*: a few samples per
candidate problem at the run's temperature, each run against the tests. :func:`select`
then keeps the problems it solves sometimes (0 < pass rate < 1), in candidate order, and
adds some it never solves, so that the run also shows whether learning reaches them.
Problems solved every time are left out: nothing there to learn.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from crlhf.errors import InvalidInput
from crlhf.evaluation.bench import Completer
from crlhf.evaluation.problems import BenchProblem
from crlhf.sandbox import Executor
from crlhf.testbed.outcome_truth import passes


@dataclass(frozen=True)
class Screened:
    """One candidate problem and how often the policy's samples passed its tests."""

    problem: BenchProblem
    passed: int
    samples: int

    @property
    def mixed(self) -> bool:
        """Solved sometimes, not always."""
        return 0 < self.passed < self.samples


def screen(
    problems: Sequence[BenchProblem],
    completer: Completer,
    executor: Executor,
    samples: int,
    *,
    standalone: bool,
) -> list[Screened]:
    """``samples`` completions per problem, each run against the problem's tests.
    ``standalone``: completions are whole extracted code (chat style)."""
    if samples < 2:
        raise InvalidInput("screening needs at least 2 samples per problem", field="samples")
    return [
        Screened(
            problem,
            sum(passes(executor, problem, c.text, standalone=standalone) for c in completions),
            len(completions),
        )
        for problem, completions in completer(problems, samples)
    ]


def select(screened: Sequence[Screened], *, mixed: int, unsolved: int) -> list[BenchProblem]:
    """The first ``mixed`` problems solved sometimes, then the first ``unsolved`` never
    solved, in candidate order (fewer when the screen found fewer)."""
    if mixed < 0 or unsolved < 0:
        raise InvalidInput("mixed and unsolved must be at least 0", field="mixed")
    sometimes = [s.problem for s in screened if s.mixed][:mixed]
    never = [s.problem for s in screened if s.passed == 0][:unsolved]
    return sometimes + never
