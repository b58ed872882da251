"""AST-guided mutation operators that plant one realistic bug in known-correct code.

A honeypot is only useful if its gold is exact: the lines marked wrong must be the lines
that are wrong, and every other line must be right. So each operator changes one
expression or statement that sits on a single physical line, rewrites only that line's
text (the rest of the file keeps its formatting, comments and quotes, so a mutant looks
like the code around it), and records the line it touched. A change that leaves the
syntax tree unchanged (whitespace, comments) is rejected: it plants no bug.

Operators (:data:`OPERATORS`): ``off_by_one`` (range and slice bounds), ``flip_comparison``
(``<`` ↔ ``>=``, ``==`` ↔ ``!=``, ``in`` ↔ ``not in``...), ``wrong_operator`` (``+`` ↔ ``-``,
``*`` → ``+``, ``and`` ↔ ``or``...), ``swap_arguments`` (first two positional arguments of
a call), ``drop_line`` (a simple statement removed), ``wrong_return`` (the returned value)
and ``wrong_initial_value`` (a constant a variable starts at).

A dropped line leaves no line to mark, so its gold wrong line is the judged line just
before the gap (the statement or block header after which the code is missing): that is
where a reviewer who spots the omission points.
"""

from __future__ import annotations

import ast
import copy
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from crlhf.errors import InvalidInput
from crlhf.schemas import judged_line_numbers

__all__ = ["OPERATORS", "Mutant", "mutants"]


@dataclass(frozen=True)
class Mutant:
    """One mutated program and exactly which of its lines (1-based) carry the bug."""

    operator: str
    code: str
    wrong_lines: frozenset[int]
    description: str


@dataclass(frozen=True)
class _Edit:
    """Replace the text of one line (``line``, 1-based) or drop it (``text`` None).

    ``expected`` is the dump of the intended syntax tree; when the plain ``text`` parses
    to something else (operator precedence), ``parenthesised`` is tried instead.
    """

    line: int
    text: str | None
    description: str
    expected: str | None = None
    parenthesised: str | None = None


_Parents = dict[ast.AST, ast.AST]

_FLIPPED_CMP: dict[type[ast.cmpop], type[ast.cmpop]] = {
    ast.Lt: ast.GtE,
    ast.GtE: ast.Lt,
    ast.Gt: ast.LtE,
    ast.LtE: ast.Gt,
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
}
_WRONG_BINOP: dict[type[ast.operator], type[ast.operator]] = {
    ast.Add: ast.Sub,
    ast.Sub: ast.Add,
    ast.Mult: ast.Add,
    ast.Div: ast.Mult,
    ast.FloorDiv: ast.Mod,
    ast.Mod: ast.FloorDiv,
    ast.Pow: ast.Mult,
}


def _single_line(node: ast.AST) -> bool:
    start = getattr(node, "lineno", None)
    return start is not None and start == getattr(node, "end_lineno", None)


def _splice(lines: list[str], node: ast.AST, text: str) -> str:
    """The line of ``node`` with the node's source replaced by ``text``.

    Column offsets in the AST count UTF-8 bytes, hence the round trip through bytes.
    """
    raw = lines[node.lineno - 1].encode()  # type: ignore[attr-defined]
    start, end = node.col_offset, node.end_col_offset  # type: ignore[attr-defined]
    return (raw[:start] + text.encode() + raw[end:]).decode()


def _tree_with(tree: ast.Module, parents: _Parents, old: ast.AST, new: ast.AST) -> str:
    """The dump of ``tree`` with ``old`` replaced by ``new`` (the tree is left unchanged)."""
    parent = parents[old]
    for name, value in ast.iter_fields(parent):
        if value is old:
            setattr(parent, name, new)
            try:
                return ast.dump(tree)
            finally:
                setattr(parent, name, old)
        if isinstance(value, list) and any(item is old for item in value):
            index = next(i for i, item in enumerate(value) if item is old)
            value[index] = new
            try:
                return ast.dump(tree)
            finally:
                value[index] = old
    raise AssertionError("node not found under its parent")  # parents maps child -> parent


def _replaced(
    tree: ast.Module, lines: list[str], node: ast.AST, new: ast.AST, parents: _Parents, *, what: str
) -> _Edit:
    text = ast.unparse(new)
    return _Edit(
        node.lineno,  # type: ignore[attr-defined]
        _splice(lines, node, text),
        what,
        expected=_tree_with(tree, parents, node, new),
        parenthesised=_splice(lines, node, f"({text})"),
    )


