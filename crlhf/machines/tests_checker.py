"""The ``tests`` checker: the problem's tests, one assert at a time, with line coverage.

The program is the sample's code, preceded by the problem's description when the sample
is a completion of it (:func:`crlhf.machines.source.program_prefix`).

Rule (``TestsChecker.check``), in order:

1. The sample does not parse: its syntax error's line votes wrong; every other line
   abstains.
2. The problem has no tests, or no test run reported its coverage (every one was killed
   by a limit or blocked by the sandbox): abstain on every line.
3. Every test passes: each judged line some test executed votes correct; lines no test
   executed abstain (StepCoder's point: unexecuted code says nothing).
4. Some test fails: a line where a test crashed (an exception other than a failed
   assertion raised in the sample's own code) votes wrong. So do the lines with the
   highest Ochiai score (:func:`crlhf.machines.spectrum.ochiai`) when that score is
   positive, the lines were executed by more failing than passing tests, and at most
   ``max_blamed`` lines share it; a larger tie (straight-line code that every test runs)
   says nothing about which line is wrong, so those lines abstain. Module-level
   statements (a ``def`` line, a constant) run on import in every test, so their score
   says nothing and they are never blamed by it (only by a crash). All other lines
   abstain. (Sparing every line that all tests execute instead cost 5 points of accuracy
   on the testbed: ``benchmarks/machine_checkers.py``.)

Each test runs inside the sandbox (:class:`crlhf.sandbox.Executor`, audit hook and limits
on) with the tracer of :mod:`crlhf.machines.spectrum`.
"""

from __future__ import annotations

import ast
from collections.abc import Sequence

from crlhf.machines.checkers import BUILT_IN, Verdict
from crlhf.machines.source import program_prefix
from crlhf.machines.spectrum import Trace, ochiai, parse_trace, program, split_tests
from crlhf.sandbox import Executor
from crlhf.schemas import Label, MachineTask


def module_level_lines(prefix: str, code: str) -> frozenset[int]:
    """Lines of ``code`` (its own numbering) that start a module-level statement."""
    offset = len(prefix.splitlines())
    tree = ast.parse(prefix + code)
    return frozenset(node.lineno - offset for node in tree.body if node.lineno > offset)


def verdict_from_traces(
    judged: list[int],
    traces: list[Trace],
    *,
    max_blamed: int = 2,
    spared: frozenset[int] = frozenset(),
) -> dict[int, Label]:
    """Rules 3 and 4 of the module docstring over the reported traces; ``spared`` lines
    (module-level statements) are never blamed by their Ochiai score."""
    judged_set = set(judged)
    if all(t.passed for t in traces):
        hit = set().union(*(t.hits for t in traces))
        return {n: Label.CORRECT for n in judged if n in hit}
    labels: dict[int, Label] = {}
    for t in traces:
        if not t.passed and t.error_line in judged_set:
            labels[t.error_line] = Label.WRONG
    scores = {n: s for n, s in ochiai(traces).items() if n in judged_set and n not in spared}
    top = max(scores.values(), default=0.0)
    if top > 0.0:
        blamed = [n for n, s in scores.items() if s == top]
        if len(blamed) <= max_blamed:
            for n in blamed:
                failed = sum(1 for t in traces if not t.passed and n in t.hits)
                passed = sum(1 for t in traces if t.passed and n in t.hits)
                if failed > passed:
                    labels[n] = Label.WRONG
    return labels


class TestsChecker:
    """Spectrum-based fault localisation over the problem's own tests (module docstring)."""

    __test__ = False  # not a pytest class, whatever its name says
    name = "tests"
    version = BUILT_IN["tests"]

    def __init__(self, executor: Executor | None = None, *, max_blamed: int = 2) -> None:
        self.executor = executor or Executor(workers=1)
        self.max_blamed = max_blamed

    def check(self, task: MachineTask) -> Verdict:
        return self.check_many([task])[0]

    def check_many(self, tasks: Sequence[MachineTask]) -> list[Verdict]:
        """Verdicts of many samples, their test runs spread over the executor's workers."""
        verdicts: list[Verdict | None] = []
        programs: list[list[str]] = []
        to_run: list[int] = []
        spared: dict[int, frozenset[int]] = {}
        for i, task in enumerate(tasks):
            prefix, error = program_prefix(task)
            tests = task.problem.tests
            if error is not None:
                labels = {error: Label.WRONG} if error in task.judged_numbers else {}
                verdicts.append(Verdict(labels, note=f"syntax error at line {error}"))
            elif not tests or not tests.strip():
                verdicts.append(Verdict(note="the problem has no tests"))
            else:
                verdicts.append(None)
                to_run.append(i)
                programs.append([program(task.code, t, prefix) for t in split_tests(tests)])
                spared[i] = module_level_lines(prefix, task.code)
        for i, results in zip(to_run, self.executor.run_many(programs), strict=True):
            traces = [
                trace
                for trace in (parse_trace(r.output, r.passed) for r in results)
                if trace is not None
            ]
            if traces:
                labels = verdict_from_traces(
                    tasks[i].judged_numbers,
                    traces,
                    max_blamed=self.max_blamed,
                    spared=spared[i],
                )
                verdicts[i] = Verdict(labels)
            else:
                outcomes = ", ".join(sorted({r.outcome.value for r in results}))
                verdicts[i] = Verdict(note=f"no test run reported coverage ({outcomes})")
        return [v if v is not None else Verdict() for v in verdicts]
