"""Checks of the starter data set that ``crlhf serve`` imports into an empty database.

The data is what a newcomer annotates first and what the honeypot gold of the first
reliability estimates rests on, so it is checked by running it: every reference solution
passes its problem's tests, every honeypot passes exactly when its gold marks no line wrong,
and every other sample passes or fails as recorded below (a "buggy" sample that passes its
tests would teach annotators, and the reward, the wrong lesson).
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import textwrap
from collections import Counter
from collections.abc import Callable
from importlib.resources import files
from pathlib import Path
from typing import TypeVar

import pytest
from pydantic import BaseModel, ValidationError

from crlhf.schemas import Label, ProblemIn, SampleIn, split_code

T = TypeVar("T", bound=BaseModel)

SEED_DIR = files("crlhf_server") / "seed_data"
RUN_TIMEOUT_S = 60
REFERENCE = "<reference>"

# Whether each sample that is not a honeypot passes its problem's tests: True for the
# correct generations, False for the ones written with a bug. Honeypots need no entry:
# their gold says whether they are correct.
EXPECTED_PASS: dict[str, bool] = {
    # parse-duration
    "s-parse-duration-1": True,
    "s-parse-duration-3": False,
    "s-parse-duration-4": False,
    # merge-time-ranges
    "s-merge-time-ranges-2": True,
    "s-merge-time-ranges-4": False,
    "s-merge-time-ranges-3": False,
    # compare-versions
    "s-compare-versions-2": True,
    "s-compare-versions-1": False,
    "s-compare-versions-3": True,
    # chunk-list
    "s-chunk-list-4": False,
    "s-chunk-list-2": False,
    "s-chunk-list-3": True,
    # rolling-average
    "s-rolling-average-3": True,
    "s-rolling-average-2": False,
    "s-rolling-average-4": True,
    # rle-log-levels
    "s-rle-log-levels-3": True,
    "s-rle-log-levels-1": False,
    "s-rle-log-levels-4": True,
    # word-wrap
    "s-word-wrap-1": True,
    "s-word-wrap-2": False,
    "s-word-wrap-3": False,
    # slugify-title
    "s-slugify-title-1": True,
    "s-slugify-title-2": False,
    # parse-csv-line
    "s-parse-csv-line-1": False,
    "s-parse-csv-line-2": False,
    "s-parse-csv-line-4": False,
    # dedupe-keep-order
    "s-dedupe-keep-order-3": True,
    "s-dedupe-keep-order-4": False,
    "s-dedupe-keep-order-1": True,
    # clamp-and-scale
    "s-clamp-and-scale-3": True,
    "s-clamp-and-scale-1": False,
    # paginate-list
    "s-paginate-list-3": True,
    "s-paginate-list-4": False,
    "s-paginate-list-2": False,
    # backoff-delays
    "s-backoff-delays-3": True,
    "s-backoff-delays-1": False,
    "s-backoff-delays-2": True,
    # format-bytes
    "s-format-bytes-4": True,
    "s-format-bytes-3": False,
    "s-format-bytes-2": False,
    # parse-query-string
    "s-parse-query-string-4": False,
    "s-parse-query-string-1": False,
    "s-parse-query-string-2": False,
    # mask-secret
    "s-mask-secret-3": True,
    "s-mask-secret-1": False,
    # parse-bool-env
    "s-parse-bool-env-4": True,
    "s-parse-bool-env-1": False,
    "s-parse-bool-env-2": True,
    # nearest-rank-percentile
    "s-nearest-rank-percentile-3": True,
    "s-nearest-rank-percentile-4": False,
    "s-nearest-rank-percentile-1": False,
    # truncate-text
    "s-truncate-text-4": True,
    "s-truncate-text-3": False,
    # parse-env-file
    "s-parse-env-file-2": True,
    "s-parse-env-file-1": False,
    "s-parse-env-file-3": False,
    # relative-time
    "s-relative-time-2": True,
    "s-relative-time-1": False,
    "s-relative-time-4": True,
    # parse-host-port
    "s-parse-host-port-2": False,
    "s-parse-host-port-1": False,
    # flatten-config
    "s-flatten-config-1": True,
    "s-flatten-config-4": False,
    "s-flatten-config-2": True,
    # ordinal-suffix
    "s-ordinal-suffix-1": True,
    "s-ordinal-suffix-2": False,
    "s-ordinal-suffix-3": True,
}

# The repair of every honeypot line that gold marks wrong (line -> corrected statement,
# indentation added by the test). A honeypot repaired on exactly its -1 lines must pass, so
# gold does not blame a line that is fine, nor miss one that needed changing.
REPAIRS: dict[str, dict[int, str]] = {
    "s-parse-duration-2": {8: "m = PATTERN.fullmatch(text)"},
    "s-merge-time-ranges-1": {8: "if start <= prev_end:"},
    "s-compare-versions-4": {4: "for x, y in zip(pa + [0] * len(pb), pb + [0] * len(pa)):"},
    "s-rolling-average-1": {5: "for start in range(len(values) - window + 1):"},
    "s-rle-log-levels-2": {14: "count = 1"},
    "s-word-wrap-4": {8: "if line and length + extra <= width:"},
    "s-slugify-title-3": {8: 'slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower())'},
    "s-dedupe-keep-order-2": {7: "seen.add(marker)"},
    "s-clamp-and-scale-2": {3: "if src_min >= src_max:"},
    "s-paginate-list-1": {6: "total_pages = max(1, -(-len(items) // per_page))"},
    "s-backoff-delays-4": {7: "if cap is not None:"},
    "s-format-bytes-1": {4: "if n < 1024:"},
    "s-mask-secret-2": {6: 'return "*" * (len(secret) - visible) + secret[len(secret) - visible:]'},
    "s-parse-bool-env-3": {7: "if value is None or not value.strip():"},
    "s-nearest-rank-percentile-2": {9: "values = sorted(values)"},
    "s-truncate-text-1": {5: "if len(text) <= limit:"},
    "s-relative-time-3": {11: "if seconds < 3600:"},
    "s-flatten-config-3": {6: "for sub_key, sub_value in flatten(value, sep).items():"},
    "s-ordinal-suffix-4": {2: "if n % 100 in (11, 12, 13):"},
}

# Runs in a fresh interpreter: each program is its code followed by the problem's tests,
# executed in a namespace of its own, as a HumanEval-style checker would.
RUNNER = textwrap.dedent(
    """
    import json
    import sys

    job = json.load(sys.stdin)
    outcome = {}
    for name, code in job["programs"].items():
        try:
            exec(compile(code + "\\n\\n" + job["tests"], name, "exec"), {"__name__": "__main__"})
        except Exception as exc:
            outcome[name] = repr(exc)
        else:
            outcome[name] = None
    json.dump(outcome, sys.stdout)
    """
)


def _load(name: str, model: type[T]) -> list[T]:
    """Parse every line as ``model`` the way the server's seed loader does."""
    items: list[T] = []
    text = (SEED_DIR / name).read_text(encoding="utf-8")
    for number, line in enumerate(text.splitlines(), 1):
        try:
            items.append(model.model_validate_json(line))
        except ValidationError as exc:
            raise AssertionError(f"{name}:{number} is not a valid {model.__name__}: {exc}") from exc
    return items


