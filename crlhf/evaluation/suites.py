"""The benchmark suites by name, and a team's own problems.

``testbed-train`` and ``testbed-heldout`` are the synthetic problems of
:mod:`crlhf.testbed.problems` (the seeded 192/48 split), so ``crlhf generate``,
``crlhf bench`` and ``crlhf worker`` can sample and measure the testbed's policy with the
same commands as HumanEval and MBPP. They are imported only when asked for.

A team's own problems come from a JSONL file (``--problems FILE``, read by
:mod:`crlhf.problem_formats`) or from the server (``--suite server``: every problem
imported there, read with an admin token, tests included).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from crlhf.client_config import ClientConfig
from crlhf.errors import InvalidInput
from crlhf.evaluation import humaneval, mbpp
from crlhf.evaluation.problems import BenchProblem, from_problem
from crlhf.schemas import ProblemIn

SUITES = ("humaneval", "mbpp", "testbed-train", "testbed-heldout", "server")


def load_suite(
    name: str, mbpp_path: Path | None = None, server: ClientConfig | None = None
) -> list[BenchProblem]:
    if name == "humaneval":
        return humaneval.load()
    if name == "mbpp":
        return mbpp.load(mbpp_path)
    if name in ("testbed-train", "testbed-heldout"):
        from crlhf.testbed.problems import split_instances

        train, heldout = split_instances()
        return [i.to_bench() for i in (train if name == "testbed-train" else heldout)]
    if name == "server":
        if server is None:
            raise InvalidInput("--suite server needs --server and an admin token", field="suite")
        return [from_problem(p) for p in asyncio.run(server_problems(server))]
    raise InvalidInput(f"unknown suite {name!r}; choose from {', '.join(SUITES)}", field="suite")


def load_problems(
    suite: str,
    *,
    problems_file: Path | None = None,
    mbpp_path: Path | None = None,
    server: ClientConfig | None = None,
) -> list[BenchProblem]:
    """``problems_file`` when given (a team's own problems), else the suite ``suite``."""
    if problems_file is not None:
        from crlhf.problem_formats import read_problems

        return [from_problem(p) for p in read_problems(problems_file)]
    return load_suite(suite, mbpp_path, server)


def suite_name(suite: str, problems_file: Path | None) -> str:
    """How results name the problems: the file's stem for ``--problems``, else the suite."""
    return problems_file.stem if problems_file is not None else suite


async def server_problems(config: ClientConfig) -> list[ProblemIn]:
    """Every problem on the server, as imported (admin token), in pages of 1,000."""
    from crlhf.client import CrlhfClient

    found: list[ProblemIn] = []
    async with CrlhfClient.from_config(config) as client:
        while True:
            page = await client.list_problems(limit=1000, offset=len(found))
            found.extend(
                ProblemIn.model_validate(p.model_dump(exclude={"created_at"})) for p in page
            )
            if len(page) < 1000:
                return found
