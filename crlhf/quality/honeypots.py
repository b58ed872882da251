"""Honeypot samples for code: known-correct references with one planted, test-proven bug.

A mutant whose tests still pass is not a bug (an equivalent mutant), and a gold label
that calls correct code wrong would punish the annotators who got it right; so every
mutant runs the problem's tests in the sandboxed executor and only failing ones are kept.
Gold is −1 on the mutated line and +1 on every other judged line.

Honeypots must look like every other sample to an annotator: they carry the same kind of
generation metadata as the samples of the current round (``meta``) and no id, so the
server names them as it names any imported sample.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from crlhf.errors import InvalidInput
from crlhf.evaluation import mbpp
from crlhf.quality.mutations import Mutant, mutants
from crlhf.sandbox import Executor
from crlhf.schemas import GenerationMeta, Label, ProblemIn, SampleIn, judged_line_numbers

__all__ = ["Honeypot", "make_honeypots", "mbpp_train_problems"]

logger = logging.getLogger(__name__)

#: MBPP's train split (Austin et al., 2021): task ids 601-974; 11-510 are the test split
#: the benchmarks use, so honeypots never come from benchmark problems.
MBPP_TRAIN = range(601, 975)


@dataclass(frozen=True)
class Honeypot:
    """A honeypot sample and the mutation behind it (the mutation stays admin-side)."""

    sample: SampleIn
    mutant: Mutant


def _gold(code: str, wrong: frozenset[int]) -> dict[int, Label]:
    return {n: Label.WRONG if n in wrong else Label.CORRECT for n in judged_line_numbers(code)}


def _program(code: str, tests: str) -> str:
    return f"{code}\n\n{tests}\n"


def make_honeypots(
    problems: Sequence[ProblemIn],
    executor: Executor,
    *,
    per_problem: int = 3,
    meta: GenerationMeta | None = None,
    seed: int = 0,
) -> list[Honeypot]:
    """Up to ``per_problem`` honeypots per problem that has a reference solution and tests.

    Operators are interleaved so a problem's honeypots plant different kinds of bug.
    Problems whose reference fails its own tests are skipped (logged): their gold would
    be wrong. ``meta`` is copied onto every sample, so honeypots carry the model, round
    and temperature of the samples they hide among.
    """
    if per_problem < 1:
        raise InvalidInput("per_problem must be at least 1", field="per_problem")
    rng = random.Random(seed)
    usable = [p for p in problems if p.reference_solution and p.tests]
    candidates: list[list[Mutant]] = []
    programs: list[list[str]] = []
    for problem in usable:
        reference, tests = problem.reference_solution or "", problem.tests or ""
        by_operator: dict[str, list[Mutant]] = {}
        for mutant in mutants(reference):
            by_operator.setdefault(mutant.operator, []).append(mutant)
        for group in by_operator.values():
            rng.shuffle(group)
        order = list(by_operator)
        rng.shuffle(order)
        # Round-robin over operators: the first candidates cover as many kinds as possible.
        chosen: list[Mutant] = []
        while any(by_operator.values()) and len(chosen) < 4 * per_problem:
            for name in order:
                if by_operator[name]:
                    chosen.append(by_operator[name].pop())
        candidates.append(chosen)
        programs.append([_program(reference, tests)] + [_program(m.code, tests) for m in chosen])

    results = executor.run_many(programs)
    out: list[Honeypot] = []
    for problem, chosen, verdicts in zip(usable, candidates, results, strict=True):
        if not verdicts[0].passed:
            logger.warning("reference of %s fails its tests: %s", problem.id, verdicts[0].message)
            continue
        kept = [m for m, v in zip(chosen, verdicts[1:], strict=True) if not v.passed]
        logger.info("%s: %d of %d mutants fail the tests", problem.id, len(kept), len(chosen))
        for mutant in kept[:per_problem]:
            sample = SampleIn(
                problem_id=problem.id,
                code=mutant.code,
                meta=(meta or GenerationMeta()).model_copy(),
                gold=_gold(mutant.code, mutant.wrong_lines),
            )
            out.append(Honeypot(sample=sample, mutant=mutant))
    return out


def mbpp_train_problems(path: Path) -> list[ProblemIn]:
    """MBPP's train split from a local ``mbpp.jsonl``, as problems with reference and tests."""
    problems = mbpp.load(path, MBPP_TRAIN)
    return [
        ProblemIn(
            id=p.task_id.replace("/", "-"),
            title=p.task_id,
            description=p.description or p.prompt,
            tests=p.tests,
            reference_solution=p.reference,
        )
        for p in problems
    ]
