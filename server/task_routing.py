"""Task routing: which sample an annotator gets next.

1. Warm-up: an annotator's first q tasks are honeypots, so their reliability is measured
   before their votes weigh much.
2. After that a task is a honeypot with probability ``honeypot_rate`` (reliability keeps
   being checked); honeypots go least-served first.
3. Otherwise the ordinary sample whose lines are least certain: the highest summed binary
   entropy of its current line posteriors, among samples served to fewer people than
   their human target (:func:`human_target`: ``max_annotators_per_sample``, fewer when
   machine annotators already settle every line, more when they disagree). Unvoted
   samples (every line at the prior) come first, and a sample the crowd agrees on sinks.

An annotator never gets a sample twice. Tasks served but not yet submitted (nor skipped,
see :mod:`server.skips`) are handed out again first, so a client that lost its prefetch
gets them back.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from crlhf_server import views
from crlhf_server.settings import Settings

from crlhf.schemas import Task


def binary_entropy(p: float) -> float:
    """H(p) in nats; 0 at p = 0 or 1."""
    if p <= 0.0 or p >= 1.0:
        return 0.0
    return -(p * math.log(p) + (1.0 - p) * math.log1p(-p))


def summed_entropy(posteriors: Iterable[float]) -> float:
    """Σ_l H(P(line l correct)): how much the crowd still does not know about a sample."""
    return sum(binary_entropy(p) for p in posteriors)


@dataclass(frozen=True)
class RoutingPolicy:
    warmup_honeypots: int
    honeypot_rate: float
    max_annotators_per_sample: int
    honeypot_max_annotators: int | None = None
    """Rotation: a honeypot is shown to at most this many annotators, then retired
    (None: no limit)."""
    machine_confident_humans: int = 1
    """People a sample needs when its machine votes alone give every judged line a
    posterior of at least ``target_confidence`` either way (see :func:`human_target`)."""
    machine_disagreement_humans: int = 1
    """People a sample gets beyond ``max_annotators_per_sample`` when machine annotators
    vote both ways on one of its lines."""
    target_confidence: float = 0.95

    @classmethod
    def from_settings(cls, settings: Settings) -> RoutingPolicy:
        return cls(
            settings.warmup_honeypots,
            settings.honeypot_rate,
            settings.max_annotators_per_sample,
            settings.honeypot_max_annotators,
            machine_confident_humans=settings.machine_confident_humans,
            machine_disagreement_humans=settings.machine_disagreement_humans,
            target_confidence=settings.target_confidence,
        )


def human_target(
    machine_posteriors: Iterable[float], machines_disagree: bool, policy: RoutingPolicy
) -> int | None:
    """How many people a sample should be served to, given its machine votes alone.

    ``machine_posteriors``: each judged line's posterior from the machine annotators'
    votes only (eq. 7 with their learnt reliabilities; a line no machine voted on sits at
    the prior). Every line confident either way: ``machine_confident_humans`` (people
    still check what the machines settled, at a fraction of the cost). Machines voting
    both ways on a line: ``max_annotators_per_sample + machine_disagreement_humans``.
    Otherwise None: the policy's ``max_annotators_per_sample``, as without machines.
    """
    if machines_disagree:
        return policy.max_annotators_per_sample + policy.machine_disagreement_humans
    values = list(machine_posteriors)
    if values and all(max(p, 1.0 - p) >= policy.target_confidence for p in values):
        return min(policy.machine_confident_humans, policy.max_annotators_per_sample)
    return None


_TASK_COLUMNS = (
    "s.id AS sample_id, s.code AS code, p.id AS problem_id, p.title AS title, "
    "p.description AS description"
)

_UNSEEN = "NOT EXISTS (SELECT 1 FROM assignments a WHERE a.annotator_id = ? AND a.sample_id = s.id)"

_NOT_OWN = "(s.author_id IS NULL OR s.author_id <> ?)"
"""Nobody is served a sample they wrote (``SampleIn.author_id``)."""

_OPEN = "a.submitted = 0 AND a.skipped_at IS NULL"
"""An assignment still waiting for the annotator's judgement."""


