"""Quality control on the server: the pause policy, its action log, lazy report, agreement.

The math lives in :mod:`crlhf.quality`; this module feeds it from the database and writes
its verdicts back. Evidence counts only what an annotator did since their last
reinstatement (gold lines, submissions), so a reinstated annotator starts with a clean
slate and the policy's minimum evidence applies again. Every pause and reinstatement is
logged in ``quality_actions`` with who did it (``policy`` or ``admin:<name>``) and why.
A paused annotator's token answers 403 ``annotator_paused`` with the reason (server/auth.py).

Call the writing functions inside ``Store.write()``.
"""

from __future__ import annotations

import json
import logging
import math
import sqlite3
from dataclasses import dataclass

import numpy as np
from crlhf_server.settings import Settings
from crlhf_server.views import parse_time

from crlhf.engine.votes import VoteSet
from crlhf.errors import AnnotatorNotFound, Conflict, EmptyVoteSet
from crlhf.quality.agreement import fleiss_kappa, krippendorff_alpha, pairwise_agreement
from crlhf.quality.lazy import LazyReport, SubmissionStats, detect_lazy
from crlhf.quality.policy import Action, GoldEvidence, PolicyConfig, PolicyDecision, decide
from crlhf.schemas import (
    AgreementReport,
    AnnotatorQuality,
    PairwiseAgreement,
    QualityAction,
    QualityActionKind,
    Role,
)

logger = logging.getLogger(__name__)

POLICY_ACTOR = "policy"


def policy_config(settings: Settings) -> PolicyConfig:
    return PolicyConfig(
        min_gold_lines=settings.pause_min_gold_lines,
        min_gold_wrong=settings.pause_min_gold_wrong,
        pause_below=settings.pause_below,
        downweight_below=max(PolicyConfig().downweight_below, settings.pause_below),
    )


@dataclass(frozen=True)
class _Assessment:
    rows: list[sqlite3.Row]
    """Every annotator's row (admins too: they annotate), in index order."""
    decision: PolicyDecision
    lazy: LazyReport


def _annotators(conn: sqlite3.Connection) -> list[sqlite3.Row]:
    """People only: machine annotators are neither paused nor judged lazy (their votes
    are weighed by the engine, and a checker that abstains is not a lazy person)."""
    return conn.execute(
        "SELECT id, name, role, paused_at, pause_reason, reinstated_at FROM annotators "
        "WHERE kind = 'human' ORDER BY id"
    ).fetchall()


def _since(rows: list[sqlite3.Row]) -> tuple[dict[int, int], dict[int, str]]:
    index = {int(r["id"]): i for i, r in enumerate(rows)}
    since = {int(r["id"]): str(r["reinstated_at"]) for r in rows if r["reinstated_at"]}
    return index, since


def _gold_evidence(conn: sqlite3.Connection, rows: list[sqlite3.Row]) -> GoldEvidence:
    index, since = _since(rows)
    gold = {
        str(r["id"]): json.loads(r["gold"])
        for r in conn.execute("SELECT id, gold FROM samples WHERE is_honeypot = 1")
    }
    counts = np.zeros((4, len(rows)), dtype=np.int64)
    for r in conn.execute(
        "SELECT s.annotator_id, s.sample_id, s.created_at, v.line, v.label FROM submissions s "
        "JOIN samples p ON p.id = s.sample_id JOIN votes v ON v.submission = s.id "
        "WHERE s.is_current = 1 AND p.is_honeypot = 1"
    ):
        who = index.get(int(r[0]))
        if who is None or r[2] <= since.get(int(r[0]), ""):
            continue
        truth = int(gold[str(r[1])].get(str(r[3]), 0))
        if truth == 0:
            continue
        row = 0 if truth > 0 else 2
        counts[row, who] += 1
        counts[row + 1, who] += int(r[4]) == truth
    return GoldEvidence(counts[0], counts[1], counts[2], counts[3])


