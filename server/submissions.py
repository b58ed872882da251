"""Accepting submissions: validation, idempotency, revisions and the engine update.

:func:`accept` runs inside the caller's write transaction; it raises a typed error before
or after writing, and the caller's rollback then undoes everything, so a batch is all or
nothing. On success the submission, its line votes, the submitter's new reliability state
(plus a history snapshot) and the sample's posteriors and reward (plus a history row) are
written together.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from dataclasses import dataclass

from crlhf_server import leases
from crlhf_server.consensus import store_consensus
from crlhf_server.engine_state import effective_engine

from crlhf.engine.config import EngineConfig
from crlhf.engine.incremental import AnnotatorState, SampleVote, apply_submission
from crlhf.errors import Conflict, InvalidVote, NotServed, SampleNotFound, SelfAnnotation
from crlhf.schemas import Submission, SubmissionReceipt


def content_hash(submission: Submission) -> str:
    """Fingerprint of what a submission says (its id excluded), to tell replays from clashes."""
    payload = submission.model_dump(mode="json", exclude={"submission_id"})
    encoded = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(encoded.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class _Target:
    judged: list[int]
    gold: dict[int, int] | None


def _prefixed(field: str, prefix: str) -> str:
    return f"{prefix}{field}" if prefix else field


def _replay(
    conn: sqlite3.Connection, submission: Submission, annotator_id: int, prefix: str
) -> SubmissionReceipt | None:
    row = conn.execute(
        "SELECT annotator_id, sample_id, revision, content_hash FROM submissions "
        "WHERE submission_id = ?",
        (str(submission.submission_id),),
    ).fetchone()
    if row is None:
        return None
    if row["annotator_id"] != annotator_id or row["content_hash"] != content_hash(submission):
        raise Conflict(
            "this submission_id was already used for a different submission; "
            "generate a new id for new content",
            field=_prefixed("submission_id", prefix),
        )
    return SubmissionReceipt(
        submission_id=submission.submission_id,
        sample_id=row["sample_id"],
        revision=row["revision"],
        replayed=True,
    )


def _target(
    conn: sqlite3.Connection,
    submission: Submission,
    annotator_id: int,
    prefix: str,
    *,
    partial: bool = False,
) -> _Target:
    row = conn.execute(
        "SELECT s.judged_lines, s.gold, s.author_id, a.annotator_id IS NOT NULL AS served, "
        "a.skipped_at IS NOT NULL AS skipped FROM samples s "
        "LEFT JOIN assignments a ON a.sample_id = s.id AND a.annotator_id = ? WHERE s.id = ?",
        (annotator_id, submission.sample_id),
    ).fetchone()
    if row is None:
        raise SampleNotFound(
            f"no sample {submission.sample_id!r}", field=_prefixed("sample_id", prefix)
        )
    if row["author_id"] == annotator_id:
        raise SelfAnnotation(
            f"you wrote sample {submission.sample_id!r}; nobody judges their own code",
            field=_prefixed("sample_id", prefix),
        )
    if not row["served"]:
        raise NotServed(
            f"sample {submission.sample_id!r} was never served to you; get it from "
            "/v1/tasks/next first",
            field=_prefixed("sample_id", prefix),
        )
    if row["skipped"]:
        # Skipping gave the sample's cap slot back; accepting votes now could overshoot it.
        raise NotServed(
            f"you skipped sample {submission.sample_id!r}; skipped tasks take no submission",
            field=_prefixed("sample_id", prefix),
        )
    judged: list[int] = json.loads(row["judged_lines"])
    labelled = [item.line for item in submission.labels]
    if partial:
        extra = sorted(set(labelled) - set(judged))
        if extra:
            raise InvalidVote(
                f"labels may name only judged lines of the sample; lines not judged {extra}",
                field=_prefixed("labels", prefix),
            )
    elif set(labelled) != set(judged):
        missing = sorted(set(judged) - set(labelled))
        extra = sorted(set(labelled) - set(judged))
        raise InvalidVote(
            f"labels must name every judged line of the sample exactly once; "
            f"missing lines {missing}, lines not judged {extra}",
            field=_prefixed("labels", prefix),
        )
    gold = None if row["gold"] is None else {int(k): v for k, v in json.loads(row["gold"]).items()}
    return _Target(judged, gold)


def _current_votes(conn: sqlite3.Connection, sample_id: str) -> list[SampleVote]:
    return [
        SampleVote(annotator=r[0], line=r[1], vote=r[2])
        for r in conn.execute(
            "SELECT s.annotator_id, v.line, v.label FROM submissions s "
            "JOIN votes v ON v.submission = s.id WHERE s.sample_id = ? AND s.is_current = 1",
            (sample_id,),
        )
    ]


def _states(conn: sqlite3.Connection, annotator_ids: set[int]) -> dict[int, AnnotatorState]:
    marks = ",".join("?" * len(annotator_ids))
    return {
        int(r[0]): AnnotatorState.from_dict(json.loads(r[1]))
        for r in conn.execute(
            f"SELECT id, state FROM annotators WHERE id IN ({marks})", tuple(annotator_ids)
        )
    }


def accept(
    conn: sqlite3.Connection,
    engine: EngineConfig,
    annotator_id: int,
    submission: Submission,
    *,
    now: str,
    prefix: str = "",
    partial: bool = False,
) -> SubmissionReceipt:
    """Store one submission and update the engine's view of its sample and its submitter.

    ``partial`` (machine annotators, server/machines.py): the labels may name any subset
    of the judged lines, even none; a line left out is an abstention, not a vote.

    The update uses the class prior of the last full refit when one is stored
    (:func:`server.engine_state.effective_engine`), else ``engine.prior``.

    ``prefix`` (``submissions[3].``) is put before the field of any error, so a batch
    names the submission at fault.
    """
    replayed = _replay(conn, submission, annotator_id, prefix)
    if replayed is not None:
        return replayed
    engine = effective_engine(conn, engine)
    target = _target(conn, submission, annotator_id, prefix, partial=partial)
    previous = conn.execute(
        "SELECT id, revision FROM submissions "
        "WHERE annotator_id = ? AND sample_id = ? AND is_current = 1",
        (annotator_id, submission.sample_id),
    ).fetchone()
    previous_votes: list[SampleVote] = []
    revision = 1
    if previous is not None:
        revision = int(previous["revision"]) + 1
        previous_votes = [
            SampleVote(annotator=annotator_id, line=r[0], vote=r[1])
            for r in conn.execute(
                "SELECT line, label FROM votes WHERE submission = ?", (previous["id"],)
            )
        ]
        conn.execute("UPDATE submissions SET is_current = 0 WHERE id = ?", (previous["id"],))
    cursor = conn.execute(
        "INSERT INTO submissions (submission_id, annotator_id, sample_id, revision, is_current, "
        "content_hash, duration_ms, created_at) VALUES (?, ?, ?, ?, 1, ?, ?, ?)",
        (
            str(submission.submission_id),
            annotator_id,
            submission.sample_id,
            revision,
            content_hash(submission),
            submission.duration_ms,
            now,
        ),
    )
    submission_pk = cursor.lastrowid
    conn.executemany(
        "INSERT INTO votes (submission, line, label, comment) VALUES (?, ?, ?, ?)",
        [(submission_pk, i.line, int(i.label), i.comment) for i in submission.labels],
    )
    conn.execute(
        "UPDATE assignments SET submitted = 1 WHERE annotator_id = ? AND sample_id = ?",
        (annotator_id, submission.sample_id),
    )
    leases.reclaim(conn, annotator_id, submission.sample_id)
    votes = _current_votes(conn, submission.sample_id)
    states = _states(conn, {v.annotator for v in votes} | {annotator_id})
    update = apply_submission(
        engine,
        annotator_id,
        target.judged,
        votes,
        states,
        target.gold,
        previous_votes=previous_votes,
    )
    state = update.annotator_state
    reliability = state.reliability(engine)
    encoded_state = json.dumps(state.to_dict())
    conn.execute(
        "UPDATE annotators SET state = ?, reliability = ? WHERE id = ?",
        (encoded_state, reliability, annotator_id),
    )
    conn.execute(
        "INSERT INTO reliability_history (annotator_id, reliability, state, source, submission, "
        "created_at) VALUES (?, ?, ?, 'submission', ?, ?)",
        (annotator_id, reliability, encoded_state, submission_pk, now),
    )
    store_consensus(
        conn,
        submission.sample_id,
        update.consensus,
        source="submission",
        submission_pk=submission_pk,
        now=now,
    )
    return SubmissionReceipt(
        submission_id=submission.submission_id,
        sample_id=submission.sample_id,
        revision=revision,
        replayed=False,
    )
