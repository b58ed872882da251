"""The program a sample belongs to: a completion is only what the model wrote after its
prompt (a testbed or HumanEval sample is a function body below the prompt's ``def``
line), so checkers must put the prompt back in front of it, and number lines as the
sample does.

The prompt is the problem's ``prompt`` where it has one, else its description (the prompt
for the suites that continue one, ``BenchProblem.to_problem_in``).

Code that parses alone (a whole function, as chat replies are extracted) still runs after
the prompt's imports, as the suite's own program does: a HumanEval reply that uses
``List`` without importing it passes the tests, so neither checker may blame its ``def``
line for a NameError the real program never raises.
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

    The code alone when it parses (after the prompt's imports, :func:`header_imports`);
    else the problem's description followed by the code,
    when that parses (the description is the prompt the model continued). When neither
    parses, the error is located in the reading whose description ends in a block header
    (``def f(xs):``), else in the code alone.
    """
    code = task.code
    prompt = task.problem.prompt or task.problem.description
    if _error_line(code) is None:
        return header_imports(prompt, ast.parse(code)), None
    prefix = prompt if prompt.endswith("\n") else prompt + "\n"
    error = _error_line(prefix + code)
    if error is None:
        return prefix, None
    if prompt.rstrip().endswith(":"):
        return prefix, max(error - len(prefix.splitlines()), 1)
    return "", _error_line(code)


def header_imports(prompt: str, code: ast.Module) -> str:
    """The prompt's one-line top-level imports that ``code`` does not make or shadow
    itself, one per line ("" when none).

    Left out: an import binding a name the code binds at module level (both would make
    ``ruff`` report a redefinition on the code's line), and star imports (``ruff`` would
    then flag every name the code uses as possibly undefined).
    """
    bound = _module_names(code)
    kept = []
    for line in prompt.splitlines():
        if not line.startswith(("import ", "from ")):
            continue
        try:
            statement = ast.parse(line).body[0]
        except SyntaxError:  # a multi-line import: left out rather than guessed
            continue
        names = _bound_by(statement)
        if names and "*" not in names and not names & bound:
            kept.append(line + "\n")
    return "".join(kept)


def _bound_by(node: ast.stmt) -> set[str]:
    if isinstance(node, ast.Import | ast.ImportFrom):
        return {(a.asname or a.name).split(".")[0] for a in node.names}
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return {node.name}
    if isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        return {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
    return set()


def _module_names(tree: ast.Module) -> set[str]:
    return set().union(*(_bound_by(node) for node in tree.body))
