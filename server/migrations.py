"""Numbered schema migrations (sqlite-utils ``Migrations``), applied at every start.

Never edit a migration that has shipped: add ``m00N_...`` below it. Each runs in its own
transaction together with the record that it ran.

The schema keeps history so any past reward can be explained: every submission revision
(``submissions.is_current`` marks the latest), every line vote of every revision, every
reliability snapshot and every reward a sample had.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import sqlite_utils
from crlhf_server.db import Store
from sqlite_utils.migrations import Migrations

migrations = Migrations("crlhf-server")

_M001 = [
    """CREATE TABLE annotators (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        role TEXT NOT NULL CHECK (role IN ('annotator', 'admin')),
        active INTEGER NOT NULL DEFAULT 1,
        token_hash TEXT NOT NULL UNIQUE,
        state TEXT NOT NULL,
        reliability REAL NOT NULL,
        shown_reliability REAL NOT NULL,
        tasks_served INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL
    )""",
    """CREATE TABLE problems (
        id TEXT PRIMARY KEY,
        title TEXT NOT NULL,
        description TEXT NOT NULL,
        entry_point TEXT,
        tests TEXT,
        reference_solution TEXT,
        created_at TEXT NOT NULL
    )""",
    """CREATE TABLE samples (
        seq INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        problem_id TEXT NOT NULL REFERENCES problems(id),
        code TEXT NOT NULL,
        meta TEXT NOT NULL,
        round INTEGER,
        judged_lines TEXT NOT NULL,
        gold TEXT,
        is_honeypot INTEGER NOT NULL,
        posteriors TEXT NOT NULL DEFAULT '{}',
        reward REAL,
        correct_lines INTEGER NOT NULL DEFAULT 0,
        judged_count INTEGER NOT NULL,
        n_votes INTEGER NOT NULL DEFAULT 0,
        n_annotators INTEGER NOT NULL DEFAULT 0,
        n_served INTEGER NOT NULL DEFAULT 0,
        uncertainty REAL NOT NULL,
        created_at TEXT NOT NULL
    )""",
    "CREATE INDEX samples_routing ON samples (is_honeypot, uncertainty DESC, seq)",
    "CREATE INDEX samples_honeypots ON samples (is_honeypot, n_served, seq)",
    "CREATE INDEX samples_problem ON samples (problem_id)",
    """CREATE TABLE assignments (
        annotator_id INTEGER NOT NULL REFERENCES annotators(id),
        sample_id TEXT NOT NULL REFERENCES samples(id),
        served_at TEXT NOT NULL,
        submitted INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (annotator_id, sample_id)
    ) WITHOUT ROWID""",
    "CREATE INDEX assignments_open ON assignments (annotator_id, submitted)",
    """CREATE TABLE submissions (
        id INTEGER PRIMARY KEY,
        submission_id TEXT NOT NULL UNIQUE,
        annotator_id INTEGER NOT NULL REFERENCES annotators(id),
        sample_id TEXT NOT NULL REFERENCES samples(id),
        revision INTEGER NOT NULL,
        is_current INTEGER NOT NULL,
        content_hash TEXT NOT NULL,
        duration_ms INTEGER,
        created_at TEXT NOT NULL
    )""",
    "CREATE INDEX submissions_sample ON submissions (sample_id, is_current)",
    "CREATE INDEX submissions_annotator ON submissions (annotator_id, sample_id, is_current)",
    """CREATE TABLE votes (
        submission INTEGER NOT NULL REFERENCES submissions(id),
        line INTEGER NOT NULL,
        label INTEGER NOT NULL CHECK (label IN (1, -1)),
        comment TEXT,
        PRIMARY KEY (submission, line)
    ) WITHOUT ROWID""",
    """CREATE TABLE reliability_history (
        id INTEGER PRIMARY KEY,
        annotator_id INTEGER NOT NULL REFERENCES annotators(id),
        reliability REAL NOT NULL,
        state TEXT NOT NULL,
        source TEXT NOT NULL,
        submission INTEGER REFERENCES submissions(id),
        created_at TEXT NOT NULL
    )""",
    "CREATE INDEX reliability_history_annotator ON reliability_history (annotator_id, id)",
    """CREATE TABLE reward_history (
        id INTEGER PRIMARY KEY,
        sample_id TEXT NOT NULL REFERENCES samples(id),
        reward REAL,
        correct_lines INTEGER NOT NULL,
        judged_lines INTEGER NOT NULL,
        n_votes INTEGER NOT NULL,
        n_annotators INTEGER NOT NULL,
        posteriors TEXT NOT NULL,
        source TEXT NOT NULL,
        submission INTEGER REFERENCES submissions(id),
        created_at TEXT NOT NULL
    )""",
    "CREATE INDEX reward_history_sample ON reward_history (sample_id, id)",
    """CREATE TABLE training_rounds (
        id INTEGER PRIMARY KEY,
        status TEXT NOT NULL,
        params TEXT NOT NULL,
        note TEXT,
        message TEXT,
        adapter_version TEXT,
        metrics TEXT NOT NULL DEFAULT '{}',
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    )""",
]


@migrations(name="m001_initial")
def m001_initial(db: sqlite_utils.Database) -> None:
    for statement in _M001:
        db.execute(statement)


@migrations(name="m002_shown_state")
def m002_shown_state(db: sqlite_utils.Database) -> None:
    """The state an annotator's own views are computed with (see server/own_view.py)."""
    db.execute("ALTER TABLE annotators ADD COLUMN shown_state TEXT NOT NULL DEFAULT '{}'")
    db.execute("UPDATE annotators SET shown_state = state")