def _bump(expr: ast.expr) -> ast.expr:
    """``e`` → ``e + 1``, but ``e - 1`` → ``e`` and a constant n → n + 1."""
    if isinstance(expr, ast.Constant) and type(expr.value) is int:
        return ast.Constant(expr.value + 1)
    if (
        isinstance(expr, ast.BinOp)
        and isinstance(expr.op, ast.Sub)
        and isinstance(expr.right, ast.Constant)
        and expr.right.value == 1
    ):
        return copy.deepcopy(expr.left)
    return ast.BinOp(copy.deepcopy(expr), ast.Add(), ast.Constant(1))


def _off_by_one(tree: ast.Module, lines: list[str], parents: _Parents) -> Iterator[_Edit]:
    for node in ast.walk(tree):
        bounds: list[ast.expr] = []
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            if node.func.id == "range" and 1 <= len(node.args) <= 3 and not node.keywords:
                bounds.append(node.args[0] if len(node.args) == 1 else node.args[1])
        elif isinstance(node, ast.Slice):
            bounds.extend(b for b in (node.lower, node.upper) if b is not None)
        for bound in bounds:
            if _single_line(bound):
                yield _replaced(
                    tree, lines, bound, _bump(bound), parents, what="bound moved by one"
                )


def _flip_comparison(tree: ast.Module, lines: list[str], parents: _Parents) -> Iterator[_Edit]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare) and len(node.ops) == 1 and _single_line(node):
            flipped = _FLIPPED_CMP.get(type(node.ops[0]))
            if flipped is not None:
                new = ast.Compare(node.left, [flipped()], node.comparators)
                yield _replaced(tree, lines, node, new, parents, what="comparison flipped")


def _wrong_operator(tree: ast.Module, lines: list[str], parents: _Parents) -> Iterator[_Edit]:
    for node in ast.walk(tree):
        if isinstance(node, ast.BinOp) and _single_line(node):
            wrong = _WRONG_BINOP.get(type(node.op))
            if wrong is not None and not isinstance(node.left, ast.Constant | ast.JoinedStr):
                new: ast.expr = ast.BinOp(node.left, wrong(), node.right)
                yield _replaced(tree, lines, node, new, parents, what="arithmetic operator changed")
        elif isinstance(node, ast.BoolOp) and _single_line(node):
            other = ast.Or() if isinstance(node.op, ast.And) else ast.And()
            new = ast.BoolOp(other, node.values)
            yield _replaced(tree, lines, node, new, parents, what="boolean operator changed")
        elif isinstance(node, ast.AugAssign) and _single_line(node):
            wrong = _WRONG_BINOP.get(type(node.op))
            if wrong is not None:
                stmt = ast.AugAssign(node.target, wrong(), node.value)
                yield _replaced(tree, lines, node, stmt, parents, what="update operator changed")


def _swap_arguments(tree: ast.Module, lines: list[str], parents: _Parents) -> Iterator[_Edit]:
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and _single_line(node) and len(node.args) >= 2):
            continue
        first, second = node.args[0], node.args[1]
        if isinstance(first, ast.Starred) or isinstance(second, ast.Starred):
            continue
        if ast.dump(first) != ast.dump(second):
            new = ast.Call(node.func, [second, first, *node.args[2:]], node.keywords)
            yield _replaced(tree, lines, node, new, parents, what="arguments swapped")


def _wrong_value(value: ast.expr | None) -> ast.expr | None:
    """A plausible wrong replacement for a returned or initial value, or None."""
    if isinstance(value, ast.Constant):
        v = value.value
        if isinstance(v, bool):
            return ast.Constant(not v)
        if isinstance(v, int):
            return ast.Constant(1 if v == 0 else 0 if v == 1 else v + 1)
        if isinstance(v, float):
            return ast.Constant(v + 1.0)
        if isinstance(v, str):
            return ast.Constant(" " if v == "" else "")
        if v is None:
            return ast.Constant(0)
    if isinstance(value, ast.Compare | ast.BoolOp):
        return ast.UnaryOp(ast.Not(), value)
    if isinstance(value, ast.List | ast.Dict | ast.Set | ast.Tuple) and not getattr(
        value, "elts", getattr(value, "keys", None)
    ):
        return ast.Constant(None)
    if isinstance(value, ast.Name):
        return ast.Constant(None)
    return None


