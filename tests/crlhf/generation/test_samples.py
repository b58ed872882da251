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


def _chat(reply: str) -> Completion:
    from crlhf.generation.extract import extract_code

    found = extract_code(reply)
    meta = GenerationMeta(
        prompt_style="chat", reply=reply, extraction=found.method, code_spans=list(found.spans)
    )
    return Completion(found.code, meta)


def test_chat_replies_without_code_are_kept_and_blank_ones_counted() -> None:
    completions = [
        _chat("```python\ndef f():\n    return 1\n```"),
        _chat("I am not sure how to do this."),
        _chat("   \n"),
    ]
    collected = collect([(PROBLEM, completions)], "r0-s0")
    assert (collected.replies, collected.without_code, collected.blank) == (3, 2, 1)
    code, prose = collected.samples
    assert code.code == "def f():\n    return 1" and code.meta.reply is not None
    # The code-less reply is a sample too: its code is the reply, and the spans say so.
    assert prose.code == "I am not sure how to do this."
    assert prose.meta.code_spans == [(0, len(prose.code))]
    assert "3 replies for 1 problems: 1 with code, 2 without" in collected.describe()


def test_extracted_code_runs_after_the_prompt_as_a_header() -> None:
    program = PROBLEM.program("def has_close_elements(a, b):\n    return False", standalone=True)
    assert program.startswith(PROBLEM.prompt)  # imports and the stub come first
    assert program.index("return False") < program.index("def check(")