@migrations(name="m003_skips_and_benchmarks")
def m003_skips_and_benchmarks(db: sqlite_utils.Database) -> None:
    """Skipped tasks (``assignments.skipped_at``, NULL: not skipped; see server/skips.py)
    and benchmark results per training round (``round`` NULL: the baseline)."""
    db.execute("ALTER TABLE assignments ADD COLUMN skipped_at TEXT")
    db.execute(
        """CREATE TABLE benchmark_results (
            id INTEGER PRIMARY KEY,
            run_id TEXT NOT NULL UNIQUE,
            suite TEXT NOT NULL,
            model TEXT,
            adapter_version TEXT,
            round INTEGER REFERENCES training_rounds(id),
            n INTEGER NOT NULL,
            temperature REAL,
            pass_at_k TEXT NOT NULL,
            n_problems INTEGER NOT NULL,
            created_at TEXT NOT NULL
        )"""
    )
    db.execute("CREATE INDEX benchmark_results_round ON benchmark_results (round, suite)")


@migrations(name="m004_quality")
def m004_quality(db: sqlite_utils.Database) -> None:
    """Pausing and its action log (see server/quality.py); sample authors, who never
    judge their own samples."""
    db.execute("ALTER TABLE annotators ADD COLUMN paused_at TEXT")
    db.execute("ALTER TABLE annotators ADD COLUMN pause_reason TEXT")
    db.execute("ALTER TABLE annotators ADD COLUMN reinstated_at TEXT")
    db.execute(
        """CREATE TABLE quality_actions (
            id INTEGER PRIMARY KEY,
            annotator_id INTEGER NOT NULL REFERENCES annotators(id),
            action TEXT NOT NULL CHECK (action IN ('pause', 'reinstate')),
            reason TEXT NOT NULL,
            actor TEXT NOT NULL,
            created_at TEXT NOT NULL
        )"""
    )
    db.execute("CREATE INDEX quality_actions_annotator ON quality_actions (annotator_id, id)")
    db.execute("ALTER TABLE samples ADD COLUMN author_id INTEGER REFERENCES annotators(id)")


