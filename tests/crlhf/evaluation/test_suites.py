"""The suites load as published, and the executor agrees with their reference solutions."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from crlhf.errors import InvalidInput
from crlhf.evaluation import humaneval, load_suite, mbpp
from crlhf.sandbox import Executor, Limits, Outcome

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="the sandbox needs Linux /proc")

# Generous: the slowest MBPP reference takes seconds on a loaded 2-core machine.
LIMITS = Limits(timeout_s=30.0)


def test_humaneval_is_the_bundled_164_problems() -> None:
    problems = humaneval.load()
    assert len(problems) == humaneval.N_PROBLEMS
    assert problems[0].task_id == "HumanEval/0"
    assert problems[-1].task_id == "HumanEval/163"
    first = problems[0]
    assert first.entry_point == "has_close_elements"
    assert first.tests.rstrip().endswith("check(has_close_elements)")
    assert first.prompt.startswith("from typing import List")


def test_mbpp_is_the_500_problem_test_split_with_the_standard_prompt(mbpp_path: Path) -> None:
    problems = mbpp.load(mbpp_path)
    assert [p.task_id for p in problems] == [f"mbpp/{i}" for i in range(11, 511)]
    first = problems[0]
    assert first.prompt == (
        '"""\nWrite a python function to remove first and last occurrence of a given '
        'character from the string.\nassert remove_Occ("hello","l") == "heo"\n"""\n'
    )
    assert first.tests.count("assert") == 3


def test_mbpp_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="not found"):
        mbpp.load(tmp_path / "nope.jsonl")
    with pytest.raises(InvalidInput, match="unknown suite"):
        load_suite("apps")


def _check(problems, completions_for, executor: Executor) -> list[list[Outcome]]:
    programs = [[p.program(c) for c in completions_for(p)] for p in problems]
    return [[r.outcome for r in rs] for rs in executor.run_many(programs)]


def test_reference_solutions_pass_and_wrong_ones_fail_subset(mbpp_path: Path) -> None:
    executor = Executor(LIMITS)
    problems = humaneval.load()[:8] + mbpp.load(mbpp_path)[:8]
    wrong = {
        "humaneval": ["    return None\n", "    pass\n"],
        "mbpp": ["def nothing():\n    return None\n"],
    }

    def completions(problem):
        suite = "mbpp" if problem.task_id.startswith("mbpp/") else "humaneval"
        return [problem.reference, *wrong[suite]]

    for problem, outcomes in zip(problems, _check(problems, completions, executor), strict=True):
        assert outcomes[0] is Outcome.PASSED, problem.task_id
        assert all(o is Outcome.FAILED for o in outcomes[1:]), problem.task_id


@pytest.mark.slow
@pytest.mark.parametrize("suite", ["humaneval", "mbpp"])
def test_every_reference_solution_passes(suite: str, mbpp_path: Path) -> None:
    """pass@1 = 1.0 on the references: 164 HumanEval and 500 MBPP problems."""
    problems = load_suite(suite, mbpp_path)
    executor = Executor(LIMITS)
    outcomes = _check(problems, lambda p: [p.reference], executor)
    failures = [p.task_id for p, o in zip(problems, outcomes, strict=True) if o != [Outcome.PASSED]]
    assert failures == []


def test_mbpp_has_no_checkout_relative_default(monkeypatch, mbpp_path: Path) -> None:
    """MBPP is not bundled: its file is named by the caller or by $CRLHF_MBPP, never guessed."""
    monkeypatch.delenv(mbpp.ENV_PATH, raising=False)
    with pytest.raises(InvalidInput, match="--mbpp-path"):
        load_suite("mbpp")
    monkeypatch.setenv(mbpp.ENV_PATH, str(mbpp_path))
    assert len(load_suite("mbpp")) == 500