def _wrong_return(tree: ast.Module, lines: list[str], parents: _Parents) -> Iterator[_Edit]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Return) and node.value is not None and _single_line(node):
            wrong = _wrong_value(node.value)
            if wrong is not None:
                yield _replaced(
                    tree, lines, node.value, wrong, parents, what="wrong value returned"
                )


def _wrong_initial_value(tree: ast.Module, lines: list[str], parents: _Parents) -> Iterator[_Edit]:
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Assign)
            and _single_line(node)
            and all(isinstance(t, ast.Name) for t in node.targets)
            and isinstance(node.value, ast.Constant | ast.List | ast.Dict)
        ):
            wrong = _wrong_value(node.value)
            if wrong is not None:
                yield _replaced(tree, lines, node.value, wrong, parents, what="wrong initial value")


def _drop_line(tree: ast.Module, lines: list[str], parents: _Parents) -> Iterator[_Edit]:
    simple = (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Expr)
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if not isinstance(body, list) or len(body) < 2 or isinstance(node, ast.Module):
            continue
        for stmt in body:
            docstring = isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant)
            if isinstance(stmt, simple) and _single_line(stmt) and not docstring:
                yield _Edit(stmt.lineno, None, "line dropped")


OPERATORS: dict[str, Callable[[ast.Module, list[str], _Parents], Iterator[_Edit]]] = {
    "off_by_one": _off_by_one,
    "flip_comparison": _flip_comparison,
    "wrong_operator": _wrong_operator,
    "swap_arguments": _swap_arguments,
    "drop_line": _drop_line,
    "wrong_return": _wrong_return,
    "wrong_initial_value": _wrong_initial_value,
}
"""Every mutation operator by name, in a fixed order."""


def _apply(lines: list[str], original: str, edit: _Edit, operator: str) -> Mutant | None:
    """The mutant of one edit, or None when it does not parse or changes no syntax."""
    new_lines = list(lines)
    if edit.text is None:
        del new_lines[edit.line - 1]
        before = judged_line_numbers("\n".join(new_lines[: edit.line - 1]))
        if not before:
            return None
        wrong = frozenset({before[-1]})
    else:
        wrong = frozenset({edit.line})
        for text in (edit.text, edit.parenthesised):
            new_lines[edit.line - 1] = text or ""
            if text != lines[edit.line - 1] and _parses_to(new_lines, edit.expected):
                break
        else:
            return None
    code = "\n".join(new_lines) + "\n"
    if not _parses_to(new_lines, None) or _parses_to(new_lines, original):
        return None
    return Mutant(operator=operator, code=code, wrong_lines=wrong, description=edit.description)


def _parses_to(lines: list[str], dump: str | None) -> bool:
    """Whether ``lines`` parse (to the tree dumped as ``dump``, when one is given)."""
    try:
        tree = ast.parse("\n".join(lines))
    except SyntaxError:
        return False
    return dump is None or ast.dump(tree) == dump


def mutants(code: str, operators: tuple[str, ...] | None = None) -> list[Mutant]:
    """Every single-edit mutant of ``code`` the chosen operators (default: all) produce.

    Distinct mutants only (two edits giving the same program count once), in a stable
    order: operator by operator, in source order within each.

    >>> [m.code for m in mutants("def f(n):\\n    return n < 3\\n", ("flip_comparison",))]
    ['def f(n):\\n    return n >= 3\\n']
    """
    names = operators or tuple(OPERATORS)
    unknown = sorted(set(names) - set(OPERATORS))
    if unknown:
        raise InvalidInput(f"unknown mutation operators {unknown}", field="operators")
    text = code.replace("\r\n", "\n")
    try:
        tree = ast.parse(text)
    except SyntaxError as exc:
        raise InvalidInput(f"code does not parse: {exc}", field="code") from exc
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    parents: _Parents = {
        child: parent for parent in ast.walk(tree) for child in ast.iter_child_nodes(parent)
    }
    original = ast.dump(tree)
    seen: set[str] = set()
    out: list[Mutant] = []
    for name in names:
        edits = sorted(OPERATORS[name](tree, lines, parents), key=lambda e: e.line)
        for edit in edits:
            mutant = _apply(lines, original, edit, name)
            if mutant is not None and mutant.code not in seen:
                seen.add(mutant.code)
                out.append(mutant)
    return out
