"""A benchmark run on disk: append-only JSONL, so a killed run resumes where it stopped.

Layout under ``<out_dir>/<run_id>/``:

- ``config.json``: what the run measures (suite, n, model, adapter, round...).
- ``completions.jsonl``: one row per generated sample, appended as each problem is done.
- ``results.jsonl``: one row per executed sample, appended as each problem finishes.
- ``results.json``: the summary with pass@k, written at the end.

Rows are keyed by (task_id, index); a later row for the same key wins, and a line cut
short by a kill is ignored, so appending is always safe.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from crlhf.errors import Conflict, InvalidInput

logger = logging.getLogger(__name__)

Rows = dict[str, dict[int, dict[str, Any]]]


def read_rows(path: Path) -> Rows:
    """Rows of a JSONL file by task id and sample index; torn lines are skipped."""
    rows: Rows = {}
    if not path.exists():
        return rows
    lines = path.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            # Rows are appended whole and fsynced; a bad line is a write torn by a kill
            # (sealed with a newline on the next append), so its row is simply redone.
            logger.warning("%s:%d: ignoring a line torn by a killed run", path, number)
            continue
        rows.setdefault(str(row["task_id"]), {})[int(row["index"])] = row
    return rows


def _append(path: Path, rows: Iterable[dict[str, Any]]) -> None:
    data = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    with path.open("a", encoding="utf-8") as handle:
        if handle.tell() and not _ends_with_newline(path):
            handle.write("\n")  # seal a line torn by a kill, so it stays one bad line
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def _ends_with_newline(path: Path) -> bool:
    with path.open("rb") as handle:
        handle.seek(-1, os.SEEK_END)
        return handle.read(1) == b"\n"


class RunStore:
    """The files of one run id."""

    def __init__(self, out_dir: Path, run_id: str) -> None:
        if not run_id or "/" in run_id or run_id.startswith("."):
            raise InvalidInput(f"not a usable run id: {run_id!r}", field="run_id")
        self.run_id = run_id
        self.dir = out_dir / run_id
        self.config_path = self.dir / "config.json"
        self.completions_path = self.dir / "completions.jsonl"
        self.results_path = self.dir / "results.jsonl"
        self.summary_path = self.dir / "results.json"

    def open(self, config: dict[str, Any]) -> None:
        """Create the run, or check that an existing one measures the same thing."""
        self.dir.mkdir(parents=True, exist_ok=True)
        if self.config_path.exists():
            stored = json.loads(self.config_path.read_text(encoding="utf-8"))
            changed = sorted(
                k for k in config.keys() | stored.keys() if config.get(k) != stored.get(k)
            )
            if changed:
                raise Conflict(
                    f"run {self.run_id!r} exists with different settings ({', '.join(changed)}); "
                    "use a new --run-id",
                    field="run_id",
                )
            logger.info("resuming run %s", self.run_id)
            return
        self.config_path.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")

    def completions(self) -> Rows:
        return read_rows(self.completions_path)

    def results(self) -> Rows:
        return read_rows(self.results_path)

    def append_completions(self, rows: Iterable[dict[str, Any]]) -> None:
        _append(self.completions_path, rows)

    def append_results(self, rows: Iterable[dict[str, Any]]) -> None:
        _append(self.results_path, rows)

    def write_summary(self, summary: dict[str, Any]) -> None:
        temporary = self.summary_path.with_suffix(".tmp")
        temporary.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
        temporary.replace(self.summary_path)
