"""Persisting and reading a sample's consensus (line posteriors, reward, vote counts).

Every writer of a consensus (a submission, an import, a full refit) goes through
:func:`store_consensus`, which also appends the reward history row and refreshes the
uncertainty the router ranks samples by.
"""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from collections.abc import Mapping, Set

from crlhf_server import task_routing

from crlhf.engine.incremental import SampleConsensus
from crlhf.schemas import LineConsensus


def posteriors_json(posteriors: Mapping[int, float]) -> str:
    return json.dumps({str(line): p for line, p in sorted(posteriors.items())})


def store_consensus(
    conn: sqlite3.Connection,
    sample_id: str,
    consensus: SampleConsensus,
    *,
    source: str,
    submission_pk: int | None,
    now: str,
) -> None:
    encoded = posteriors_json(consensus.posteriors)
    conn.execute(
        "UPDATE samples SET posteriors = ?, reward = ?, correct_lines = ?, n_votes = ?, "
        "n_annotators = ?, uncertainty = ?, confidence = ? WHERE id = ?",
        (
            encoded,
            consensus.reward,
            consensus.correct_lines,
            consensus.n_votes,
            consensus.n_annotators,
            task_routing.sample_uncertainty(consensus.posteriors.values()),
            task_routing.expected_accuracy(consensus.posteriors.values()),
            sample_id,
        ),
    )
    conn.execute(
        "INSERT INTO reward_history (sample_id, reward, correct_lines, judged_lines, n_votes, "
        "n_annotators, posteriors, source, submission, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            sample_id,
            consensus.reward,
            consensus.correct_lines,
            consensus.judged_lines,
            consensus.n_votes,
            consensus.n_annotators,
            encoded,
            source,
            submission_pk,
            now,
        ),
    )


def line_comments(conn: sqlite3.Connection, sample_id: str) -> dict[int, list[str]]:
    """The comments of current submissions on ``sample_id``, by line, in submission order."""
    comments: dict[int, list[str]] = {}
    for r in conn.execute(
        "SELECT v.line, v.comment FROM submissions s JOIN votes v ON v.submission = s.id "
        "WHERE s.sample_id = ? AND s.is_current = 1 AND v.comment IS NOT NULL "
        "ORDER BY v.line, s.id",
        (sample_id,),
    ):
        comments.setdefault(int(r[0]), []).append(str(r[1]))
    return comments


def line_consensus(
    conn: sqlite3.Connection,
    sample_id: str,
    posteriors: Mapping[int, float] | None = None,
    voters: Set[int] | None = None,
    *,
    with_comments: bool = False,
) -> list[LineConsensus]:
    """Per judged line: a posterior and the counts of current votes.

    ``posteriors`` default to the stored (live) ones; annotators get the ones of
    :func:`server.own_view.shown_posteriors`, and counts of the ``voters`` they may see
    (:func:`server.own_view.shown_voters`). Counts come from votes only, never from gold;
    ``n_machine_votes`` says how many of them are machine annotators' (included in the
    posterior), so no client passes a checker off as the crowd. ``with_comments`` (admins)
    adds the annotators' comments per line.
    """
    row = conn.execute(
        "SELECT posteriors, judged_lines FROM samples WHERE id = ?", (sample_id,)
    ).fetchone()
    if posteriors is None:
        posteriors = {int(k): float(v) for k, v in json.loads(row["posteriors"]).items()}
    counts: dict[int, tuple[int, int, int]] = defaultdict(lambda: (0, 0, 0))
    for line, annotator, label, machine in conn.execute(
        "SELECT v.line, s.annotator_id, v.label, a.kind = 'machine' FROM submissions s "
        "JOIN votes v ON v.submission = s.id JOIN annotators a ON a.id = s.annotator_id "
        "WHERE s.sample_id = ? AND s.is_current = 1",
        (sample_id,),
    ):
        if voters is None or annotator in voters:
            n_correct, n_wrong, n_machine = counts[int(line)]
            counts[int(line)] = (
                n_correct + (label == 1),
                n_wrong + (label == -1),
                n_machine + bool(machine),
            )
    comments = line_comments(conn, sample_id) if with_comments else {}
    result = []
    for line in json.loads(row["judged_lines"]):
        n_correct, n_wrong, n_machine = counts.get(line, (0, 0, 0))
        result.append(
            LineConsensus(
                sample_id=sample_id,
                line=line,
                posterior=posteriors[line],
                n_votes=n_correct + n_wrong,
                n_correct=n_correct,
                n_wrong=n_wrong,
                comments=comments.get(line, []),
                n_machine_votes=n_machine,
            )
        )
    return result
