"""The consensus an annotator may see: computed with the reliabilities of the last refit.

The live state of an annotator moves only on gold lines (see
:mod:`crlhf.engine.incremental`), and stored posteriors are recomputed with the submitter's
new state. Shown to the submitter, either would tell honeypots apart: the posterior of a
sample they alone judged would have one strength on ordinary samples and another right
after a honeypot. So every number an annotator sees about themselves or a sample is
computed from the current votes with each voter's *shown* state (``annotators.shown_state``:
the initial state, replaced only by a full refit, which moves everyone at once).
Admins see the live values.

The same goes for *how many* votes an annotator sees: honeypots are served to many more
annotators than the cap on ordinary samples (``max_annotators_per_sample``), so a vote
count above that cap, or the strength of a posterior built from that many votes, would
mark a honeypot. An annotator is shown the votes of their *cohort*: annotators are taken
in the order of their first submission on the sample, in blocks of ``cap``, and the viewer
sees the block they are in. An ordinary sample has at most ``cap`` submitters, so its one
cohort is everyone; a honeypot looks to each cohort like an ordinary sample judged by
those annotators alone (the count fills up to the cap as they submit, never past it).
"""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from collections.abc import Sequence

from crlhf_server.engine_state import effective_engine

from crlhf.engine.config import EngineConfig
from crlhf.engine.incremental import AnnotatorState, SampleVote, sample_consensus


def shown_voters(
    conn: sqlite3.Connection, sample_ids: Sequence[str], viewer: int, cap: int
) -> dict[str, set[int]]:
    """Per sample: the annotators whose votes ``viewer`` is shown, their cohort (see the
    module doc); just the viewer where they have not submitted."""
    if not sample_ids:
        return {}
    marks = ",".join("?" * len(sample_ids))
    ordered: dict[str, list[int]] = defaultdict(list)
    for sample_id, annotator in conn.execute(
        "SELECT sample_id, annotator_id FROM submissions "
        f"WHERE sample_id IN ({marks}) GROUP BY sample_id, annotator_id ORDER BY MIN(id)",
        tuple(sample_ids),
    ):
        ordered[sample_id].append(int(annotator))
    shown: dict[str, set[int]] = {}
    for sample_id in sample_ids:
        order = ordered[sample_id]
        if viewer not in order:
            shown[sample_id] = {viewer}
            continue
        start = order.index(viewer) // cap * cap
        shown[sample_id] = set(order[start : start + cap])
    return shown


def shown_posteriors(
    conn: sqlite3.Connection,
    engine: EngineConfig,
    sample_ids: Sequence[str],
    voters: dict[str, set[int]] | None = None,
) -> dict[str, dict[int, float]]:
    """Per sample: judged line -> P(correct) from current votes and shown states.

    The prior is the last refit's class prior when one is stored, like the shown states
    (it moves only at a refit, so it tells nothing about honeypots). ``voters`` (from
    :func:`shown_voters`) limits each sample to the votes its viewer may see.
    """
    if not sample_ids:
        return {}
    engine = effective_engine(conn, engine)
    marks = ",".join("?" * len(sample_ids))
    judged = {
        str(r[0]): json.loads(r[1])
        for r in conn.execute(
            f"SELECT id, judged_lines FROM samples WHERE id IN ({marks})", tuple(sample_ids)
        )
    }
    votes: dict[str, list[SampleVote]] = defaultdict(list)
    for sample_id, annotator, line, label in conn.execute(
        "SELECT s.sample_id, s.annotator_id, v.line, v.label FROM submissions s "
        f"JOIN votes v ON v.submission = s.id WHERE s.is_current = 1 AND s.sample_id IN ({marks})",
        tuple(sample_ids),
    ):
        if voters is None or annotator in voters[sample_id]:
            votes[sample_id].append(SampleVote(annotator=annotator, line=line, vote=label))
    ids = sorted({v.annotator for vs in votes.values() for v in vs})
    states: dict[int, AnnotatorState] = {}
    if ids:
        voter_marks = ",".join("?" * len(ids))
        states = {
            int(r[0]): AnnotatorState.from_dict(json.loads(r[1]))
            for r in conn.execute(
                f"SELECT id, shown_state FROM annotators WHERE id IN ({voter_marks})",
                tuple(ids),
            )
        }
    return {
        sample_id: sample_consensus(engine, lines, votes.get(sample_id, []), states).posteriors
        for sample_id, lines in judged.items()
    }
