"""Screening training problems by the policy's pass rate, and the choice it feeds."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import pytest

from crlhf.errors import InvalidInput
from crlhf.evaluation.bench import Completion
from crlhf.evaluation.problems import BenchProblem
from crlhf.sandbox import Executor
from crlhf.testbed.selection import Screened, screen, select


def problem(name: str) -> BenchProblem:
    return BenchProblem(
        task_id=name,
        prompt='"""\nReturn 1.\n"""\n',
        tests="assert one() == 1",
        reference="def one():\n    return 1\n",
    )


class Scripted:
    """A completer that answers each problem with the codes it was given, in turn."""

    def __init__(self, codes: dict[str, list[str]]) -> None:
        self.codes = codes
        self.asked: list[int] = []

    def __call__(
        self, problems: Sequence[BenchProblem], n: int
    ) -> Iterator[tuple[BenchProblem, list[Completion]]]:
        self.asked.append(n)
        for p in problems:
            yield p, [Completion(code) for code in self.codes[p.task_id][:n]]


RIGHT, WRONG = "def one():\n    return 1\n", "def one():\n    return 2\n"


def test_screen_counts_passing_samples_per_problem() -> None:
    problems = [problem("always"), problem("sometimes"), problem("never")]
    completer = Scripted(
        {"always": [RIGHT] * 3, "sometimes": [WRONG, RIGHT, ""], "never": [WRONG, "", WRONG]}
    )
    screened = screen(problems, completer, Executor(workers=1), 3, standalone=True)
    assert completer.asked == [3]
    assert [(s.problem.task_id, s.passed, s.samples) for s in screened] == [
        ("always", 3, 3),
        ("sometimes", 1, 3),
        ("never", 0, 3),
    ]
    assert [s.mixed for s in screened] == [False, True, False]


def test_select_keeps_sometimes_solved_then_never_solved_in_order() -> None:
    rates = [(4, 4), (0, 4), (1, 4), (0, 4), (3, 4), (2, 4), (0, 4)]
    screened = [Screened(problem(f"p{i}"), p, n) for i, (p, n) in enumerate(rates)]
    chosen = select(screened, mixed=2, unsolved=1)
    assert [p.task_id for p in chosen] == ["p2", "p4", "p1"]
    # Fewer found than asked: all of them, and never one solved every time.
    chosen = select(screened, mixed=10, unsolved=10)
    assert [p.task_id for p in chosen] == ["p2", "p4", "p5", "p1", "p3", "p6"]


def test_bad_sizes_are_refused() -> None:
    with pytest.raises(InvalidInput, match="at least 2 samples"):
        screen([problem("p")], Scripted({"p": [RIGHT]}), Executor(workers=1), 1, standalone=True)
    with pytest.raises(InvalidInput, match="at least 0"):
        select([], mixed=-1, unsolved=0)


@pytest.mark.slow
def test_screen_draws_the_asked_samples_from_a_real_generator(tiny_model_dir) -> None:
    import torch

    from crlhf.generation.generate import GenerationSettings, Generator, load_model

    lm, tokenizer = load_model(str(tiny_model_dir), None, torch.device("cpu"))
    settings = GenerationSettings(temperature=0.8, max_new_tokens=8, batch_size=4, seed=0)
    generator = Generator(lm, tokenizer, settings, progress=False)
    problems = [problem("a"), problem("b")]
    screened = screen(problems, generator, Executor(workers=1), 3, standalone=False)
    # A random 2-layer model solves nothing: both are never-solved problems.
    assert [(s.problem.task_id, s.passed, s.samples) for s in screened] == [
        ("a", 0, 3),
        ("b", 0, 3),
    ]
    assert select(screened, mixed=5, unsolved=1) == [problems[0]]
