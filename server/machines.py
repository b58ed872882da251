"""Machine annotators on the server: their tasks, their (partial) submissions, and the
human target their votes set for each sample.

A machine annotator is an annotator whose ``kind`` is ``machine`` (a checker program run
by ``crlhf machines run``). It is served every sample it has not judged yet, oldest
first, with the problem's tests and entry point (:class:`~crlhf.schemas.MachineTask`);
never a honeypot unless ``Settings.machine_honeypots`` (see that setting for why), never
gold, never another annotator's votes. Its assignments do not count towards a sample's
``n_served``, so machines never take a person's place under the routing cap. Its votes go
through the same :func:`server.submissions.accept` as a person's, with ``partial`` on: a
line it leaves out is an abstention.

After each machine submission the sample's human target is recomputed from the machine
votes alone (:func:`refresh_target`, rule in :func:`server.task_routing.human_target`);
a refit, which relearns the machines' reliabilities, recomputes every target
(:func:`refresh_all_targets`).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable

from crlhf_server.engine_state import effective_engine
from crlhf_server.submissions import accept
from crlhf_server.task_routing import RoutingPolicy, human_target
from crlhf_server.views import parse_time

from crlhf.engine.config import EngineConfig
from crlhf.engine.incremental import AnnotatorState, SampleVote, sample_consensus
from crlhf.schemas import (
    MachineProblemView,
    MachineSubmission,
    MachineTask,
    SubmissionReceipt,
    split_code,
)

_COLUMNS = (
    "s.id AS sample_id, s.code AS code, p.id AS problem_id, p.title AS title, "
    "p.description AS description, p.entry_point AS entry_point, p.tests AS tests, "
    "p.prompt AS prompt, p.language AS language, a.served_at AS served_at"
)


def _task(row: sqlite3.Row) -> MachineTask:
    return MachineTask(
        sample_id=row["sample_id"],
        problem=MachineProblemView(
            id=row["problem_id"],
            title=row["title"],
            description=row["description"],
            entry_point=row["entry_point"],
            tests=row["tests"] or "",
            prompt=row["prompt"],
            language=row["language"],
        ),
        code=row["code"],
        lines=split_code(row["code"]),
        served_at=parse_time(row["served_at"]),
    )


def _load(
    conn: sqlite3.Connection, machine_id: int, where: str, params: tuple[object, ...]
) -> list[MachineTask]:
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM assignments a JOIN samples s ON s.id = a.sample_id "
        f"JOIN problems p ON p.id = s.problem_id WHERE a.annotator_id = ? AND {where} "
        "ORDER BY a.served_at, s.seq",
        (machine_id, *params),
    ).fetchall()
    return [_task(r) for r in rows]


def next_tasks(
    conn: sqlite3.Connection, machine_id: int, count: int, *, honeypots: bool, now: str
) -> list[MachineTask]:
    """Up to ``count`` samples the machine has not judged, open ones first. Call inside
    a write. Assignments are recorded (so a submission is accepted) without touching
    ``n_served`` (the people's routing cap)."""
    pending = _load(conn, machine_id, "a.submitted = 0 AND a.skipped_at IS NULL", ())[:count]
    wanted = count - len(pending)
    if wanted <= 0:
        return pending
    picked = [
        str(r[0])
        for r in conn.execute(
            "SELECT s.id FROM samples s WHERE (? OR s.is_honeypot = 0) AND NOT EXISTS "
            "(SELECT 1 FROM assignments a WHERE a.annotator_id = ? AND a.sample_id = s.id) "
            "AND (s.author_id IS NULL OR s.author_id <> ?) AND s.archived_at IS NULL "
            "ORDER BY s.seq LIMIT ?",
            (int(honeypots), machine_id, machine_id, wanted),
        )
    ]
    conn.executemany(
        "INSERT INTO assignments (annotator_id, sample_id, served_at) VALUES (?, ?, ?)",
        [(machine_id, sample_id, now) for sample_id in picked],
    )
    if picked:
        marks = ",".join("?" * len(picked))
        fresh = _load(conn, machine_id, f"a.sample_id IN ({marks})", tuple(picked))
        order = {sample_id: i for i, sample_id in enumerate(picked)}
        pending.extend(sorted(fresh, key=lambda t: order[t.sample_id]))
    return pending


def submit(
    conn: sqlite3.Connection,
    engine: EngineConfig,
    policy: RoutingPolicy,
    machine_id: int,
    submission: MachineSubmission,
    *,
    now: str,
) -> SubmissionReceipt:
    """Accept a machine's votes (any subset of the judged lines) and update the sample's
    human target. Call inside a write."""
    receipt = accept(conn, engine, machine_id, submission, now=now, partial=True)
    refresh_target(conn, engine, policy, submission.sample_id)
    return receipt


def _machine_votes(conn: sqlite3.Connection, sample_id: str) -> list[SampleVote]:
    return [
        SampleVote(annotator=int(r[0]), line=int(r[1]), vote=int(r[2]))
        for r in conn.execute(
            "SELECT s.annotator_id, v.line, v.label FROM submissions s "
            "JOIN votes v ON v.submission = s.id JOIN annotators a ON a.id = s.annotator_id "
            "WHERE s.sample_id = ? AND s.is_current = 1 AND a.kind = 'machine'",
            (sample_id,),
        )
    ]


def refresh_target(
    conn: sqlite3.Connection, engine: EngineConfig, policy: RoutingPolicy, sample_id: str
) -> int | None:
    """Recompute and store one sample's human target from its machine votes alone."""
    row = conn.execute(
        "SELECT judged_lines, is_honeypot FROM samples WHERE id = ?", (sample_id,)
    ).fetchone()
    judged: list[int] = json.loads(row["judged_lines"])
    votes = _machine_votes(conn, sample_id)
    target: int | None = None
    if votes and judged and not row["is_honeypot"]:
        ids = sorted({v.annotator for v in votes})
        marks = ",".join("?" * len(ids))
        states = {
            int(r[0]): AnnotatorState.from_dict(json.loads(r[1]))
            for r in conn.execute(f"SELECT id, state FROM annotators WHERE id IN ({marks})", ids)
        }
        consensus = sample_consensus(effective_engine(conn, engine), judged, votes, states)
        by_line: dict[int, set[int]] = {}
        for v in votes:
            by_line.setdefault(v.line, set()).add(v.vote)
        disagree = any(len(labels) > 1 for labels in by_line.values())
        target = human_target(consensus.posteriors.values(), disagree, policy)
    conn.execute("UPDATE samples SET human_target = ? WHERE id = ?", (target, sample_id))
    return target


def refresh_all_targets(
    conn: sqlite3.Connection, engine: EngineConfig, policy: RoutingPolicy
) -> int:
    """Recompute the human target of every sample a machine voted on (after a refit moved
    the machines' reliabilities); returns how many samples have a target."""
    ids: Iterable[str] = [
        str(r[0])
        for r in conn.execute(
            "SELECT DISTINCT s.sample_id FROM submissions s "
            "JOIN annotators a ON a.id = s.annotator_id "
            "WHERE a.kind = 'machine' AND s.is_current = 1"
        )
    ]
    return sum(refresh_target(conn, engine, policy, sample_id) is not None for sample_id in ids)
