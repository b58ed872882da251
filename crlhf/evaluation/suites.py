"""The benchmark suites by name."""

from __future__ import annotations

from pathlib import Path

from crlhf.errors import InvalidInput
from crlhf.evaluation import humaneval, mbpp
from crlhf.evaluation.problems import BenchProblem

SUITES = ("humaneval", "mbpp")


def load_suite(name: str, mbpp_path: Path = mbpp.DEFAULT_PATH) -> list[BenchProblem]:
    if name == "humaneval":
        return humaneval.load()
    if name == "mbpp":
        return mbpp.load(mbpp_path)
    raise InvalidInput(f"unknown suite {name!r}; choose from {', '.join(SUITES)}", field="suite")
