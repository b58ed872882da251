"""Task routing: which sample an annotator gets next.

1. Warm-up: q of an annotator's first W tasks are honeypots, at random places (each slot
   of the window is a honeypot with probability r / n, r honeypots still due, n slots
   left), so their reliability is measured before their votes weigh much and yet the
   served order does not say which tasks were honeypots. A skipped task gives its slot
   back (:mod:`server.skips`) and a skipped honeypot does not count toward q, so it is
   replaced; skips during the window are limited (``warmup_max_skips``) so a walker that
   skips everything cannot page through the honeypots.
2. After that a task is a honeypot with probability ``honeypot_rate`` (reliability keeps
   being checked). Each pick is a random honeypot among those the annotator may get, so
   no two annotators see the same list (rotation still retires a honeypot after
   ``honeypot_max_annotators``).
3. Otherwise the ordinary sample whose reward is least certain: the highest posterior
   standard deviation of s = c / k from its current line posteriors
   (:func:`sample_uncertainty`), among samples not settled (``settled_min_annotators``)
   and served to fewer people than their human target (:func:`human_target`:
   ``max_annotators_per_sample``, fewer when machine annotators already settle every
   line, more when they disagree). An unvoted sample comes before any voted one of its
   length (shorter ones first), and a sample the crowd agrees on sinks.
   Imported samples go before the bundled starter set (``samples.starter``), so a team's
   own data is never buried.

An annotator never gets a sample twice, and never two close variants of one problem's
code (at most ``honeypot_variant_lines`` lines apart) when either is a honeypot: a one-line mutant
next to its reference, or two mutants of one reference, would show the planted line by a
plain diff. Tasks served but not yet submitted (nor skipped) are handed out again first,
so a client that lost its prefetch gets them back.
"""

from __future__ import annotations

import math
import random
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass

from crlhf_server import views
from crlhf_server.leases import OPEN_LEASE
from crlhf_server.settings import Settings

from crlhf.schemas import Task, split_code

PICK_TRIES = 16
"""Candidates looked at per pick before giving up on one kind (variants are rare)."""


def reward_sd(posteriors: Iterable[float]) -> float:
    """The posterior standard deviation of the reward s = c / k, √(Σ_l p_l (1 − p_l)) / k,
    taking lines as independent: how far the next votes may still move s (0 for no
    lines)."""
    values = list(posteriors)
    return math.sqrt(sum(p * (1.0 - p) for p in values)) / len(values) if values else 0.0


def sample_uncertainty(posteriors: Iterable[float]) -> float:
    """What the router ranks samples by (stored as ``samples.uncertainty``): the posterior
    standard deviation of the reward, :func:`reward_sd`. The summed line entropy it
    replaced put long samples first (an unvoted 20-line sample outranked a 5-line one
    judged once) and spent votes on their settled lines; the reward is what training
    consumes, so the next vote goes where it can still move s most. Measured in
    ``benchmarks/routing.py`` (docs/server.md, *Task routing*) against the summed and
    mean line entropy and the least certain line."""
    return reward_sd(posteriors)


def expected_accuracy(posteriors: Iterable[float]) -> float:
    """Mean over judged lines of max(P, 1 − P): the share of the sample's lines its
    consensus labels right, if the posteriors are calibrated (0.5 for no lines).

    1 minus it bounds the expected error of the reward s = c / k, so a sample at 0.97 is
    expected to be off by at most 0.03 in s and in line accuracy. Unlike "every line
    confident" (the webhook's ``target_confidence``), one stubborn line out of ten does
    not keep a sample open: on simulated crowds most samples never get every line to
    0.95 within 7 people, while their consensus is already as right as the targets ask.
    """
    values = [max(p, 1.0 - p) for p in posteriors]
    return sum(values) / len(values) if values else 0.5


