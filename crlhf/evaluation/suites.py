"""The benchmark suites by name.

``testbed-train`` and ``testbed-heldout`` are the synthetic problems of
:mod:`crlhf.testbed.problems` (the seeded 192/48 split), so ``crlhf generate``,
``crlhf bench`` and ``crlhf worker`` can sample and measure the testbed's policy with the
same commands as HumanEval and MBPP. They are imported only when asked for.
"""

from __future__ import annotations

from pathlib import Path

from crlhf.errors import InvalidInput
from crlhf.evaluation import humaneval, mbpp
from crlhf.evaluation.problems import BenchProblem

SUITES = ("humaneval", "mbpp", "testbed-train", "testbed-heldout")


def load_suite(name: str, mbpp_path: Path | None = None) -> list[BenchProblem]:
    if name == "humaneval":
        return humaneval.load()
    if name == "mbpp":
        return mbpp.load(mbpp_path)
    if name in ("testbed-train", "testbed-heldout"):
        from crlhf.testbed.problems import split_instances

        train, heldout = split_instances()
        return [i.to_bench() for i in (train if name == "testbed-train" else heldout)]
    raise InvalidInput(f"unknown suite {name!r}; choose from {', '.join(SUITES)}", field="suite")
