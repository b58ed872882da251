"""The built-in checkers' votes on a policy's testbed samples, in the shape the simulated
crowd takes (:data:`crlhf.testbed.crowd.MachineVotes`): per checker, per sample, judged-line
index -> vote. The ``tests`` checker runs every sample's tests in the sandbox."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from crlhf.machines.checkers import Checker
from crlhf.machines.static_checker import StaticChecker
from crlhf.machines.tests_checker import TestsChecker
from crlhf.sandbox import Executor
from crlhf.schemas import MachineProblemView, MachineTask, split_code
from crlhf.testbed.problems import Instance


def task_of(instance: Instance, code: str, sample_id: str) -> MachineTask:
    """A testbed sample as a machine annotator is served it (the prompt is the description)."""
    return MachineTask(
        sample_id=sample_id,
        problem=MachineProblemView(
            id=instance.task_id,
            title=instance.template.key,
            description=instance.prompt,
            entry_point=instance.function,
            tests=instance.tests(),
        ),
        code=code,
        lines=split_code(code),
        served_at=datetime.now(UTC),
    )


def checker_votes(
    samples: Sequence[tuple[Instance, Any]], checkers: Sequence[Checker] | None = None
) -> list[list[dict[int, int]]]:
    """Each checker's votes on ``samples`` ((instance, completion) pairs)."""
    tasks = [task_of(i, c.text, str(n)) for n, (i, c) in enumerate(samples)]
    index = [{n: k for k, n in enumerate(t.judged_numbers)} for t in tasks]
    out: list[list[dict[int, int]]] = []
    for checker in checkers or (TestsChecker(Executor()), StaticChecker()):
        if isinstance(checker, TestsChecker):
            verdicts = checker.check_many(tasks)
        else:
            verdicts = [checker.check(t) for t in tasks]
        out.append(
            [
                {where[n]: int(label) for n, label in v.labels.items() if n in where}
                for v, where in zip(verdicts, index, strict=True)
            ]
        )
    return out