@migrations(name="m005_webhooks")
def m005_webhooks(db: sqlite_utils.Database) -> None:
    """Registered webhooks and their delivery log, one row per attempt (server/webhooks.py)."""
    db.execute(
        """CREATE TABLE webhooks (
            id INTEGER PRIMARY KEY,
            url TEXT NOT NULL,
            secret TEXT NOT NULL,
            events TEXT NOT NULL,
            active INTEGER NOT NULL DEFAULT 1,
            created_at TEXT NOT NULL
        )"""
    )
    db.execute(
        """CREATE TABLE webhook_deliveries (
            id INTEGER PRIMARY KEY,
            webhook_id INTEGER NOT NULL REFERENCES webhooks(id),
            event TEXT NOT NULL,
            delivery_id TEXT NOT NULL,
            attempt INTEGER NOT NULL,
            status_code INTEGER,
            error TEXT,
            delivered INTEGER NOT NULL,
            created_at TEXT NOT NULL
        )"""
    )
    db.execute("CREATE INDEX webhook_deliveries_hook ON webhook_deliveries (webhook_id, id)")


def apply(store: Store) -> list[str]:
    """Apply pending migrations; return the names applied (empty when up to date)."""
    with store.write_lock():
        db = store.utils()
        pending = [m.name for m in migrations.pending(db)]
        migrations.apply(db)
    return pending


@migrations(name="m010_engine_state")
def m010_engine_state(db: sqlite_utils.Database) -> None:
    """Values a full refit learns for the incremental path (see server/engine_state.py)."""
    db.execute(
        "CREATE TABLE engine_state (key TEXT PRIMARY KEY, value TEXT NOT NULL, "
        "updated_at TEXT NOT NULL)"
    )


@migrations(name="m011_round_worker")
def m011_round_worker(db: sqlite_utils.Database) -> None:
    """Rounds claimed by a worker (``crlhf worker``): who holds it, its lease and last
    heartbeat, its progress, and when it started and finished (see server/rounds.py).
    Rounds already final get ``finished_at = updated_at``, so the current adapter (the
    latest finished succeeded round) is defined for them too."""
    for column in ("worker TEXT", "lease_s REAL", "heartbeat_at TEXT", "started_at TEXT"):
        db.execute(f"ALTER TABLE training_rounds ADD COLUMN {column}")
    db.execute("ALTER TABLE training_rounds ADD COLUMN progress TEXT NOT NULL DEFAULT '{}'")
    db.execute("ALTER TABLE training_rounds ADD COLUMN finished_at TEXT")
    db.execute(
        "UPDATE training_rounds SET finished_at = updated_at "
        "WHERE status IN ('succeeded', 'failed', 'cancelled')"
    )
    db.execute("CREATE INDEX training_rounds_status ON training_rounds (status, id)")


@migrations(name="m012_webhook_outbox")
def m012_webhook_outbox(db: sqlite_utils.Database) -> None:
    """Deliveries still queued when the server stopped, sent at the next start
    (server/webhooks.py, ``Dispatcher.close`` and ``resume``)."""
    db.execute(
        """CREATE TABLE webhook_outbox (
            id INTEGER PRIMARY KEY,
            webhook_id INTEGER NOT NULL REFERENCES webhooks(id),
            event TEXT NOT NULL,
            delivery_id TEXT NOT NULL,
            body BLOB NOT NULL,
            attempt INTEGER NOT NULL,
            due_at REAL NOT NULL,
            created_at TEXT NOT NULL
        )"""
    )


