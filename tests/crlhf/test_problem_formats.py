"""Problem files in the crlhf and HumanEval/MBPP forms (docs/clients.md, "Your own problems")."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crlhf.errors import InvalidFile
from crlhf.evaluation.bench import BenchConfig, reference_completer, run_bench
from crlhf.evaluation.problems import from_problem, model_prompt
from crlhf.evaluation.runstore import RunStore
from crlhf.problem_formats import read_problems
from crlhf.sandbox import Executor

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"


def test_the_documented_examples_read_with_their_mapping() -> None:
    own = {p.id: p for p in read_problems(EXAMPLES / "problems.jsonl")}
    assert own["team/clamp"].prompt is None and own["team/clamp"].language == "python"
    assert model_prompt(own["team/clamp"]).startswith('"""\nWrite `clamp(x, low, high)`')
    assert own["team/js-sum"].language == "javascript"
    assert model_prompt(own["team/js-sum"]) == own["team/js-sum"].prompt
    humaneval, mbpp = read_problems(EXAMPLES / "problems-humaneval.jsonl")
    assert humaneval.id == "team/double" and humaneval.entry_point == "double"
    assert (
        humaneval.description == humaneval.prompt == 'def double(x):\n    """Return twice x."""\n'
    )
    assert humaneval.tests is not None and humaneval.tests.endswith("\ncheck(double)")
    assert humaneval.reference_solution == humaneval.prompt + "    return 2 * x\n"
    assert mbpp.id == "mbpp/7001" and mbpp.description.startswith("Write a function")
    assert mbpp.tests == "assert last([1, 2, 3]) == 3\nassert last(['a']) == 'a'"
    assert mbpp.prompt is not None and "assert last([1, 2, 3]) == 3" in mbpp.prompt


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('{"id": "a", "title": "", "description": "d"}', ":2: title: "),
        ('{"id": "a", "title": "t", "description": "d", "language": "C Sharp"}', ":2: language: "),
        ('{"id": "a", "title": "t", "description": "d", "tset": "x"}', ":2: tset: "),
        ('{"task_id": "a", "test": "assert True"}', ":2: prompt: "),
        ('{"task_id": 3, "text": "t", "test_list": "assert 1"}', ":2: test_list: "),
        ('{"id": "one", "title": "t", "description": "d"}', ":2: id: 'one' is also on line 1"),
        ("[1, 2]", ":2: a row must be a JSON object"),
        ("{not json", ":2: not valid JSON"),
    ],
)
def test_a_bad_row_names_line_and_field(tmp_path: Path, line: str, expected: str) -> None:
    path = tmp_path / "problems.jsonl"
    path.write_text('{"id": "one", "title": "t", "description": "d"}\n' + line + "\n")
    with pytest.raises(InvalidFile) as caught:
        read_problems(path)
    assert f"{path}{expected}" in str(caught.value)


def test_problems_without_tests_or_python_are_not_run_and_not_passed(tmp_path: Path) -> None:
    """The reference completer passes every runnable problem; the others are listed as not
    run and left out of pass@k (an empty completion must not "pass" a problem without
    tests)."""
    problems = [from_problem(p) for p in read_problems(EXAMPLES / "problems.jsonl")]
    problems += [from_problem(p) for p in read_problems(EXAMPLES / "problems-humaneval.jsonl")]
    store = RunStore(tmp_path, "own")
    config = BenchConfig(suite="problems", n=1, ks=(1,))
    summary = run_bench(
        problems, reference_completer, Executor(workers=1), store, config, progress=False
    )
    assert summary["pass_at_k"] == {"1": 1.0}
    assert summary["n_problems"] == 4
    assert [(r["task_id"], r["reason"]) for r in summary["not_run"]] == [
        ("team/retry-config", "no tests"),
        ("team/js-sum", "javascript: only Python is executed"),
        ("team/sql-active", "sql: only Python is executed"),
    ]
    results = json.loads(store.summary_path.read_text())["per_problem"]
    assert {r["task_id"] for r in results} == {
        "team/slugify",
        "team/clamp",
        "team/double",
        "mbpp/7001",
    }
