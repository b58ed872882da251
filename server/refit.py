"""Full refit: one estimator over every current vote, persisted; the source of exports.

Honeypot lines enter the fit as gold. Machine annotators' votes do not enter the
estimator: people's votes are fitted alone, each machine is calibrated on the lines people
settled, and its votes are added by eq. 7 (:mod:`crlhf.engine.machine_calibration`).
The fit's line posteriors replace the stored ones of every sample, each sample's reward
is recomputed from them (:func:`sample_rewards`), and every annotator who voted gets the
fitted state (:func:`states_from_fit`; a machine its calibrated one) and a
``refit:<name>`` reliability snapshot. A sample or an annotator the fit leaves as it was
gets no history row (refitting twice on the same votes writes nothing the second time),
and the result says what changed: p0 before and after, how many rewards and shown
reliabilities moved and by how much at most. A class prior the estimator learnt
(``class_prior_``) is stored for the incremental path (:mod:`server.engine_state`). The
refit holds the write lock from its first read to its commit, so no submission lands
between the votes it read and the values it writes (submissions wait for it; a refit is
an admin action, not a per-request one).
"""

from __future__ import annotations

import json
import logging
import math
import sqlite3

import numpy as np
from crlhf_server.consensus import store_consensus
from crlhf_server.engine_state import fitted_class_prior, store_class_prior, stored_class_prior

from crlhf.engine.config import EngineConfig
from crlhf.engine.estimators import make_estimator
from crlhf.engine.incremental import AnnotatorState, SampleConsensus, states_from_fit
from crlhf.engine.machine_calibration import fit_with_machines
from crlhf.engine.reward import sample_rewards
from crlhf.engine.votes import VoteSet
from crlhf.schemas import RefitResult

logger = logging.getLogger(__name__)

UNCHANGED_TOL = 1e-12
"""Posteriors, rewards and reliabilities closer than this count as unchanged."""


