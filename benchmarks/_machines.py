"""Data sets with known line truth for the machine-annotator benchmarks, and the built-in
checkers' votes on them (cached, since the tests checker runs every sample in the sandbox).

* ``testbed``: real non-honeypot lines. Samples of the testbed's problems
  (:mod:`crlhf.testbed.problems`) written as a policy writes them: each slot takes a
  correct form, or with probability ``bug_rate`` one of its buggy forms, whether or not
  the tests catch it; the truth of each line is whether it is a correct form of its slot.
  The sample's code is the body only (a completion), as the server stores completions.
* ``mbpp``: MBPP test-split problems (task ids 11-510): one mutant per problem whose wrong
  line is known (:mod:`crlhf.quality.mutations`, kept only when it fails the tests, as
  honeypots are) and the unmutated reference (all lines correct).
* ``honeypots``: what the server calibrates on: honeypots made from MBPP's train split
  exactly as ``crlhf admin make-honeypots`` makes them (:func:`make_honeypots`).
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from crlhf.evaluation import mbpp
from crlhf.machines.checkers import Checker
from crlhf.machines.static_checker import StaticChecker
from crlhf.machines.tests_checker import TestsChecker
from crlhf.quality.honeypots import make_honeypots, mbpp_train_problems
from crlhf.sandbox import Executor
from crlhf.schemas import Label, MachineProblemView, MachineTask, ProblemIn, split_code
from crlhf.testbed.problems import all_instances

MBPP_PATH = Path(__file__).resolve().parents[2] / "shared" / "data" / "mbpp" / "mbpp.jsonl"
CACHE = Path(os.environ.get("CRLHF_MACHINE_BENCH_CACHE", "/tmp/crlhf-machine-bench"))
"""Checker votes by data set and checker version (the smoke tests point it elsewhere)."""


@dataclass(frozen=True)
class Case:
    """One sample with its truth: judged line -> True when the line is correct."""

    task: MachineTask
    truth: dict[int, bool]


def _task(
    sample_id: str, code: str, description: str, tests: str, entry: str | None
) -> MachineTask:
    return MachineTask(
        sample_id=sample_id,
        problem=MachineProblemView(
            id=sample_id, title=sample_id, description=description, entry_point=entry, tests=tests
        ),
        code=code,
        lines=split_code(code),
        served_at=datetime.now(UTC),
    )


def testbed_cases(n: int, *, seed: int = 0, bug_rate: float = 0.12) -> list[Case]:
    rng = random.Random(seed)
    instances = all_instances()
    cases: list[Case] = []
    for i in range(n):
        instance = rng.choice(instances)
        choices = []
        for slot in instance.template.slots:
            if slot.bugs and rng.random() < bug_rate:
                choices.append(len(slot.correct) + rng.randrange(len(slot.bugs)))
            else:
                choices.append(rng.randrange(len(slot.correct)))
        body = instance.body(choices)
        judged = [line.number for line in split_code(body) if line.judged]
        truth = dict(zip(judged, instance.line_truth(body), strict=True))
        task = _task(f"testbed-{i}", body, instance.prompt, instance.tests(), instance.function)
        cases.append(Case(task, truth))
    return cases


def _mutant_cases(problems: Sequence[ProblemIn], executor: Executor, tag: str) -> list[Case]:
    by_id = {p.id: p for p in problems}
    cases = []
    for i, honeypot in enumerate(make_honeypots(problems, executor, per_problem=1, seed=0)):
        problem = by_id[honeypot.sample.problem_id]
        gold = honeypot.sample.gold or {}
        task = _task(
            f"{tag}-{i}",
            honeypot.sample.code,
            problem.description,
            problem.tests or "",
            problem.entry_point,
        )
        cases.append(Case(task, {int(n): label is Label.CORRECT for n, label in gold.items()}))
    return cases


def mbpp_cases(limit: int, executor: Executor) -> list[Case]:
    """Mutants (one per problem, failing its tests) and the references of MBPP's test split."""
    problems = [p.to_problem_in() for p in mbpp.load(MBPP_PATH)[:limit]]
    cases = _mutant_cases(problems, executor, "mbpp-mutant")
    for i, problem in enumerate(problems):
        code = problem.reference_solution or ""
        judged = [line.number for line in split_code(code) if line.judged]
        task = _task(f"mbpp-ref-{i}", code, problem.description, problem.tests or "", None)
        cases.append(Case(task, dict.fromkeys(judged, True)))
    return cases


def honeypot_cases(limit: int, executor: Executor) -> list[Case]:
    return _mutant_cases(mbpp_train_problems(MBPP_PATH)[:limit], executor, "honeypot")


def checker_votes(
    name: str, checker: Checker, cases: Sequence[Case], key: str
) -> list[dict[int, int]]:
    """Each case's votes (line -> +1/-1) from ``checker``, cached under ``key``."""
    path = CACHE / f"{key}-{name}-{checker.version}.json"
    if path.exists():
        cached: list[dict[str, int]] = json.loads(path.read_text())
        return [{int(k): v for k, v in votes.items()} for votes in cached]
    tasks = [c.task for c in cases]
    if isinstance(checker, TestsChecker):
        verdicts = checker.check_many(tasks)
    else:
        verdicts = [checker.check(t) for t in tasks]
    out = [{n: int(label) for n, label in v.labels.items()} for v in verdicts]
    CACHE.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out))
    return out


def built_in_checkers(executor: Executor) -> dict[str, Checker]:
    return {"tests": TestsChecker(executor), "static": StaticChecker()}
