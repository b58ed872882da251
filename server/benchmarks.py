"""Benchmark results per training round: what each round did to pass@k.

``crlhf bench --server`` posts one result per run; admins list them by round (NULL is the
baseline, listed first) to read before/after at a glance. A run id is the natural key:
posting it again (a resumed or repeated run) replaces the stored result.
"""

from __future__ import annotations

import json
import sqlite3

from crlhf_server.views import parse_time

from crlhf.errors import RoundNotFound
from crlhf.schemas import BenchmarkResult, BenchmarkResultIn

_COLUMNS = (
    "run_id, suite, model, adapter_version, round, n, temperature, pass_at_k, n_problems, "
    "created_at"
)


def _view(row: sqlite3.Row) -> BenchmarkResult:
    return BenchmarkResult(
        id=row["id"],
        suite=row["suite"],
        model=row["model"],
        adapter_version=row["adapter_version"],
        round=row["round"],
        run_id=row["run_id"],
        n=row["n"],
        temperature=row["temperature"],
        pass_at_k={int(k): v for k, v in json.loads(row["pass_at_k"]).items()},
        n_problems=row["n_problems"],
        created_at=parse_time(row["created_at"]),
    )


def record(
    conn: sqlite3.Connection, body: BenchmarkResultIn, now: str
) -> tuple[BenchmarkResult, bool]:
    """Store ``body`` (replacing a result with the same run id); return it and whether it is
    new. Call inside a write."""
    if body.round is not None:
        exists = conn.execute("SELECT 1 FROM training_rounds WHERE id = ?", (body.round,))
        if exists.fetchone() is None:
            raise RoundNotFound(f"no training round {body.round}", field="round")
    existed = conn.execute(
        "SELECT 1 FROM benchmark_results WHERE run_id = ?", (body.run_id,)
    ).fetchone()
    pass_at_k = json.dumps({str(k): v for k, v in sorted(body.pass_at_k.items())})
    conn.execute(
        f"INSERT INTO benchmark_results ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (run_id) DO UPDATE SET suite = excluded.suite, model = excluded.model, "
        "adapter_version = excluded.adapter_version, round = excluded.round, n = excluded.n, "
        "temperature = excluded.temperature, pass_at_k = excluded.pass_at_k, "
        "n_problems = excluded.n_problems, created_at = excluded.created_at",
        (
            body.run_id,
            body.suite,
            body.model,
            body.adapter_version,
            body.round,
            body.n,
            body.temperature,
            pass_at_k,
            body.n_problems,
            now,
        ),
    )
    row = conn.execute("SELECT * FROM benchmark_results WHERE run_id = ?", (body.run_id,))
    return _view(row.fetchone()), existed is None


def list_results(
    conn: sqlite3.Connection, *, round_id: int | None = None, suite: str | None = None
) -> list[BenchmarkResult]:
    """Results oldest round first (the baseline before round 1), then by suite and time."""
    where, params = [], []
    if round_id is not None:
        where.append("round = ?")
        params.append(str(round_id))
    if suite is not None:
        where.append("suite = ?")
        params.append(suite)
    clause = f"WHERE {' AND '.join(where)} " if where else ""
    rows = conn.execute(
        f"SELECT * FROM benchmark_results {clause}ORDER BY round, suite, created_at, id", params
    )
    return [_view(row) for row in rows]