@migrations(name="m015_own_problems")
def m015_own_problems(db: sqlite_utils.Database) -> None:
    """A team's own problems and adapters (issue 23): a problem's ``prompt`` (what the model
    is given) and ``language``; archived samples (never served or exported, votes kept);
    starter samples (served only after imported ones); and the admins' adapter choices
    (``crlhf admin adapters set|rollback``, see server/adapters.py)."""
    db.execute("ALTER TABLE problems ADD COLUMN prompt TEXT")
    db.execute("ALTER TABLE problems ADD COLUMN language TEXT NOT NULL DEFAULT 'python'")
    db.execute("ALTER TABLE samples ADD COLUMN archived_at TEXT")
    db.execute("ALTER TABLE samples ADD COLUMN starter INTEGER NOT NULL DEFAULT 0")
    # A database seeded before this migration: its starter samples are the bundled ones.
    starter = Path(__file__).parent / "seed_data" / "samples.jsonl"
    if starter.is_file():
        ids = [json.loads(line)["id"] for line in starter.read_text().splitlines() if line.strip()]
        db.conn.executemany("UPDATE samples SET starter = 1 WHERE id = ?", [(i,) for i in ids])
    db.execute(
        """CREATE TABLE adapter_selections (
            id INTEGER PRIMARY KEY,
            version TEXT,
            action TEXT NOT NULL CHECK (action IN ('set', 'rollback')),
            set_at TEXT NOT NULL
        )"""
    )


@migrations(name="m016_machine_annotators")
def m016_machine_annotators(db: sqlite_utils.Database) -> None:
    """Machine annotators (server/machines.py): an annotator's kind (``human`` or
    ``machine``) and a machine's checker name and version; a sample's human-annotator
    target, set from its machine votes (server/task_routing.py, ``human_target``); NULL
    is the policy's ``max_annotators_per_sample``."""
    db.execute("ALTER TABLE annotators ADD COLUMN kind TEXT NOT NULL DEFAULT 'human'")
    db.execute("ALTER TABLE annotators ADD COLUMN checker TEXT")
    db.execute("ALTER TABLE annotators ADD COLUMN checker_version TEXT")
    db.execute("ALTER TABLE samples ADD COLUMN human_target INTEGER")


@migrations(name="m017_task_leases")
def m017_task_leases(db: sqlite_utils.Database) -> None:
    """Task leases (server/leases.py): when an open assignment's lease ran out, and an index
    for the sweep over open assignments by age."""
    db.execute("ALTER TABLE assignments ADD COLUMN lease_expired_at TEXT")
    db.execute(
        "CREATE INDEX assignments_lease ON assignments (served_at) "
        "WHERE submitted = 0 AND skipped_at IS NULL AND lease_expired_at IS NULL"
    )


@migrations(name="m018_sample_confidence")
def m018_sample_confidence(db: sqlite_utils.Database) -> None:
    """A sample's confidence: the mean over its judged lines of max(P, 1 − P), its expected
    share of lines labelled right (0.5 with no votes; ``task_routing.expected_accuracy``),
    kept beside ``uncertainty`` by every consensus write (server/consensus.py), so routing
    can stop serving a sample the crowd has settled (``settled_min_annotators``).
    Existing samples get it from their stored posteriors, and their ``uncertainty`` is
    recomputed by the new ranking rule (the sd of the reward instead of the summed line
    entropy), so old and new samples rank on one scale."""
    db.execute("ALTER TABLE samples ADD COLUMN confidence REAL NOT NULL DEFAULT 0.5")
    rows = db.execute("SELECT id, posteriors, judged_lines FROM samples").fetchall()
    updates = []
    for sample_id, posteriors, judged in rows:
        stored = json.loads(posteriors)
        values = [float(stored.get(str(n), 0.5)) for n in json.loads(judged)]
        # The formulas as they were when this migration was written, copied rather than
        # imported from task_routing: a later change of the live rule must not change what
        # an old migration wrote (it gets a migration of its own).
        confidence = sum(max(p, 1.0 - p) for p in values) / len(values) if values else 0.5
        reward_sd = math.sqrt(sum(p * (1.0 - p) for p in values)) / len(values) if values else 0.0
        updates.append((confidence, reward_sd, sample_id))
    db.conn.executemany("UPDATE samples SET confidence = ?, uncertainty = ? WHERE id = ?", updates)
