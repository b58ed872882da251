"""The testbed's simulated crowd: votes on a policy's samples from their true line labels.

Each sample is judged in full by ``overlap`` distinct annotators; annotator a labels each
line right with probability p_a (one coin), so spammers (p = 1/2) add noise and nothing
else. Every annotator also judges some honeypots (corpus bodies whose truth is known),
whose lines carry gold. The engine's estimator then turns the votes into line posteriors
and the rewards s = c / k exactly as the server does (:mod:`crlhf.engine.reward`);
``estimator="majority"`` is the unweighted baseline (no reliability weighting).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from crlhf.engine.config import EngineConfig
from crlhf.engine.estimators import make_estimator
from crlhf.engine.estimators.base import Estimator
from crlhf.engine.machine_calibration import fit_with_machines
from crlhf.engine.reward import SampleRewards, sample_rewards
from crlhf.engine.votes import VoteSet
from crlhf.errors import InvalidInput


@dataclass(frozen=True)
class CrowdSpec:
    reliabilities: tuple[float, ...]
    """P(right vote on a line), one per annotator."""
    overlap: int = 3
    """Distinct annotators per sample."""
    honeypots_per_annotator: int = 5
    estimator: str = "em-two-coin"
    seed: int = 0

    def __post_init__(self) -> None:
        if not 1 <= self.overlap <= len(self.reliabilities):
            raise InvalidInput("overlap must lie in [1, number of annotators]", field="overlap")
        if any(not 0.0 <= p <= 1.0 for p in self.reliabilities):
            raise InvalidInput("reliabilities must lie in [0, 1]", field="reliabilities")

    @classmethod
    def competent(
        cls, n: int = 10, p: float = 0.9, *, estimator: str = "em-two-coin", seed: int = 0
    ) -> CrowdSpec:
        """``n`` annotators who are all right with probability ``p``."""
        return cls(reliabilities=(p,) * n, estimator=estimator, seed=seed)

    @classmethod
    def with_spammers(
        cls,
        competent: int = 5,
        spammers: int = 5,
        p: float = 0.9,
        *,
        estimator: str = "em-two-coin",
        seed: int = 0,
    ) -> CrowdSpec:
        """``competent`` annotators at ``p`` and ``spammers`` who vote at random."""
        reliabilities = (p,) * competent + (0.5,) * spammers
        return cls(reliabilities=reliabilities, estimator=estimator, seed=seed)


MachineVotes = Sequence[Sequence[Mapping[int, int]]]
"""Per machine annotator, per sample: judged-line index (0-based, in ``truths`` order) ->
its vote (+1/−1); a line left out is an abstention."""


def judge(
    truths: Sequence[Sequence[bool]],
    honeypots: Sequence[Sequence[bool]],
    spec: CrowdSpec,
    config: EngineConfig | None = None,
    machines: MachineVotes = (),
) -> SampleRewards:
    """Rewards of the samples whose per-line truth is ``truths`` (in that order).

    ``honeypots`` are line truths of known bodies; each annotator judges
    ``honeypots_per_annotator`` of them (drawn with replacement), with gold attached.
    Samples without a judged line are not allowed (they have nothing to reward).
    ``machines``: checkers' votes on the samples, weighed as the server's refit weighs
    them (:func:`crlhf.engine.machine_calibration.fit_with_machines`).
    """
    if any(not t for t in truths):
        raise InvalidInput("every sample needs at least one judged line", field="truths")
    rng = np.random.default_rng(spec.seed)
    reliability = np.asarray(spec.reliabilities, dtype=np.float64)
    n_annotators = reliability.size
    items: list[tuple[Sequence[bool], list[int], bool]] = [
        (truth, list(rng.choice(n_annotators, size=spec.overlap, replace=False)), False)
        for truth in truths
    ]
    if honeypots:
        for annotator in range(n_annotators):
            for pick in rng.integers(0, len(honeypots), size=spec.honeypots_per_annotator):
                items.append((honeypots[int(pick)], [annotator], True))
    line_sample: list[int] = []
    gold: list[int] = []
    lines: list[int] = []
    annotators: list[int] = []
    true_labels: list[int] = []
    for index, (truth, judges, is_gold) in enumerate(items):
        for correct in truth:
            line = len(line_sample)
            label = 1 if correct else -1
            line_sample.append(index)
            gold.append(label if is_gold else 0)
            for annotator in judges:
                lines.append(line)
                annotators.append(annotator)
                true_labels.append(label)
    right = rng.random(len(lines)) < reliability[np.asarray(annotators, dtype=np.int64)]
    votes_array = np.where(right, true_labels, -np.asarray(true_labels))
    return _rewards(
        len(truths),
        line_sample,
        gold=gold,
        people=(lines, annotators, [int(v) for v in votes_array]),
        n_people=n_annotators,
        machines=machines,
        estimator=make_estimator(spec.estimator),
        config=config or EngineConfig(),
    )


def judge_machines_only(
    truths: Sequence[Sequence[bool]], machines: MachineVotes, config: EngineConfig | None = None
) -> SampleRewards:
    """Rewards from checkers alone, no people: each line's prior plus the machines' votes
    at their prior reliability (nothing calibrates them without people)."""
    if any(not t for t in truths):
        raise InvalidInput("every sample needs at least one judged line", field="truths")
    line_sample = [index for index, truth in enumerate(truths) for _ in truth]
    return _rewards(
        len(truths),
        line_sample,
        gold=[0] * len(line_sample),
        people=([], [], []),
        n_people=0,
        machines=machines,
        estimator=make_estimator("em-two-coin"),
        config=config or EngineConfig(),
    )


def _rewards(
    n: int,
    line_sample: list[int],
    *,
    gold: list[int],
    people: tuple[list[int], list[int], list[int]],
    n_people: int,
    machines: MachineVotes,
    estimator: Estimator,
    config: EngineConfig,
) -> SampleRewards:
    lines, annotators, said = (list(x) for x in people)
    first_line = np.searchsorted(np.asarray(line_sample), np.arange(n))
    for m, per_sample in enumerate(machines):
        for index, votes_on in enumerate(per_sample[:n]):
            for judged_index, label in votes_on.items():
                lines.append(int(first_line[index]) + judged_index)
                annotators.append(n_people + m)
                said.append(label)
    votes = VoteSet.build(
        lines,
        annotators,
        said,
        n_lines=len(line_sample),
        n_annotators=n_people + len(machines),
        gold=gold,
    )
    if machines:
        is_machine = np.arange(n_people + len(machines)) >= n_people
        posterior = fit_with_machines(estimator, votes, is_machine, line_sample, config).posterior
    else:
        posterior = estimator.fit(votes, line_sample=line_sample).posterior_
    rewards = sample_rewards(posterior, np.asarray(line_sample), votes, config)
    return SampleRewards(
        reward=rewards.reward[:n],
        correct_lines=rewards.correct_lines[:n],
        judged_lines=rewards.judged_lines[:n],
        n_votes=rewards.n_votes[:n],
        n_annotators=rewards.n_annotators[:n],
        # The samples' lines come first (honeypots after): a sample's lines in order.
        line_posterior=np.asarray(posterior, dtype=np.float64)[
            : int(rewards.judged_lines[:n].sum())
        ],
    )


def oracle(truths: Sequence[Sequence[bool]]) -> SampleRewards:
    """The rewards a perfect crowd would give: the true share of correct lines.

    Counted as one vote per line by one annotator, so ``min_votes`` filters behave.
    """
    if any(not t for t in truths):
        raise InvalidInput("every sample needs at least one judged line", field="truths")
    correct = np.array([sum(t) for t in truths], dtype=np.int64)
    judged = np.array([len(t) for t in truths], dtype=np.int64)
    return SampleRewards(
        reward=correct / judged,
        correct_lines=correct,
        judged_lines=judged,
        n_votes=judged.copy(),
        n_annotators=np.ones_like(judged),
        line_posterior=np.array([float(v) for t in truths for v in t], dtype=np.float64),
    )


def shuffled(rewards: Sequence[float], seed: int) -> list[float]:
    """The control: the same rewards, assigned to samples in a random order."""
    order = np.random.default_rng(seed).permutation(len(rewards))
    return [float(rewards[int(i)]) for i in order]
