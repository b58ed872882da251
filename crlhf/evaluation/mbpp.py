"""MBPP (Austin et al., 2021), test split: task ids 11-510, from a local ``mbpp.jsonl``.

The prompt is the standard one for completion models (as in the BigCode evaluation
harness): the description and the first test case in a docstring. The model writes the
function after it; all three ``test_list`` asserts are then run (not the challenge tests).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from crlhf.errors import InvalidInput
from crlhf.evaluation.problems import BenchProblem

TEST_SPLIT = range(11, 511)
ENV_PATH = "CRLHF_MBPP"
"""The environment variable naming the ``mbpp.jsonl`` file when no path is given."""


def resolve_path(path: Path | None) -> Path:
    """``path``, else ``$CRLHF_MBPP``: MBPP is not bundled, so its place must be named."""
    if path is not None:
        return path
    if named := os.environ.get(ENV_PATH):
        return Path(named)
    raise InvalidInput(
        f"MBPP needs its data file: pass --mbpp-path FILE (mbpp.jsonl) or set ${ENV_PATH}",
        field="mbpp_path",
    )


def prompt_for(description: str, first_test: str) -> str:
    return f'"""\n{description.strip()}\n{first_test.strip()}\n"""\n'


def load(path: Path | None = None, task_ids: range = TEST_SPLIT) -> list[BenchProblem]:
    """The MBPP problems whose ids are in ``task_ids`` (the 500-problem test split)."""
    path = resolve_path(path)
    if not path.is_file():
        raise InvalidInput(f"MBPP data not found at {path}", field="mbpp_path")
    problems = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InvalidInput(f"{path}:{number}: not JSON ({exc})", field="mbpp_path") from exc
            if row["task_id"] not in task_ids:
                continue
            setup = row.get("test_setup_code") or ""
            problems.append(
                BenchProblem(
                    task_id=f"mbpp/{row['task_id']}",
                    prompt=prompt_for(row["text"], row["test_list"][0]),
                    tests="\n".join([setup, *row["test_list"]]).strip("\n"),
                    reference=row["code"].replace("\r\n", "\n"),
                    description=row["text"],
                )
            )
    if len(problems) != len(task_ids):
        raise InvalidInput(
            f"{path} holds {len(problems)} of the {len(task_ids)} expected MBPP tasks",
            field="mbpp_path",
        )
    return problems
