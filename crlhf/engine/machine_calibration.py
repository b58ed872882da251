"""Machine annotators' reliabilities, learnt from people's agreement only, and their votes
added to people's posterior by eq. 7.

Why not let the estimator learn a checker like any annotator: a checker abstains on most
lines and votes −1 rarely (the ``tests`` checker blames 18% of wrong testbed lines), so
the few lines a noisy crowd gets wrong weigh as much as every line the checker caught.
Measured (``benchmarks/machine_crowd.py``), two-coin EM over people and checkers put the
``tests`` checker's specificity at 0.32-0.40 against a true 0.91 on its voted lines, its
+1 weight near zero, and so never let its votes settle a line. Honeypots do not help
either: they are mutants that fail the tests, so the checker never votes +1 on one and a
honeypot-calibrated sensitivity is 0 (``benchmarks/machine_checkers.py``).

So a full refit (server/refit.py) does this instead:

1. fit the estimator on people's votes (and gold) alone: people's reliabilities and a
   posterior q_h that no checker touched;
2. count each machine's votes on the lines q_h (or gold) settles, ``max(q_h, 1 − q_h) ≥
   confidence``, as evidence for its sensitivity and specificity, on top of the usual
   Beta prior (:func:`machine_states`);
3. add the machines' vote weights to logit q_h (:func:`with_machine_votes`), exactly as
   the incremental path (eq. 7) adds any vote.

Nothing a checker does changes a person's reliability, and a checker that votes at random
or always says "correct" ends up with weights near zero (same benchmark).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from crlhf.engine.config import EngineConfig
from crlhf.engine.estimators.base import Estimator
from crlhf.engine.incremental import AnnotatorState, states_from_fit
from crlhf.engine.votes import VoteSet

__all__ = ["CONFIDENCE", "MachineFit", "fit_with_machines", "machine_states", "with_machine_votes"]

CONFIDENCE = 0.95
"""A line counts as settled by people when their posterior is at least this either way."""


def _truth(votes: VoteSet, human_posterior: npt.ArrayLike) -> npt.NDArray[np.float64]:
    q = np.asarray(human_posterior, dtype=np.float64)
    return np.where(votes.gold != 0, (votes.gold == 1).astype(np.float64), q)


def machine_states(
    votes: VoteSet,
    machines: npt.ArrayLike,
    human_posterior: npt.ArrayLike,
    config: EngineConfig,
    *,
    confidence: float = CONFIDENCE,
) -> dict[int, AnnotatorState]:
    """Each machine's state: the Beta prior plus its votes on lines people settled.

    ``machines`` are annotator indices of ``votes``; ``human_posterior`` is one P(correct)
    per line from people's votes alone (gold lines use their gold).
    """
    q = _truth(votes, human_posterior)
    settled_good = q >= confidence
    settled_bad = q <= 1.0 - confidence
    initial = AnnotatorState.initial(config)
    out: dict[int, AnnotatorState] = {}
    for machine in np.asarray(machines, dtype=np.int64).tolist():
        mine = votes.annotator == machine
        lines, said = votes.line[mine], votes.vote[mine]
        good, bad = settled_good[lines], settled_bad[lines]
        out[machine] = AnnotatorState(
            good_right=initial.good_right + float(np.sum(good & (said == 1))),
            good_wrong=initial.good_wrong + float(np.sum(good & (said == -1))),
            bad_right=initial.bad_right + float(np.sum(bad & (said == -1))),
            bad_wrong=initial.bad_wrong + float(np.sum(bad & (said == 1))),
        )
    return out


def with_machine_votes(
    votes: VoteSet,
    human_posterior: npt.ArrayLike,
    states: dict[int, AnnotatorState],
    config: EngineConfig,
) -> npt.NDArray[np.float64]:
    """logit P(correct) = logit q_h + Σ over machine votes of their eq. 7 weights."""
    q = np.clip(np.asarray(human_posterior, dtype=np.float64), 1e-9, 1.0 - 1e-9)
    z = np.log(q / (1.0 - q))
    for machine, state in states.items():
        plus, minus = state.weights(config)
        mine = votes.annotator == machine
        np.add.at(z, votes.line[mine], np.where(votes.vote[mine] == 1, plus, minus))
    posterior: npt.NDArray[np.float64] = 1.0 / (1.0 + np.exp(-z))
    return posterior


@dataclass(frozen=True)
class MachineFit:
    posterior: npt.NDArray[np.float64]
    """P(correct) per line: people's posterior plus the machines' eq. 7 weights."""
    states: list[AnnotatorState]
    """Per annotator index of the votes: people's from their fit, machines' calibrated."""
    class_prior: float | None
    """The p0 people's fit learnt (None: none, or no person voted)."""


def fit_with_machines(
    estimator: Estimator,
    votes: VoteSet,
    is_machine: npt.ArrayLike,
    line_sample: npt.ArrayLike,
    config: EngineConfig,
    *,
    confidence: float = CONFIDENCE,
) -> MachineFit:
    """Steps 1-3 of the module docstring; ``is_machine`` has one flag per annotator."""
    machine = np.asarray(is_machine, dtype=np.bool_)
    humans = np.flatnonzero(~machine)
    keep = ~machine[votes.annotator]
    states = [AnnotatorState.initial(config)] * votes.n_annotators
    class_prior: float | None = None
    if keep.any():
        dense = np.full(votes.n_annotators, -1, dtype=np.int64)
        dense[humans] = np.arange(humans.size)
        people = VoteSet.build(
            votes.line[keep],
            dense[votes.annotator[keep]],
            votes.vote[keep],
            n_lines=votes.n_lines,
            n_annotators=int(humans.size),
            gold=votes.gold,
        )
        estimator.fit(people, line_sample=line_sample)
        value = getattr(estimator, "class_prior_", None)
        if value is not None and math.isfinite(float(value)) and 0.0 < float(value) < 1.0:
            class_prior = float(value)
            config = config.model_copy(update={"prior": class_prior})
        human_posterior = np.asarray(estimator.posterior_, dtype=np.float64)
        fitted = states_from_fit(estimator, config, people)
        for person, state in zip(humans.tolist(), fitted, strict=True):
            states[person] = state
    else:
        human_posterior = np.where(
            votes.gold != 0, (votes.gold == 1).astype(np.float64), config.prior
        )
    calibrated = machine_states(
        votes, np.flatnonzero(machine), human_posterior, config, confidence=confidence
    )
    for machine_index, state in calibrated.items():
        states[machine_index] = state
    return MachineFit(
        with_machine_votes(votes, human_posterior, calibrated, config), states, class_prior
    )