@dataclass(frozen=True)
class RoutingPolicy:
    warmup_honeypots: int
    honeypot_rate: float
    max_annotators_per_sample: int
    honeypot_max_annotators: int | None = None
    """Rotation: a honeypot is shown to at most this many annotators, then retired
    (None: no limit)."""
    warmup_window: int | None = None
    """W (None: W = q, the honeypots first)."""
    variant_lines: int = 0
    """Codes at most this many lines apart are close variants (0: no separation)."""
    machine_confident_humans: int = 1
    """People a sample needs when its machine votes alone give every judged line a
    posterior of at least ``target_confidence`` either way (see :func:`human_target`)."""
    machine_disagreement_humans: int = 1
    """People a sample gets beyond ``max_annotators_per_sample`` when machine annotators
    vote both ways on one of its lines."""
    target_confidence: float = 0.95
    settled_min_annotators: int | None = None
    """A sample served to at least this many people whose :func:`expected_accuracy` is
    at least ``settled_accuracy`` is served to nobody more (None: every sample goes to
    its full target)."""
    settled_accuracy: float = 0.97

    @classmethod
    def from_settings(cls, settings: Settings) -> RoutingPolicy:
        return cls(
            settings.warmup_honeypots,
            settings.honeypot_rate,
            settings.max_annotators_per_sample,
            settings.honeypot_max_annotators,
            settings.warmup_window,
            settings.honeypot_variant_lines,
            machine_confident_humans=settings.machine_confident_humans,
            machine_disagreement_humans=settings.machine_disagreement_humans,
            target_confidence=settings.target_confidence,
            settled_min_annotators=settings.settled_min_annotators,
            settled_accuracy=settings.settled_accuracy,
        )

    @property
    def window(self) -> int:
        return max(self.warmup_window or 0, self.warmup_honeypots)

    def honeypot_chance(self, slot: int, due: int) -> float:
        """Probability that the task in ``slot`` (0-based, skips not counted) is a
        honeypot, with ``due`` warm-up honeypots still to serve."""
        left = self.window - slot
        warmup = due / left if left > 0 and due > 0 else 0.0
        return max(warmup, self.honeypot_rate)


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
    "p.description AS description, p.tests AS tests, p.language AS language"
)

_UNSEEN = "NOT EXISTS (SELECT 1 FROM assignments a WHERE a.annotator_id = ? AND a.sample_id = s.id)"

_NOT_OWN = "(s.author_id IS NULL OR s.author_id <> ?)"
"""Nobody is served a sample they wrote (``SampleIn.author_id``)."""

_OPEN = f"a.submitted = 0 AND a.skipped_at IS NULL AND {OPEN_LEASE} AND s.archived_at IS NULL"
"""An assignment still waiting for the annotator's judgement (archived samples and expired
leases drop out, see :mod:`server.leases`)."""

_UNSETTLED = "(? IS NULL OR s.n_served < ? OR s.confidence < ?)"
"""Not yet settled: fewer people than ``settled_min_annotators``, or an expected accuracy
below ``settled_accuracy``."""


def _unsettled_params(policy: RoutingPolicy) -> tuple[object, ...]:
    n = policy.settled_min_annotators
    return (n, n, policy.settled_accuracy)


_LIVE = "s.archived_at IS NULL"
"""Archived samples (``crlhf admin samples archive``) are never served."""


def close_variants(a: str, b: str, lines: int) -> bool:
    """Same number of lines, at most ``lines`` of them different."""
    left, right = split_code(a), split_code(b)
    if len(left) != len(right):
        return False
    differ = sum(x.text.strip() != y.text.strip() for x, y in zip(left, right, strict=True))
    return differ <= lines


def _shows_a_variant(
    conn: sqlite3.Connection, annotator_id: int, sample_id: str, lines: int
) -> bool:
    """Whether serving ``sample_id`` would put it beside a close variant the annotator was
    already served, with a honeypot on either side."""
    if lines <= 0:
        return False
    candidate = conn.execute(
        "SELECT problem_id, code, is_honeypot FROM samples WHERE id = ?", (sample_id,)
    ).fetchone()
    # The problem's samples served to the annotator (only honeypots, unless the candidate
    # is one): index lookups bounded by the problem's samples, not the annotator's history.
    served = conn.execute(
        "SELECT s.code FROM samples s WHERE s.problem_id = ? AND (s.is_honeypot = 1 OR ?) "
        "AND EXISTS (SELECT 1 FROM assignments a WHERE a.annotator_id = ? AND a.sample_id = s.id)",
        (candidate["problem_id"], candidate["is_honeypot"], annotator_id),
    )
    return any(close_variants(code, candidate["code"], lines) for (code,) in served)


def _pick_honeypot(
    conn: sqlite3.Connection, annotator_id: int, policy: RoutingPolicy, rng: random.Random
) -> str | None:
    """A random honeypot the annotator may get: not seen, not theirs, not retired, not
    archived, no close variant of what they saw."""
    eligible = (
        f"FROM samples s WHERE s.is_honeypot = 1 AND {_UNSEEN} AND {_NOT_OWN} AND {_LIVE} "
        "AND (? IS NULL OR s.n_served < ?)"
    )
    cap = policy.honeypot_max_annotators
    params = (annotator_id, annotator_id, cap, cap)
    (n,) = conn.execute(f"SELECT COUNT(*) {eligible}", params).fetchone()
    if not n:
        return None
    start = rng.randrange(n)
    for k in range(min(n, PICK_TRIES)):
        row = conn.execute(
            f"SELECT s.id {eligible} ORDER BY s.seq LIMIT 1 OFFSET ?", (*params, (start + k) % n)
        ).fetchone()
        if not _shows_a_variant(conn, annotator_id, str(row[0]), policy.variant_lines):
            return str(row[0])
    return None


