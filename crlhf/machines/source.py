"""The program a sample belongs to: a completion is only what the model wrote after its
prompt (a testbed or HumanEval sample is a function body below the prompt's ``def``
line), so checkers must put the prompt back in front of it, and number lines as the
sample does.

The prompt is the problem's ``prompt`` where it has one, else its description (the prompt
for the suites that continue one, ``BenchProblem.to_problem_in``).
"""

from __future__ import annotations

import ast

from crlhf.schemas import MachineTask


def _error_line(source: str) -> int | None:
    try:
        ast.parse(source)
    except SyntaxError as exc:
        return exc.lineno or 1
    return None


def program_prefix(task: MachineTask) -> tuple[str, int | None]:
    """What the sample's code continues, and the sample's syntax error line (None: none).

    The code alone when it parses; else the problem's description followed by the code,
    when that parses (the description is the prompt the model continued). When neither
    parses, the error is located in the reading whose description ends in a block header
    (``def f(xs):``), else in the code alone.
    """
    code = task.code
    if _error_line(code) is None:
        return "", None
    prompt = task.problem.prompt or task.problem.description
    prefix = prompt if prompt.endswith("\n") else prompt + "\n"
    error = _error_line(prefix + code)
    if error is None:
        return prefix, None
    if prompt.rstrip().endswith(":"):
        return prefix, max(error - len(prefix.splitlines()), 1)
    return "", _error_line(code)
