"""Read-only numbers the page shows that no service function computes yet.

Everything else the page shows comes from the service modules (rounds, quality, provenance,
consensus, annotators, benchmarks). These are plain aggregate reads: activity per day, who
was active, the queue, the crowd's accuracy on honeypots, and who said what on a sample.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta


@dataclass(frozen=True)
class DayActivity:
    day: str
    submissions: int
    votes: int


@dataclass(frozen=True)
class QueueRow:
    adapter_version: str | None
    """The adapter that generated the samples (None: the base model or imported)."""
    waiting: int
    """Non-honeypot samples still below the per-sample annotator cap."""
    unjudged: int
    """...of which no one has judged yet."""


@dataclass(frozen=True)
class LineVote:
    annotator_id: int
    name: str
    line: int
    label: int
    comment: str | None


def activity(conn: sqlite3.Connection, days: int, now: datetime | None = None) -> list[DayActivity]:
    """Submissions (every revision) and their votes per UTC day, the last ``days`` days."""
    today = (now or datetime.now(UTC)).date()
    first = today - timedelta(days=days - 1)
    rows = conn.execute(
        "SELECT substr(s.created_at, 1, 10) AS day, COUNT(DISTINCT s.id) AS n, "
        "COUNT(v.line) AS votes FROM submissions s LEFT JOIN votes v ON v.submission = s.id "
        "WHERE s.created_at >= ? GROUP BY day",
        (first.isoformat(),),
    )
    found = {str(r["day"]): (int(r["n"]), int(r["votes"])) for r in rows}
    out = []
    for i in range(days):
        day = (first + timedelta(days=i)).isoformat()
        submissions, votes = found.get(day, (0, 0))
        out.append(DayActivity(day=day, submissions=submissions, votes=votes))
    return out


def active_annotators(conn: sqlite3.Connection, since: datetime) -> int:
    """Annotators with at least one submission since ``since``."""
    row = conn.execute(
        "SELECT COUNT(DISTINCT annotator_id) FROM submissions WHERE created_at >= ?",
        (since.isoformat(),),
    ).fetchone()
    return int(row[0])


def queue(conn: sqlite3.Connection, cap: int) -> list[QueueRow]:
    """Samples waiting for votes, by the adapter version that generated them."""
    rows = conn.execute(
        "SELECT json_extract(meta, '$.adapter_version') AS adapter, COUNT(*) AS waiting, "
        "SUM(n_votes = 0) AS unjudged FROM samples WHERE is_honeypot = 0 AND n_annotators < ? "
        "GROUP BY adapter ORDER BY adapter",
        (cap,),
    )
    return [QueueRow(r["adapter"], int(r["waiting"]), int(r["unjudged"] or 0)) for r in rows]


def honeypot_accuracy(conn: sqlite3.Connection) -> tuple[float | None, int]:
    """The share of current votes on honeypot lines that match the gold, and their count."""
    gold = {
        str(r["id"]): json.loads(r["gold"])
        for r in conn.execute("SELECT id, gold FROM samples WHERE is_honeypot = 1")
    }
    right = total = 0
    for r in conn.execute(
        "SELECT s.sample_id, v.line, v.label FROM submissions s "
        "JOIN samples p ON p.id = s.sample_id JOIN votes v ON v.submission = s.id "
        "WHERE s.is_current = 1 AND p.is_honeypot = 1"
    ):
        truth = int(gold[str(r[0])].get(str(r[1]), 0))
        if truth:
            total += 1
            right += int(r[2]) == truth
    return (right / total if total else None), total


def line_votes(conn: sqlite3.Connection, sample_id: str) -> list[LineVote]:
    """The current vote (and comment) of every annotator on every line of a sample."""
    rows = conn.execute(
        "SELECT s.annotator_id, a.name, v.line, v.label, v.comment FROM submissions s "
        "JOIN votes v ON v.submission = s.id JOIN annotators a ON a.id = s.annotator_id "
        "WHERE s.sample_id = ? AND s.is_current = 1 ORDER BY v.line, a.name",
        (sample_id,),
    )
    return [LineVote(int(r[0]), str(r[1]), int(r[2]), int(r[3]), r[4]) for r in rows]


def gold(conn: sqlite3.Connection, sample_id: str) -> dict[int, int]:
    """A honeypot's gold labels by line (empty for an ordinary sample). Admins only."""
    row = conn.execute("SELECT gold FROM samples WHERE id = ?", (sample_id,)).fetchone()
    if row is None or row["gold"] is None:
        return {}
    return {int(k): int(v) for k, v in json.loads(row["gold"]).items()}


def recent_samples(conn: sqlite3.Connection, limit: int) -> list[sqlite3.Row]:
    """The most recently judged samples, to link from the overview."""
    return conn.execute(
        "SELECT p.id, p.problem_id, p.reward, p.n_votes, p.is_honeypot, MAX(s.created_at) AS at "
        "FROM submissions s JOIN samples p ON p.id = s.sample_id GROUP BY p.id "
        "ORDER BY at DESC LIMIT ?",
        (limit,),
    ).fetchall()