# Parsed at import because the tests are parametrized over the problems: a bad line fails
# collection with its file and line number.
PROBLEMS = _load("problems.jsonl", ProblemIn)
SAMPLES = _load("samples.jsonl", SampleIn)
HONEYPOTS = [sample for sample in SAMPLES if sample.gold is not None]


def _has_wrong_line(sample: SampleIn) -> bool:
    assert sample.gold is not None
    return any(label == Label.WRONG for label in sample.gold.values())


def _should_pass(sample: SampleIn) -> bool:
    """A honeypot passes exactly when gold marks no line wrong; others as recorded."""
    if sample.gold is not None:
        return not _has_wrong_line(sample)
    assert sample.id is not None
    return EXPECTED_PASS[sample.id]


def _repaired(sample: SampleIn) -> str:
    """The sample with its REPAIRS applied, each line keeping its indentation."""
    assert sample.id is not None
    lines = sample.code.split("\n")
    for number, statement in REPAIRS[sample.id].items():
        old = lines[number - 1]
        lines[number - 1] = old[: len(old) - len(old.lstrip())] + statement
    return "\n".join(lines)


def test_every_problem_is_complete() -> None:
    for problem in PROBLEMS:
        assert problem.entry_point and problem.tests and problem.reference_solution, problem.id
        assert problem.entry_point in problem.description, problem.id


def test_ids_are_unique() -> None:
    problem_ids = Counter(problem.id for problem in PROBLEMS)
    sample_ids = Counter(sample.id for sample in SAMPLES)
    assert [pid for pid, n in problem_ids.items() if n > 1] == []
    assert [sid for sid, n in sample_ids.items() if n > 1] == []


def test_every_sample_belongs_to_a_problem() -> None:
    problem_ids = {problem.id for problem in PROBLEMS}
    assert [s.id for s in SAMPLES if s.problem_id not in problem_ids] == []