def _submission_stats(conn: sqlite3.Connection, rows: list[sqlite3.Row]) -> SubmissionStats:
    index, since = _since(rows)
    ann: list[int] = []
    judged: list[int] = []
    wrong: list[int] = []
    duration: list[float] = []
    for r in conn.execute(
        "SELECT s.annotator_id, s.created_at, p.judged_count, s.duration_ms, "
        "SUM(v.label = -1) AS wrong FROM submissions s JOIN samples p ON p.id = s.sample_id "
        "JOIN votes v ON v.submission = s.id WHERE s.is_current = 1 GROUP BY s.id"
    ):
        who = index.get(int(r[0]))
        if who is None or r[1] <= since.get(int(r[0]), ""):
            continue
        ann.append(who)
        judged.append(int(r[2]))
        wrong.append(int(r[4]))
        duration.append(math.nan if r[3] is None else float(r[3]))
    return SubmissionStats.build(ann, judged, wrong, duration, n_annotators=len(rows))


def _assess(conn: sqlite3.Connection, settings: Settings) -> _Assessment:
    rows = _annotators(conn)
    lazy = detect_lazy(_submission_stats(conn, rows))
    decision = decide(_gold_evidence(conn, rows), policy_config(settings), lazy=lazy.flagged)
    return _Assessment(rows, decision, lazy)


def _finite(value: float) -> float | None:
    return None if math.isnan(value) else float(value)


def report(conn: sqlite3.Connection, settings: Settings) -> list[AnnotatorQuality]:
    """Every annotator as the policy sees them now, paused ones included."""
    a = _assess(conn, settings)
    out = []
    for i, row in enumerate(a.rows):
        paused = row["paused_at"] is not None
        reason = row["pause_reason"] if paused else a.decision.reason[i]
        if row["role"] == Role.ADMIN.value and a.decision.action[i] is Action.PAUSE:
            reason = f"admin, never paused by the policy: {reason}"
        out.append(
            AnnotatorQuality(
                annotator_id=row["id"],
                name=row["name"],
                action="pause" if paused else a.decision.action[i].value,
                reason=reason,
                balanced_accuracy=float(a.decision.balanced_accuracy[i]),
                gold_lines=int(a.decision.gold_lines[i]),
                submissions=int(a.lazy.n_submissions[i]),
                empty_share=_finite(a.lazy.empty_share[i]),
                crowd_empty_share=_finite(a.lazy.crowd_empty_share),
                fast_share=_finite(a.lazy.fast_share[i]),
                lazy=bool(a.lazy.flagged[i]),
                paused=paused,
                pause_reason=row["pause_reason"],
                paused_at=parse_time(row["paused_at"]) if paused else None,
            )
        )
    return out


def _log(
    conn: sqlite3.Connection,
    annotator_id: int,
    *,
    kind: QualityActionKind,
    reason: str,
    actor: str,
    now: str,
) -> QualityAction:
    cursor = conn.execute(
        "INSERT INTO quality_actions (annotator_id, action, reason, actor, created_at) "
        "VALUES (?, ?, ?, ?, ?)",
        (annotator_id, kind.value, reason, actor, now),
    )
    return QualityAction(
        id=int(cursor.lastrowid or 0),
        annotator_id=annotator_id,
        action=kind,
        reason=reason,
        actor=actor,
        created_at=parse_time(now),
    )


def evaluate(
    conn: sqlite3.Connection, settings: Settings, now: str, *, only: int | None = None
) -> list[QualityAction]:
    """Pause every annotator (or only ``only``) the policy says to pause; log each pause."""
    a = _assess(conn, settings)
    taken = []
    for i, row in enumerate(a.rows):
        if only is not None and row["id"] != only:
            continue
        if row["role"] == Role.ADMIN.value:
            continue  # reported, never paused: a paused admin could not reinstate anyone
        if row["paused_at"] is None and a.decision.action[i] is Action.PAUSE:
            reason = a.decision.reason[i]
            conn.execute(
                "UPDATE annotators SET paused_at = ?, pause_reason = ? WHERE id = ?",
                (now, reason, row["id"]),
            )
            taken.append(
                _log(
                    conn,
                    row["id"],
                    kind=QualityActionKind.PAUSE,
                    reason=reason,
                    actor=POLICY_ACTOR,
                    now=now,
                )
            )
            logger.info("paused annotator %s: %s", row["id"], reason)
    return taken


