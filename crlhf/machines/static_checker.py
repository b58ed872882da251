"""The ``static`` checker: rules for real bugs vote wrong on the lines they flag.

Two sources, both read-only (nothing is executed):

* ruff's pyflakes rules that name bugs, not style (:data:`RUFF_RULES`): undefined names
  (F821, F822), a local used before assignment (F823), a shadowed (redefined unused)
  name (F811), ``is`` against a literal (F632), repeated dictionary keys (F601, F602), an
  assert on a tuple (F631), ``break``/``continue``/``return``/``yield`` outside their
  block (F701, F702, F704, F706), and broken ``%``/``format`` strings (F501-F509, F521-F525).
  Unused imports (F401), star imports (F403, F405) and placeholder-less f-strings (F541)
  are style and never vote. Unused local variables (F841) do not vote either: measured on
  MBPP (benchmarks/machine_checkers.py), every line F841 flagged was a correct line, in
  correct references (``decimal, i, n = 0, 0, 0``) and in mutants alike, where the unused
  assignment is where a bug elsewhere (a changed ``return``) shows, not the bug.
* Two AST checks ruff lacks in its stable rules: **unreachable code** (a statement after a
  ``return``, ``raise``, ``break`` or ``continue`` in the same block) and **wrong call
  arity** (a call of a function defined in the sample with more positional arguments than
  it takes, or fewer than its required ones, when the call has no ``*``/``**``).

Every other judged line abstains: a lint that finds nothing says little about a line.
"""

from __future__ import annotations

import ast
import itertools
import json
import subprocess
from collections.abc import Iterator

from crlhf.errors import CrlhfError
from crlhf.machines.checkers import BUILT_IN, Verdict
from crlhf.machines.source import program_prefix
from crlhf.schemas import Label, MachineTask

RUFF_RULES = (
    "F501,F502,F503,F504,F505,F506,F507,F508,F509,F521,F522,F523,F524,F525,"
    "F601,F602,F631,F632,F701,F702,F704,F706,F811,F821,F822,F823"
)

_TERMINAL = (ast.Return, ast.Raise, ast.Break, ast.Continue)


def ruff_binary() -> str:
    """The ruff executable of the ``machines`` extra; a one-line error naming it if absent."""
    try:
        from ruff.__main__ import find_ruff_bin  # type: ignore[import-untyped]
    except ImportError as exc:
        raise CrlhfError("the static checker needs ruff: pip install 'crlhf[machines]'") from exc
    return str(find_ruff_bin())


def ruff_lines(source: str, *, timeout_s: float = 10.0, ruff: str | None = None) -> set[int]:
    """Lines of ``source`` that :data:`RUFF_RULES` flag."""
    done = subprocess.run(
        [
            ruff or ruff_binary(),
            "check",
            "--isolated",
            "--no-cache",
            "--select",
            RUFF_RULES,
            "--output-format",
            "json",
            "--exit-zero",
            "--stdin-filename",
            "sample.py",
            "-",
        ],
        input=source,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )
    if done.returncode != 0:
        raise CrlhfError(f"ruff failed ({done.returncode}): {done.stderr.strip()[:200]}")
    return {int(item["location"]["row"]) for item in json.loads(done.stdout or "[]")}


def _blocks(tree: ast.AST) -> Iterator[list[ast.stmt]]:
    for node in ast.walk(tree):
        for name in ("body", "orelse", "finalbody"):
            block = getattr(node, name, None)
            if isinstance(block, list) and block and isinstance(block[0], ast.stmt):
                yield block
        for handler in getattr(node, "handlers", []):
            yield handler.body


def unreachable_lines(tree: ast.AST) -> set[int]:
    """First line of each statement that follows a return/raise/break/continue in its block."""
    lines: set[int] = set()
    for block in _blocks(tree):
        for before, after in itertools.pairwise(block):
            if isinstance(before, _TERMINAL):
                lines.add(after.lineno)
                break
    return lines


def _arity(func: ast.FunctionDef | ast.AsyncFunctionDef) -> tuple[int, int | None]:
    """(required positional, most positional; None when ``*args`` takes any number)."""
    args = func.args
    positional = len(args.posonlyargs) + len(args.args)
    required = positional - len(args.defaults)
    return required, None if args.vararg is not None else positional


def arity_lines(tree: ast.Module) -> set[int]:
    """Lines calling a top-level function of the sample with an impossible number of
    positional arguments (plain calls only: no ``*``/``**``, no keywords)."""
    functions = {
        node.name: _arity(node)
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    }
    lines: set[int] = set()
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
            continue
        if node.func.id not in functions or node.keywords:
            continue
        if any(isinstance(a, ast.Starred) for a in node.args):
            continue
        required, most = functions[node.func.id]
        n = len(node.args)
        if n < required or (most is not None and n > most):
            lines.add(node.lineno)
    return lines


class StaticChecker:
    """Lint rules for real bugs (module docstring); never executes the sample."""

    name = "static"
    version = BUILT_IN["static"]

    def __init__(self, *, timeout_s: float = 10.0) -> None:
        self.timeout_s = timeout_s
        self.ruff = ruff_binary()

    def check(self, task: MachineTask) -> Verdict:
        prefix, error = program_prefix(task)
        if error is not None:
            return Verdict(note=f"syntax error at line {error} (the tests checker votes on it)")
        source = prefix + task.code
        offset = len(prefix.splitlines())
        tree = ast.parse(source)
        flagged = ruff_lines(source, timeout_s=self.timeout_s, ruff=self.ruff)
        flagged |= unreachable_lines(tree) | arity_lines(tree)
        judged = set(task.judged_numbers)
        return Verdict({n - offset: Label.WRONG for n in sorted(flagged) if n - offset in judged})