def _pick_honeypot(conn: sqlite3.Connection, annotator_id: int, cap: int | None) -> str | None:
    row = conn.execute(
        f"SELECT s.id FROM samples s WHERE s.is_honeypot = 1 AND {_UNSEEN} AND {_NOT_OWN} "
        "AND (? IS NULL OR s.n_served < ?) ORDER BY s.n_served, s.seq LIMIT 1",
        (annotator_id, annotator_id, cap, cap),
    ).fetchone()
    return None if row is None else str(row[0])


def _pick_uncertain(conn: sqlite3.Connection, annotator_id: int, cap: int) -> str | None:
    row = conn.execute(
        # Walk the routing index in uncertainty order and stop at the first open, unseen
        # sample; left alone, the planner prefers the n_served range and sorts every open
        # sample instead (milliseconds per pick on 5,000 samples, microseconds this way).
        "SELECT s.id FROM samples s INDEXED BY samples_routing "
        f"WHERE s.is_honeypot = 0 AND s.n_served < COALESCE(s.human_target, ?) "
        f"AND {_UNSEEN} AND {_NOT_OWN} "
        "ORDER BY s.uncertainty DESC, s.seq LIMIT 1",
        (cap, annotator_id, annotator_id),
    ).fetchone()
    return None if row is None else str(row[0])


def _load_tasks(
    conn: sqlite3.Connection, annotator_id: int, where: str, params: tuple[object, ...]
) -> list[Task]:
    rows = conn.execute(
        f"SELECT {_TASK_COLUMNS}, a.served_at AS served_at FROM assignments a "
        "JOIN samples s ON s.id = a.sample_id JOIN problems p ON p.id = s.problem_id "
        f"WHERE a.annotator_id = ? AND {where} ORDER BY a.served_at, s.seq",
        (annotator_id, *params),
    ).fetchall()
    return [views.task(row) for row in rows]


def next_tasks(
    conn: sqlite3.Connection,
    annotator_id: int,
    count: int,
    policy: RoutingPolicy,
    *,
    rolls: Sequence[float],
    now: str,
) -> list[Task]:
    """Serve up to ``count`` tasks, recording each new assignment. Call inside a write.

    ``rolls`` holds one uniform [0, 1) number per task (for the steady honeypot rate),
    passed in so the function itself is deterministic.
    """
    pending = _load_tasks(conn, annotator_id, _OPEN, ())[:count]
    served_before = conn.execute(
        "SELECT tasks_served FROM annotators WHERE id = ?", (annotator_id,)
    ).fetchone()[0]
    picked: list[str] = []
    for i in range(count - len(pending)):
        honeypot_first = (
            served_before + i < policy.warmup_honeypots or rolls[i] < policy.honeypot_rate
        )
        cap = policy.max_annotators_per_sample
        if honeypot_first:
            sample_id = _pick_honeypot(
                conn, annotator_id, policy.honeypot_max_annotators
            ) or _pick_uncertain(conn, annotator_id, cap)
        else:
            sample_id = _pick_uncertain(conn, annotator_id, cap) or _pick_honeypot(
                conn, annotator_id, policy.honeypot_max_annotators
            )
        if sample_id is None:
            break
        conn.execute(
            "INSERT INTO assignments (annotator_id, sample_id, served_at) VALUES (?, ?, ?)",
            (annotator_id, sample_id, now),
        )
        conn.execute("UPDATE samples SET n_served = n_served + 1 WHERE id = ?", (sample_id,))
        picked.append(sample_id)
    if picked:
        conn.execute(
            "UPDATE annotators SET tasks_served = tasks_served + ? WHERE id = ?",
            (len(picked), annotator_id),
        )
        marks = ",".join("?" * len(picked))
        fresh = _load_tasks(conn, annotator_id, f"a.sample_id IN ({marks})", tuple(picked))
        order = {sample_id: i for i, sample_id in enumerate(picked)}
        pending.extend(sorted(fresh, key=lambda t: order[t.sample_id]))
    return pending