def _pick_uncertain(
    conn: sqlite3.Connection, annotator_id: int, policy: RoutingPolicy
) -> str | None:
    """The most uncertain open sample, the team's own before the bundled starter set."""
    return _pick_uncertain_of(conn, annotator_id, policy, starter=0) or _pick_uncertain_of(
        conn, annotator_id, policy, starter=1
    )


def _pick_uncertain_of(
    conn: sqlite3.Connection, annotator_id: int, policy: RoutingPolicy, *, starter: int
) -> str | None:
    rows = conn.execute(
        # Walk the routing index in uncertainty order and stop at the first open, unseen
        # samples; left alone, the planner prefers the n_served range and sorts every open
        # sample instead (milliseconds per pick on 5,000 samples, microseconds this way).
        "SELECT s.id FROM samples s INDEXED BY samples_routing "
        f"WHERE s.is_honeypot = 0 AND s.n_served < COALESCE(s.human_target, ?) "
        f"AND {_UNSETTLED} AND {_UNSEEN} AND {_NOT_OWN} "
        f"AND {_LIVE} AND s.starter = ? ORDER BY s.uncertainty DESC, s.seq LIMIT ?",
        (
            policy.max_annotators_per_sample,
            *_unsettled_params(policy),
            annotator_id,
            annotator_id,
            starter,
            PICK_TRIES,
        ),
    )
    for (sample_id,) in rows:
        if not _shows_a_variant(conn, annotator_id, str(sample_id), policy.variant_lines):
            return str(sample_id)
    return None


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


def _warmup_due(conn: sqlite3.Connection, annotator_id: int, policy: RoutingPolicy) -> int:
    """Warm-up honeypots still to serve: q minus those served and not skipped."""
    (served,) = conn.execute(
        "SELECT COUNT(*) FROM assignments a JOIN samples s ON s.id = a.sample_id "
        "WHERE a.annotator_id = ? AND s.is_honeypot = 1 AND a.skipped_at IS NULL",
        (annotator_id,),
    ).fetchone()
    return max(0, policy.warmup_honeypots - int(served))


def next_tasks(
    conn: sqlite3.Connection,
    annotator_id: int,
    count: int,
    policy: RoutingPolicy,
    *,
    rng: random.Random,
    now: str,
) -> list[Task]:
    """Serve up to ``count`` tasks, recording each new assignment. Call inside a write.

    ``rng`` draws the honeypot slots and picks; passed in (seeded in tests) so the
    function is deterministic.
    """
    pending = _load_tasks(conn, annotator_id, _OPEN, ())[:count]
    served_before = conn.execute(
        "SELECT tasks_served FROM annotators WHERE id = ?", (annotator_id,)
    ).fetchone()[0]
    in_window = served_before < policy.window
    due = _warmup_due(conn, annotator_id, policy) if in_window else 0
    picked: list[str] = []
    for i in range(count - len(pending)):
        honeypot_first = rng.random() < policy.honeypot_chance(served_before + i, due)
        honeypot = ordinary = None
        if honeypot_first:
            honeypot = _pick_honeypot(conn, annotator_id, policy, rng)
            ordinary = None if honeypot else _pick_uncertain(conn, annotator_id, policy)
        else:
            ordinary = _pick_uncertain(conn, annotator_id, policy)
            honeypot = None if ordinary else _pick_honeypot(conn, annotator_id, policy, rng)
        sample_id = honeypot or ordinary
        if sample_id is None:
            break
        due -= honeypot is not None
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


def tasks_left(conn: sqlite3.Connection, annotator_id: int, policy: RoutingPolicy) -> int:
    """How many tasks :func:`next_tasks` could still serve ``annotator_id`` now: open ones
    plus unseen samples with a free slot. An upper bound, since others take slots too."""
    row = conn.execute(
        "SELECT (SELECT COUNT(*) FROM assignments a JOIN samples s ON s.id = a.sample_id "
        f"WHERE a.annotator_id = ? AND {_OPEN}) + "
        f"(SELECT COUNT(*) FROM samples s WHERE {_UNSEEN} AND {_NOT_OWN} AND {_LIVE} AND ("
        f"(s.is_honeypot = 0 AND s.n_served < COALESCE(s.human_target, ?) AND {_UNSETTLED}) "
        "OR (s.is_honeypot = 1 AND (? IS NULL OR s.n_served < ?))))",
        (
            annotator_id,
            annotator_id,
            annotator_id,
            policy.max_annotators_per_sample,
            *_unsettled_params(policy),
            policy.honeypot_max_annotators,
            policy.honeypot_max_annotators,
        ),
    ).fetchone()
    return int(row[0])
