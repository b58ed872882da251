"""The testbed's problems as benchmark suites: ``testbed-train`` and ``testbed-heldout``."""

from __future__ import annotations

import subprocess
import sys

import pytest

from crlhf.evaluation.suites import SUITES, load_suite
from crlhf.sandbox import Executor, Limits, Outcome
from tests.conftest import REPO_ROOT


def test_the_split_is_disjoint_and_complete() -> None:
    train, heldout = load_suite("testbed-train"), load_suite("testbed-heldout")
    assert {"testbed-train", "testbed-heldout"} <= set(SUITES)
    assert (len(train), len(heldout)) == (192, 48)
    assert not {p.task_id for p in train} & {p.task_id for p in heldout}
    first = heldout[0]
    assert first.task_id.startswith("testbed/") and first.prompt.startswith("# ")
    assert first.tests.count("assert") == 10


def test_loading_them_does_not_import_torch() -> None:
    code = (
        "import sys; from crlhf.evaluation.suites import load_suite; "
        "load_suite('testbed-train'); print('torch' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"


@pytest.mark.skipif(sys.platform != "linux", reason="the sandbox needs Linux /proc")
def test_references_pass_and_a_planted_bug_fails_in_the_sandbox() -> None:
    problems = load_suite("testbed-heldout")[:4]
    programs = [
        [p.program(p.reference), p.program(p.reference.replace("    ", "    #", 1))]
        for p in problems
    ]
    results = Executor(Limits(timeout_s=30.0), workers=1).run_many(programs)
    assert [[r.outcome for r in rs] for rs in results] == [[Outcome.PASSED, Outcome.FAILED]] * 4