def reinstate(
    conn: sqlite3.Connection, annotator_id: int, actor: str, reason: str | None, now: str
) -> QualityAction:
    """Lift a pause; evidence from before now no longer counts."""
    row = conn.execute("SELECT paused_at FROM annotators WHERE id = ?", (annotator_id,)).fetchone()
    if row is None:
        raise AnnotatorNotFound(f"no annotator {annotator_id}")
    if row["paused_at"] is None:
        raise Conflict(f"annotator {annotator_id} is not paused")
    conn.execute(
        "UPDATE annotators SET paused_at = NULL, pause_reason = NULL, reinstated_at = ? "
        "WHERE id = ?",
        (now, annotator_id),
    )
    return _log(
        conn,
        annotator_id,
        kind=QualityActionKind.REINSTATE,
        reason=reason or "reinstated",
        actor=actor,
        now=now,
    )


def actions(conn: sqlite3.Connection, annotator_id: int | None = None) -> list[QualityAction]:
    where, params = ("WHERE annotator_id = ?", (annotator_id,)) if annotator_id else ("", ())
    rows = conn.execute(f"SELECT * FROM quality_actions {where} ORDER BY id", params)
    return [
        QualityAction(
            id=r["id"],
            annotator_id=r["annotator_id"],
            action=QualityActionKind(r["action"]),
            reason=r["reason"],
            actor=r["actor"],
            created_at=parse_time(r["created_at"]),
        )
        for r in rows
    ]


def agreement(
    conn: sqlite3.Connection, problem_id: str | None = None, round_: int | None = None
) -> AgreementReport:
    """Krippendorff's alpha, Fleiss' kappa and pairwise agreement of the current votes on
    non-honeypot samples of a problem, a generation round, or everything. People's votes
    only: machine annotators' votes would make the crowd look more (or less) agreed."""
    where, params = "s.is_current = 1 AND p.is_honeypot = 0 AND a.kind = 'human'", list[object]()
    if problem_id is not None:
        where += " AND p.problem_id = ?"
        params.append(problem_id)
    if round_ is not None:
        where += " AND p.round = ?"
        params.append(round_)
    rows = conn.execute(
        "SELECT s.sample_id, v.line, s.annotator_id, v.label FROM submissions s "
        "JOIN samples p ON p.id = s.sample_id JOIN votes v ON v.submission = s.id "
        f"JOIN annotators a ON a.id = s.annotator_id WHERE {where}",
        params,
    ).fetchall()
    lines: dict[tuple[str, int], int] = {}
    people: dict[int, int] = {}
    for r in rows:
        lines.setdefault((r[0], r[1]), len(lines))
        people.setdefault(int(r[2]), len(people))
    report = AgreementReport(
        problem_id=problem_id,
        round=round_,
        n_lines=len(lines),
        n_votes=len(rows),
        krippendorff_alpha=None,
        fleiss_kappa=None,
    )
    if not rows:
        return report
    votes = VoteSet.build(
        [lines[(r[0], r[1])] for r in rows],
        [people[int(r[2])] for r in rows],
        [r[3] for r in rows],
        n_lines=len(lines),
        n_annotators=len(people),
    )
    names = {
        int(r[0]): str(r[1]) for r in conn.execute("SELECT id, name FROM annotators").fetchall()
    }
    share = pairwise_agreement(votes)
    report.pairwise = [
        PairwiseAgreement(annotator_id=a, name=names.get(a, ""), agreement=_finite(share[i]))
        for a, i in sorted(people.items())
    ]
    try:
        report.krippendorff_alpha = krippendorff_alpha(votes)
        report.fleiss_kappa = fleiss_kappa(votes)
    except EmptyVoteSet:
        pass  # undefined (a single vote per line, or one category only): reported as None
    return report