def test_sizes() -> None:
    assert len(PROBLEMS) >= 20
    assert len(HONEYPOTS) >= 20
    per_problem = Counter(sample.problem_id for sample in SAMPLES)
    assert all(3 <= per_problem[problem.id] <= 4 for problem in PROBLEMS), per_problem
    # Spread over the problems, not bunched in a few of them.
    honeypots_per_problem = Counter(sample.problem_id for sample in HONEYPOTS)
    assert len(honeypots_per_problem) >= 0.75 * len(PROBLEMS)
    assert max(honeypots_per_problem.values()) <= 2
    assert any(not _has_wrong_line(s) for s in HONEYPOTS), "no fully correct honeypot"
    assert sum(_has_wrong_line(s) for s in HONEYPOTS) >= len(HONEYPOTS) // 2


def test_tests_are_plain_asserts_calling_the_entry_point() -> None:
    for problem in PROBLEMS:
        assert problem.tests is not None
        tree = ast.parse(problem.tests)
        asserts = [node for node in ast.walk(tree) if isinstance(node, ast.Assert)]
        assert 5 <= len(asserts) <= 10, (problem.id, len(asserts))
        called = {
            node.func.id
            for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
        }
        assert problem.entry_point in called, problem.id


def test_honeypots_look_like_other_samples() -> None:
    """Nothing but the server-side gold may tell a honeypot apart."""
    for sample in SAMPLES:
        prefix = f"s-{sample.problem_id}-"
        assert sample.id is not None and sample.id.startswith(prefix), sample.id
        assert sample.id.removeprefix(prefix).isdigit(), sample.id
        assert sample.meta.model_dump(exclude_none=True).keys() == {
            "model",
            "round",
            "temperature",
            "seed",
        }, sample.id
        assert (sample.meta.round, sample.meta.temperature) == (0, 0.8), sample.id
        assert 6 <= len(split_code(sample.code)) <= 30, sample.id
    # Honeypots sit at varied positions, so a sample's number does not give them away.
    numbers = Counter(int(s.id.rsplit("-", 1)[1]) for s in HONEYPOTS if s.id is not None)
    assert len(numbers) >= 3, numbers


def test_honeypots_share_the_style_of_other_samples() -> None:
    """Docstrings, type hints and comments are about as common in honeypots as elsewhere.

    Otherwise annotators would learn that, say, a typed function with a docstring is a
    test, and take more care on exactly the samples that measure their care.
    """
    others = [sample for sample in SAMPLES if sample.gold is None]
    styles: dict[str, Callable[[str], bool]] = {
        "docstring": lambda code: '"""' in code,
        "type hints": lambda code: "->" in code,
        "comment": lambda code: any(line.lstrip().startswith("#") for line in code.splitlines()),
    }
    for name, has_style in styles.items():
        in_honeypots = sum(has_style(s.code) for s in HONEYPOTS) / len(HONEYPOTS)
        in_others = sum(has_style(s.code) for s in others) / len(others)
        assert abs(in_honeypots - in_others) <= 0.15, (name, in_honeypots, in_others)


def test_expectations_cover_exactly_the_other_samples() -> None:
    others = {sample.id for sample in SAMPLES if sample.gold is None}
    assert set(EXPECTED_PASS) == others
    for problem in PROBLEMS:
        mine = [s for s in SAMPLES if s.problem_id == problem.id]
        correct = [s for s in mine if _should_pass(s)]
        assert 1 <= len(correct) < len(mine), problem.id


def test_repairs_touch_exactly_the_lines_gold_marks_wrong() -> None:
    buggy = {s.id: s for s in HONEYPOTS if _has_wrong_line(s)}
    assert set(REPAIRS) == set(buggy)
    for sample_id, repairs in REPAIRS.items():
        gold = buggy[sample_id].gold
        assert gold is not None
        assert set(repairs) == {n for n, label in gold.items() if label == Label.WRONG}


@pytest.mark.parametrize("problem", PROBLEMS, ids=lambda problem: problem.id)
def test_code_behaves_as_labelled(problem: ProblemIn, tmp_path: Path) -> None:
    """One interpreter per problem runs its reference, its samples and the repaired honeypots."""
    assert problem.reference_solution is not None and problem.tests is not None
    samples = [s for s in SAMPLES if s.problem_id == problem.id]
    programs = {REFERENCE: problem.reference_solution}
    expected = {REFERENCE: True}
    for sample in samples:
        assert sample.id is not None
        programs[sample.id] = sample.code
        expected[sample.id] = _should_pass(sample)
        if sample.id in REPAIRS:
            programs[f"{sample.id} repaired"] = _repaired(sample)
            expected[f"{sample.id} repaired"] = True
    script = tmp_path / "runner.py"
    script.write_text(RUNNER, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-I", str(script)],
        input=json.dumps({"tests": problem.tests, "programs": programs}),
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=RUN_TIMEOUT_S,
        check=True,
    )
    errors: dict[str, str | None] = json.loads(done.stdout)
    actual = {name: error is None for name, error in errors.items()}
    mismatched = {
        name: errors[name] or "passed" for name in expected if actual[name] != expected[name]
    }
    assert mismatched == {}
