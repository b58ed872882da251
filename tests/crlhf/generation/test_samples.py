"""Completions as samples for the annotation server."""

from __future__ import annotations

from crlhf.evaluation import humaneval
from crlhf.evaluation.bench import Completion
from crlhf.generation.samples import collect, to_sample
from crlhf.schemas import GenerationMeta

PROBLEM = humaneval.load()[0]


def test_a_completion_becomes_a_sample_with_a_stable_id_and_its_metadata() -> None:
    meta = GenerationMeta(model="m", round=2, seed=7, response_token_ids=[1, 2])
    sample = to_sample(PROBLEM, Completion("    return True\n", meta), 3, "r2-s7")
    assert sample is not None
    assert sample.id == "HumanEval/0:r2-s7:3"
    assert sample.problem_id == "HumanEval/0"
    assert sample.code == "    return True\n"
    assert sample.meta == meta


def test_blank_completions_are_skipped() -> None:
    completions = [Completion("   \n\n"), Completion("    return 1\n")]
    collected = collect([(PROBLEM, completions)], "r0-s0")
    problems, samples = collected.problems, collected.samples
    assert problems == [PROBLEM]
    assert [s.id for s in samples] == ["HumanEval/0:r0-s0:1"]