def _same(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return abs(a - b) <= UNCHANGED_TOL


def _reward_change(old: float | None, new: float | None) -> float:
    if old is None and new is None:
        return 0.0
    if old is None or new is None:
        return 1.0
    return abs(new - old)


def refit(
    conn: sqlite3.Connection,
    engine: EngineConfig,
    estimator_name: str | None,
    options: dict[str, object],
    now: str,
) -> RefitResult:
    """Fit, then persist posteriors, rewards and states. Call inside a write transaction."""
    name = estimator_name or engine.estimator
    estimator = make_estimator(name, **(options or engine.options_for(name)))
    samples = conn.execute(
        "SELECT id, judged_lines, gold, posteriors, reward, n_votes, n_annotators FROM samples "
        "ORDER BY seq"
    ).fetchall()
    prior_before = stored_class_prior(conn)
    line_index: dict[tuple[str, int], int] = {}
    line_sample: list[int] = []
    gold: list[int] = []
    for s_index, row in enumerate(samples):
        truth = json.loads(row["gold"]) if row["gold"] else {}
        for line in json.loads(row["judged_lines"]):
            line_index[(row["id"], line)] = len(line_sample)
            line_sample.append(s_index)
            gold.append(int(truth.get(str(line), 0)))
    rows = conn.execute(
        "SELECT s.sample_id, s.annotator_id, v.line, v.label FROM submissions s "
        "JOIN votes v ON v.submission = s.id WHERE s.is_current = 1 ORDER BY s.id, v.line"
    ).fetchall()
    machine_ids = {
        int(r[0]) for r in conn.execute("SELECT id FROM annotators WHERE kind = 'machine'")
    }
    annotator_ids = sorted({int(r[1]) for r in rows})
    if not rows:
        return RefitResult(
            estimator=name,
            n_votes=0,
            n_lines=len(line_sample),
            n_samples=len(samples),
            n_annotators=0,
            class_prior_before=prior_before,
            class_prior_after=prior_before,
        )
    dense = {a: i for i, a in enumerate(annotator_ids)}
    votes = VoteSet.build(
        [line_index[(r[0], r[2])] for r in rows],
        [dense[int(r[1])] for r in rows],
        [r[3] for r in rows],
        n_lines=len(line_sample),
        n_annotators=len(annotator_ids),
        gold=gold,
    )
    is_machine = np.array([a in machine_ids for a in annotator_ids], dtype=np.bool_)
    states: list[AnnotatorState] | None = None
    if is_machine.any():
        # Machines are calibrated on people's agreement, then added by eq. 7
        # (crlhf/engine/machine_calibration.py says why).
        fitted = fit_with_machines(estimator, votes, is_machine, line_sample, engine)
        class_prior, posterior, states = fitted.class_prior, fitted.posterior, fitted.states
    else:
        estimator.fit(votes, line_sample=line_sample)
        class_prior = fitted_class_prior(estimator)
        posterior = np.asarray(estimator.posterior_, dtype=np.float64)
    store_class_prior(conn, class_prior, now)
    if class_prior is not None:
        # The states' reliabilities (p0·s + (1−p0)·c) rest on the p0 the fit learnt.
        engine = engine.model_copy(update={"prior": class_prior})
    rewards = sample_rewards(posterior, line_sample, votes, engine, n_samples=len(samples))
    source = f"refit:{name}"
    rewards_changed, max_reward_change = 0, 0.0
    for s_index, row in enumerate(samples):
        judged = json.loads(row["judged_lines"])
        reward = float(rewards.reward[s_index])
        consensus = SampleConsensus(
            posteriors={line: float(posterior[line_index[(row["id"], line)]]) for line in judged},
            correct_lines=int(rewards.correct_lines[s_index]),
            judged_lines=int(rewards.judged_lines[s_index]),
            reward=None if math.isnan(reward) else reward,
            n_votes=int(rewards.n_votes[s_index]),
            n_annotators=int(rewards.n_annotators[s_index]),
        )
        old_posteriors = json.loads(row["posteriors"]) if row["posteriors"] else {}
        if (
            _same(row["reward"], consensus.reward)
            and (row["n_votes"], row["n_annotators"]) == (consensus.n_votes, consensus.n_annotators)
            and all(
                _same(old_posteriors.get(str(line)), p) for line, p in consensus.posteriors.items()
            )
        ):
            continue
        rewards_changed += 1
        max_reward_change = max(max_reward_change, _reward_change(row["reward"], consensus.reward))
        store_consensus(conn, row["id"], consensus, source=source, submission_pk=None, now=now)
    marks = ",".join("?" * len(annotator_ids))
    current = {
        int(r[0]): r
        for r in conn.execute(
            f"SELECT id, state, reliability, shown_state, shown_reliability FROM annotators "
            f"WHERE id IN ({marks})",
            annotator_ids,
        )
    }
    reliabilities_changed, max_reliability_change = 0, 0.0
    if states is None:
        states = states_from_fit(estimator, engine, votes)
    for annotator_id, state in zip(annotator_ids, states, strict=True):
        encoded = json.dumps(state.to_dict())
        reliability = state.reliability(engine)
        before = current[annotator_id]
        if (
            before["state"] == encoded
            and before["shown_state"] == encoded
            and _same(before["reliability"], reliability)
            and _same(before["shown_reliability"], reliability)
        ):
            continue  # the fit left this annotator as the last refit did: no new snapshot
        shown_before = before["shown_reliability"]
        if shown_before is None or not _same(shown_before, reliability):
            reliabilities_changed += 1
            change = 1.0 if shown_before is None else abs(reliability - shown_before)
            max_reliability_change = max(max_reliability_change, change)
        conn.execute(
            "UPDATE annotators SET state = ?, reliability = ?, shown_state = ?, "
            "shown_reliability = ? WHERE id = ?",
            (encoded, reliability, encoded, reliability, annotator_id),
        )
        conn.execute(
            "INSERT INTO reliability_history "
            "(annotator_id, reliability, state, source, created_at) VALUES (?, ?, ?, ?, ?)",
            (annotator_id, reliability, encoded, source, now),
        )
    logger.info(
        "refit %s: %d votes, %d lines, %d annotators",
        name,
        votes.n_votes,
        votes.n_lines,
        len(annotator_ids),
    )
    return RefitResult(
        estimator=name,
        n_votes=votes.n_votes,
        n_lines=votes.n_lines,
        n_samples=len(samples),
        n_annotators=len(annotator_ids),
        class_prior_before=prior_before,
        class_prior_after=class_prior,
        rewards_changed=rewards_changed,
        max_reward_change=max_reward_change,
        reliabilities_changed=reliabilities_changed,
        max_reliability_change=max_reliability_change,
    )
