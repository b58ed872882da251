"""The resumable pass@k runner and the per-round plot."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from crlhf.errors import Conflict
from crlhf.evaluation import humaneval
from crlhf.evaluation.bench import (
    BenchConfig,
    Completion,
    reference_completer,
    run_bench,
)
from crlhf.evaluation.plot import load_summaries, plot_rounds, series
from crlhf.evaluation.problems import BenchProblem
from crlhf.evaluation.runstore import RunStore
from crlhf.passk import pass_at_k
from crlhf.sandbox import Executor, Limits
from crlhf.schemas import GenerationMeta

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="the sandbox needs Linux /proc")

PROBLEMS = humaneval.load()[:4]


class Killed(Exception):
    pass


class HalfRight:
    """First ``good`` completions are the reference, the rest wrong; can die midway."""

    def __init__(self, good: int, die_after: int | None = None) -> None:
        self.good = good
        self.die_after = die_after
        self.generated: list[str] = []

    def __call__(
        self, problems: Sequence[BenchProblem], n: int
    ) -> Iterator[tuple[BenchProblem, list[Completion]]]:
        for problem in problems:
            if self.die_after is not None and len(self.generated) == self.die_after:
                raise Killed
            self.generated.append(problem.task_id)
            texts = [problem.reference] * self.good + ["    return None\n"] * (n - self.good)
            yield problem, [Completion(t, GenerationMeta(model="fake", seed=1)) for t in texts]


@pytest.fixture
def executor() -> Executor:
    return Executor(Limits(timeout_s=10.0))


def test_pass_at_k_from_executed_samples(tmp_path: Path, executor: Executor) -> None:
    config = BenchConfig(suite="humaneval", n=5, ks=(1, 2, 10))
    store = RunStore(tmp_path, "run-a")
    summary = run_bench(PROBLEMS, HalfRight(good=2), executor, store, config)
    assert summary["pass_at_k"] == {"1": pytest.approx(0.4), "2": pytest.approx(pass_at_k(5, 2, 2))}
    assert summary["outcomes"] == {"failed": 12, "passed": 8}
    assert json.loads(store.summary_path.read_text())["pass_at_k"] == summary["pass_at_k"]
    rows = [json.loads(line) for line in store.completions_path.read_text().splitlines()]
    assert len(rows) == 20 and rows[0]["meta"] == {"model": "fake", "seed": 1}


def test_a_killed_run_resumes_without_redoing_finished_problems(
    tmp_path: Path, executor: Executor
) -> None:
    config = BenchConfig(suite="humaneval", n=2, ks=(1,))
    store = RunStore(tmp_path, "run-b")
    first = HalfRight(good=1, die_after=2)
    with pytest.raises(Killed):
        run_bench(PROBLEMS, first, executor, store, config)
    with store.completions_path.open("a") as handle:
        handle.write('{"task_id": "HumanEval/2", "ind')  # torn by the kill
    second = HalfRight(good=1)
    summary = run_bench(PROBLEMS, second, executor, store, config)
    assert first.generated == ["HumanEval/0", "HumanEval/1"]
    assert second.generated == ["HumanEval/2", "HumanEval/3"]
    assert summary["pass_at_k"]["1"] == pytest.approx(0.5)
    # Running again finds everything done: nothing generated, same answer.
    third = HalfRight(good=0)
    assert run_bench(PROBLEMS, third, executor, store, config)["pass_at_k"] == summary["pass_at_k"]
    assert third.generated == []


def test_a_run_id_cannot_change_its_settings(tmp_path: Path, executor: Executor) -> None:
    run_bench(
        PROBLEMS[:1],
        reference_completer,
        executor,
        RunStore(tmp_path, "r"),
        BenchConfig(suite="humaneval", n=1, ks=(1,)),
    )
    with pytest.raises(Conflict, match="different settings"):
        run_bench(
            PROBLEMS[:1],
            reference_completer,
            executor,
            RunStore(tmp_path, "r"),
            BenchConfig(suite="humaneval", n=2, ks=(1,)),
        )


def test_plot_of_pass_at_k_per_round(tmp_path: Path, executor: Executor) -> None:
    for round_number, good in ((0, 1), (1, 2), (2, 3)):
        config = BenchConfig(suite="humaneval", n=4, ks=(1, 4), round=round_number)
        run_bench(
            PROBLEMS[:2], HalfRight(good), executor, RunStore(tmp_path, f"r{round_number}"), config
        )
    summaries = load_summaries(tmp_path)
    lines = series(summaries)
    rounds, values = zip(*lines[("humaneval", "1")], strict=True)
    assert rounds == (0, 1, 2)
    assert values == pytest.approx((0.25, 0.5, 0.75))
    png = plot_rounds(summaries, tmp_path / "plot.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
