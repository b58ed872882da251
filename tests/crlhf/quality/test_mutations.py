"""Every operator plants a bug on exactly the lines it reports, and the tests catch it."""

from __future__ import annotations

import ast

import pytest

from crlhf.errors import InvalidInput
from crlhf.quality.mutations import OPERATORS, Mutant, mutants
from crlhf.sandbox import Executor
from crlhf.schemas import ProblemIn, judged_line_numbers
from tests.crlhf.quality.conftest import REFERENCE


def _changed_lines(original: str, mutant: Mutant) -> set[int]:
    """The lines a mutant changed, worked out independently of the operator's own record."""
    old, new = original.splitlines(), mutant.code.splitlines()
    if len(new) == len(old):
        return {i for i, (a, b) in enumerate(zip(old, new, strict=True), 1) if a != b}
    assert len(new) == len(old) - 1, "only drop_line may change the line count"
    gap = next((i for i, (a, b) in enumerate(zip(old, new, strict=False), 1) if a != b), len(old))
    assert old[: gap - 1] + old[gap:] == new, "exactly one line dropped"
    # The gold wrong line of a dropped line is the judged line just before the gap.
    return {max(n for n in judged_line_numbers("\n".join(new[: gap - 1])))}


@pytest.mark.parametrize("operator", list(OPERATORS))
def test_operator_marks_exactly_the_mutated_lines_and_fails_the_tests(
    operator: str, problem: ProblemIn, executor: Executor
) -> None:
    found = mutants(REFERENCE, (operator,))
    assert found, f"{operator} found nothing to mutate"
    for mutant in found:
        assert mutant.operator == operator
        assert _changed_lines(REFERENCE, mutant) == set(mutant.wrong_lines)
        assert ast.dump(ast.parse(mutant.code)) != ast.dump(ast.parse(REFERENCE))
    results = executor.run([f"{m.code}\n\n{problem.tests}" for m in found])
    failing = [m for m, r in zip(found, results, strict=True) if not r.passed]
    assert failing, f"no {operator} mutant fails the tests"


def test_reference_passes_its_tests(problem: ProblemIn, executor: Executor) -> None:
    [result] = executor.run([f"{REFERENCE}\n\n{problem.tests}"])
    assert result.passed, result.message


def test_other_lines_keep_their_formatting_and_comments() -> None:
    original = REFERENCE.splitlines()
    for mutant in mutants(REFERENCE):
        if mutant.operator == "drop_line":
            continue
        new = mutant.code.splitlines()
        kept = [i for i in range(len(original)) if i + 1 not in mutant.wrong_lines]
        assert [new[i] for i in kept] == [original[i] for i in kept]


def test_precedence_is_kept_with_parentheses_only_where_needed() -> None:
    code = "def f(a, b):\n    return a * (b - 1)\n"
    texts = {m.code.splitlines()[1].strip() for m in mutants(code, ("wrong_operator",))}
    assert "return a + (b - 1)" in texts
    assert "return a * (b + 1)" in texts
    for text in texts:
        assert ast.parse(text.replace("return ", "")) is not None


def test_code_without_anything_to_mutate_gives_nothing() -> None:
    # Comments and a bare name: the only possible edits would not change the syntax tree.
    assert mutants("# just a comment\nx = y  # note\n") == []


def test_bad_input_raises_typed_errors() -> None:
    with pytest.raises(InvalidInput, match="does not parse"):
        mutants("def broken(:\n")
    with pytest.raises(InvalidInput, match="unknown mutation operators"):
        mutants("x = 1\n", ("no_such_operator",))
