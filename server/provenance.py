"""Provenance: the votes, annotators and weights behind a reward or a training round.

Nothing is overwritten in the database (submission revisions, reliability snapshots and
reward history are all kept, see server/migrations.py), so the state at any past moment
can be rebuilt: a sample's reward is its latest ``reward_history`` row at that time, its
votes those of each annotator's latest revision submitted by then, and an annotator's
reliability their latest snapshot by then (ν before the first). A round's provenance is
that state at the moment the round was requested: the trainer exports right after.
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections import defaultdict
from collections.abc import Iterable

from crlhf_server import rounds
from crlhf_server.views import parse_time

from crlhf.engine.config import EngineConfig
from crlhf.errors import SampleNotFound
from crlhf.schemas import (
    AnnotatorKind,
    AnnotatorWeight,
    Label,
    ProvenanceSample,
    ProvenanceVote,
    RoundProvenance,
    SampleProvenance,
)

_CURRENT_AT = (
    "s.created_at <= :t AND s.revision = (SELECT MAX(s2.revision) FROM submissions s2 "
    "WHERE s2.annotator_id = s.annotator_id AND s2.sample_id = s.sample_id "
    "AND s2.created_at <= :t)"
)
"""Each annotator's latest revision of a sample submitted by time ``:t``."""


def _weights(
    conn: sqlite3.Connection, engine: EngineConfig, counts: dict[int, int], at: str
) -> list[AnnotatorWeight]:
    out = []
    for annotator_id in sorted(counts):
        row = conn.execute(
            "SELECT a.name, (SELECT h.reliability FROM reliability_history h "
            "WHERE h.annotator_id = a.id AND h.created_at <= ? ORDER BY h.id DESC LIMIT 1), "
            "a.kind FROM annotators a WHERE a.id = ?",
            (at, annotator_id),
        ).fetchone()
        p = engine.initial_reliability if row[1] is None else float(row[1])
        clamped = min(max(p, engine.reliability_min), engine.reliability_max)
        out.append(
            AnnotatorWeight(
                annotator_id=annotator_id,
                name=row[0],
                reliability=p,
                weight=math.log(clamped / (1.0 - clamped)),
                votes=counts[annotator_id],
                kind=AnnotatorKind(row[2]),
            )
        )
    return out


def sample(
    conn: sqlite3.Connection, engine: EngineConfig, sample_id: str, at: str
) -> SampleProvenance:
    if conn.execute("SELECT 1 FROM samples WHERE id = ?", (sample_id,)).fetchone() is None:
        raise SampleNotFound(f"no sample {sample_id!r}", field="sample_id")
    reward = conn.execute(
        "SELECT reward, correct_lines, judged_lines, posteriors, source FROM reward_history "
        "WHERE sample_id = ? AND created_at <= ? ORDER BY id DESC LIMIT 1",
        (sample_id, at),
    ).fetchone()
    rows = conn.execute(
        "SELECT s.annotator_id, v.line, v.label, s.submission_id, s.revision, v.comment, "
        "a.kind = 'machine' FROM submissions s JOIN votes v ON v.submission = s.id "
        "JOIN annotators a ON a.id = s.annotator_id "
        f"WHERE s.sample_id = :id AND {_CURRENT_AT} ORDER BY s.annotator_id, v.line",
        {"id": sample_id, "t": at},
    ).fetchall()
    counts: dict[int, int] = defaultdict(int)
    for r in rows:
        counts[int(r[0])] += 1
    return SampleProvenance(
        sample_id=sample_id,
        as_of=parse_time(at),
        reward=None if reward is None else reward["reward"],
        correct_lines=0 if reward is None else reward["correct_lines"],
        judged_lines=0 if reward is None else reward["judged_lines"],
        posteriors={} if reward is None else json.loads(reward["posteriors"]),
        source=None if reward is None else reward["source"],
        votes=[
            ProvenanceVote(
                annotator_id=r[0],
                line=r[1],
                label=Label(r[2]),
                submission_id=r[3],
                revision=r[4],
                comment=r[5],
                machine=bool(r[6]),
            )
            for r in rows
        ],
        annotators=_weights(conn, engine, counts, at),
    )


def _latest_rewards(conn: sqlite3.Connection, at: str) -> Iterable[sqlite3.Row]:
    return conn.execute(
        "SELECT h.sample_id, h.reward FROM reward_history h JOIN samples p ON p.id = h.sample_id "
        "WHERE p.is_honeypot = 0 AND h.id = (SELECT MAX(h2.id) FROM reward_history h2 "
        "WHERE h2.sample_id = h.sample_id AND h2.created_at <= ?) ORDER BY p.seq",
        (at,),
    )


def training_round(
    conn: sqlite3.Connection, engine: EngineConfig, round_id: int
) -> RoundProvenance:
    at = conn.execute("SELECT created_at FROM training_rounds WHERE id = ?", (round_id,)).fetchone()
    if at is None:
        rounds.get(conn, round_id)  # raises RoundNotFound
    t = str(at[0])
    votes = conn.execute(
        "SELECT s.sample_id, s.annotator_id, COUNT(*) FROM submissions s "
        f"JOIN votes v ON v.submission = s.id WHERE {_CURRENT_AT} "
        "GROUP BY s.sample_id, s.annotator_id",
        {"t": t},
    ).fetchall()
    per_sample: dict[str, dict[int, int]] = defaultdict(dict)
    for r in votes:
        per_sample[str(r[0])][int(r[1])] = int(r[2])
    samples = []
    counts: dict[int, int] = defaultdict(int)
    for row in _latest_rewards(conn, t):
        behind = per_sample.get(str(row["sample_id"]), {})
        if row["reward"] is None or not behind:
            continue  # no reward yet: not trained on
        samples.append(
            ProvenanceSample(
                sample_id=row["sample_id"],
                reward=row["reward"],
                n_votes=sum(behind.values()),
                n_annotators=len(behind),
            )
        )
        for annotator_id, n in behind.items():
            counts[annotator_id] += n
    return RoundProvenance(
        round_id=round_id,
        as_of=parse_time(t),
        n_votes=sum(counts.values()),
        samples=samples,
        annotators=_weights(conn, engine, counts, t),
    )
