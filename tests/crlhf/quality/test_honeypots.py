"""Honeypots: gold wrong exactly on the planted bug, and every one fails its problem's tests."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from crlhf.quality.honeypots import make_honeypots, mbpp_train_problems
from crlhf.sandbox import Executor
from crlhf.schemas import GenerationMeta, Label, ProblemIn

MBPP = Path("../shared/data/mbpp/mbpp.jsonl")


def test_honeypots_carry_exact_gold_and_fail_their_tests(
    problem: ProblemIn, executor: Executor
) -> None:
    meta = GenerationMeta(model="m", round=2, temperature=0.8)
    pots = make_honeypots([problem], executor, per_problem=7, meta=meta, seed=1)
    assert len(pots) == 7
    assert len(Counter(p.mutant.operator for p in pots)) >= 5, "operators are interleaved"
    results = executor.run([f"{p.sample.code}\n\n{problem.tests}" for p in pots])
    assert not any(r.passed for r in results)
    for pot in pots:
        sample = pot.sample
        assert sample.id is None, "the server names honeypots like any other sample"
        assert sample.meta == meta
        assert sample.gold is not None
        wrong = {n for n, label in sample.gold.items() if label is Label.WRONG}
        assert wrong == set(pot.mutant.wrong_lines)
        assert all(label is Label.CORRECT for n, label in sample.gold.items() if n not in wrong)


def test_problem_whose_reference_fails_is_skipped(problem: ProblemIn, executor: Executor) -> None:
    broken = problem.model_copy(update={"id": "broken", "tests": "assert False\n"})
    no_reference = problem.model_copy(update={"id": "bare", "reference_solution": None})
    pots = make_honeypots([broken, no_reference, problem], executor, per_problem=2)
    assert {p.sample.problem_id for p in pots} == {problem.id}


def test_same_seed_same_honeypots(problem: ProblemIn, executor: Executor) -> None:
    first = make_honeypots([problem], executor, per_problem=3, seed=5)
    second = make_honeypots([problem], executor, per_problem=3, seed=5)
    assert [p.sample.code for p in first] == [p.sample.code for p in second]


@pytest.mark.skipif(not MBPP.is_file(), reason=f"MBPP data not found at {MBPP}")
def test_mbpp_train_split_yields_honeypots(executor: Executor) -> None:
    problems = mbpp_train_problems(MBPP)
    assert len(problems) == 374
    assert all(p.id.startswith("mbpp-") and 601 <= int(p.id[5:]) <= 974 for p in problems)
    pots = make_honeypots(problems[:5], executor, per_problem=2)
    assert len(pots) >= 5
