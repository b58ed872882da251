"""Which lines of a sample each test executes, and how suspicious that makes each line.

Spectrum-based fault localisation (Jones & Harrold; Abreu et al.): run every test on its
own, record the lines it executes, and score each line with the **Ochiai** coefficient

    ochiai(l) = failed(l) / sqrt(total_failed · (failed(l) + passed(l)))

where failed(l) and passed(l) count the failing and passing tests that executed l. Ochiai
is the usual choice: on real bugs it ranks the faulty statement higher than Tarantula and
needs no tuning (Abreu et al., 2007).

The coverage is taken inside the sandbox: :func:`program` wraps the sample and one test in
a tracer that reports the executed line numbers (and, for an exception raised in the
sample's own code, the line that raised it) on the program's output, after a marker. The
sample's code is compiled as its own file, so its line numbers are the sample's lines;
a ``prefix`` the sample continues (the prompt's ``def`` line, for a completion that is only
a function body) is compiled in front of it and its lines are subtracted from the report.
"""

from __future__ import annotations

import ast
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass

MARKER = "\x00crlhf-spectrum\x00"
"""Prefixes the line of JSON a traced program prints last."""

_TEMPLATE = """\
import sys as _crlhf_sys, json as _crlhf_json
_crlhf_hits = set()
_crlhf_error_line = None
_crlhf_offset = {offset!r}
def _crlhf_trace(frame, event, arg):
    if frame.f_code.co_filename == "<crlhf-sample>":
        if event == "line" and frame.f_lineno > _crlhf_offset:
            _crlhf_hits.add(frame.f_lineno - _crlhf_offset)
        return _crlhf_trace
    return None
_crlhf_globals = {{"__name__": "__main__"}}
_crlhf_sys.settrace(_crlhf_trace)
try:
    exec(compile({code!r}, "<crlhf-sample>", "exec"), _crlhf_globals)
    exec(compile({test!r}, "<crlhf-test>", "exec"), _crlhf_globals)
except BaseException as _crlhf_exc:
    if not isinstance(_crlhf_exc, AssertionError):
        _crlhf_tb = _crlhf_exc.__traceback__
        while _crlhf_tb is not None:
            if (_crlhf_tb.tb_frame.f_code.co_filename == "<crlhf-sample>"
                    and _crlhf_tb.tb_lineno > _crlhf_offset):
                _crlhf_error_line = _crlhf_tb.tb_lineno - _crlhf_offset
            _crlhf_tb = _crlhf_tb.tb_next
    raise
finally:
    _crlhf_sys.settrace(None)
    _crlhf_report = {{"hits": sorted(_crlhf_hits), "error_line": _crlhf_error_line}}
    print({marker!r} + _crlhf_json.dumps(_crlhf_report))
"""


def program(code: str, test: str, prefix: str = "") -> str:
    """A sandbox program that runs ``prefix + code`` then ``test`` and reports the lines of
    ``code`` executed (numbered as in ``code``). ``prefix`` must end with a newline."""
    offset = len(prefix.splitlines())
    return _TEMPLATE.format(code=prefix + code, test=test, marker=MARKER, offset=offset)


@dataclass(frozen=True)
class Trace:
    """What one test run reported: the sample's lines it executed, and its verdict."""

    passed: bool
    hits: frozenset[int]
    error_line: int | None = None
    """The sample's line that raised an exception other than a failed assertion."""


def parse_trace(output: str, passed: bool) -> Trace | None:
    """The trace in a program's output; None when it never got to report (killed, blocked)."""
    for line in reversed(output.splitlines()):
        if line.startswith(MARKER):
            data = json.loads(line[len(MARKER) :])
            return Trace(passed, frozenset(int(n) for n in data["hits"]), data["error_line"])
    return None


def split_tests(tests: str) -> list[str]:
    """The problem's tests as separate runs: each top-level ``assert`` on its own, with the
    setup statements before it; a test suite that is not a list of asserts stays whole."""
    try:
        tree = ast.parse(tests)
    except SyntaxError:
        return [tests]
    setup: list[str] = []
    runs: list[str] = []
    lines = tests.splitlines()
    for node in tree.body:
        text = "\n".join(lines[node.lineno - 1 : (node.end_lineno or node.lineno)])
        if isinstance(node, ast.Assert):
            runs.append("\n".join([*setup, text]))
        else:
            setup.append(text)
    return runs or [tests]  # HumanEval-style: a check(candidate) function, called at the end


def ochiai(traces: Sequence[Trace]) -> dict[int, float]:
    """Ochiai suspiciousness of every line some test executed (0 when no test failed)."""
    total_failed = sum(1 for t in traces if not t.passed)
    lines = sorted({n for t in traces for n in t.hits})
    scores: dict[int, float] = {}
    for line in lines:
        failed = sum(1 for t in traces if not t.passed and line in t.hits)
        passed = sum(1 for t in traces if t.passed and line in t.hits)
        denominator = math.sqrt(total_failed * (failed + passed))
        scores[line] = failed / denominator if denominator else 0.0
    return scores
