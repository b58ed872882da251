"""A seeded crowd simulator with known truth, for measuring estimators.

Samples of lines with true labels (a configurable share wrong); annotators drawn from a
mixed population (competent, sloppy, spammers at p = 1/2, a few adversarial below 1/2);
each sample judged in full by ``overlap`` distinct annotators, as real submissions are;
a share of samples are honeypots whose lines carry gold. In the two-coin mode annotators
miss real bugs more often than they flag good lines (the asymmetry reported for code
review), while keeping the same overall accuracy p on a random line, so one-coin and
two-coin crowds are equally good and differ only in shape.

Everything is vectorised: ten million votes take a few seconds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from crlhf.engine.votes import FloatArray, IntArray, VoteArray, VoteSet
from crlhf.errors import InvalidInput

__all__ = ["ANNOTATOR_KINDS", "CrowdConfig", "Population", "SimulatedCrowd", "simulate_crowd"]

#: Annotator kinds in the order of :class:`Population`'s fields; ``SimulatedCrowd.kind``
#: indexes this tuple.
ANNOTATOR_KINDS = ("competent", "sloppy", "spammer", "adversarial")

#: Reliability range per kind, drawn uniformly; spammers are exactly 1/2.
_RANGES = {
    "competent": (0.80, 0.95),
    "sloppy": (0.60, 0.75),
    "spammer": (0.5, 0.5),
    "adversarial": (0.25, 0.40),
}


@dataclass(frozen=True)
class Population:
    """Shares of each annotator kind (normalised, so they need not sum to 1)."""

    competent: float = 0.55
    sloppy: float = 0.25
    spammer: float = 0.15
    adversarial: float = 0.05

    def __post_init__(self) -> None:
        shares = self.shares()
        if not all(math.isfinite(s) and s >= 0 for s in shares) or sum(shares) <= 0:
            raise InvalidInput(
                "population shares must be finite, >= 0 and not all 0", field="population"
            )

    def shares(self) -> tuple[float, float, float, float]:
        return (self.competent, self.sloppy, self.spammer, self.adversarial)


@dataclass(frozen=True)
class CrowdConfig:
    """What to simulate. Defaults: ~1M votes at overlap 5 with 5% honeypots."""

    n_samples: int = 10_000
    lines_min: int = 5
    """Judged lines per sample are drawn uniformly from [lines_min, lines_max]."""
    lines_max: int = 35
    wrong_share: float = 0.3
    """P(line wrong), independently per line."""
    n_annotators: int = 200
    overlap: int = 5
    """Distinct annotators per sample; each labels every line of it."""
    honeypot_rate: float = 0.05
    """Share of samples whose lines are gold (their truth is in ``VoteSet.gold``)."""
    two_coin: bool = False
    bug_gap: float = 0.2
    """Two-coin only: a non-spammer's specificity P(−1 | wrong) is ``p − bug_gap`` and its
    sensitivity P(+1 | correct) rises to keep its accuracy on a random line at p."""
    activity_sigma: float = 1.0
    """Log-normal spread of how much each annotator works (0: everyone equally); real
    crowds have a few heavy annotators and a long tail of occasional ones."""
    population: Population = field(default_factory=Population)
    seed: int = 0

    def __post_init__(self) -> None:
        if self.n_samples < 1 or self.n_annotators < 1:
            raise InvalidInput("need at least one sample and one annotator", field="n_samples")
        if not 1 <= self.lines_min <= self.lines_max:
            raise InvalidInput("need 1 <= lines_min <= lines_max", field="lines_min")
        if not 1 <= self.overlap <= self.n_annotators:
            raise InvalidInput(
                f"overlap must lie in [1, n_annotators={self.n_annotators}]", field="overlap"
            )
        for name in ("wrong_share", "honeypot_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise InvalidInput(f"{name} must lie in [0, 1], got {value}", field=name)
        if not 0.0 <= self.bug_gap < 0.5:
            raise InvalidInput("bug_gap must lie in [0, 0.5)", field="bug_gap")
        if not (math.isfinite(self.activity_sigma) and self.activity_sigma >= 0.0):
            raise InvalidInput("activity_sigma must be finite and >= 0", field="activity_sigma")


@dataclass(frozen=True)
class SimulatedCrowd:
    votes: VoteSet
    """All votes, grouped by line; honeypot lines carry their truth in ``votes.gold``."""
    truth: VoteArray
    """True label per line: +1 correct, −1 wrong."""
    line_sample: IntArray
    """Sample index of each line."""
    honeypot: npt.NDArray[np.bool_]
    """Per sample: whether it is a honeypot."""
    reliability: FloatArray
    """True P(right vote) on a random line, per annotator."""
    sensitivity: FloatArray
    """True P(vote +1 | line correct)."""
    specificity: FloatArray
    """True P(vote −1 | line wrong)."""
    kind: IntArray
    """Index into :data:`ANNOTATOR_KINDS` per annotator."""


def _draw_annotators(
    config: CrowdConfig, rng: np.random.Generator
) -> tuple[IntArray, FloatArray, FloatArray, FloatArray]:
    shares = np.asarray(config.population.shares(), dtype=np.float64)
    kind = rng.choice(len(ANNOTATOR_KINDS), size=config.n_annotators, p=shares / shares.sum())
    low = np.array([_RANGES[k][0] for k in ANNOTATOR_KINDS])[kind]
    high = np.array([_RANGES[k][1] for k in ANNOTATOR_KINDS])[kind]
    p = rng.uniform(low, high)
    sens = p.copy()
    spec = p.copy()
    if config.two_coin and config.wrong_share < 1.0:
        asym = kind != ANNOTATOR_KINDS.index("spammer")
        w = config.wrong_share
        # Keep (1−w)·sens + w·spec = p: lowering spec by g raises sens by g·w/(1−w).
        spec[asym] = np.clip(p[asym] - config.bug_gap, 0.01, 0.99)
        sens[asym] = np.clip(p[asym] + (p[asym] - spec[asym]) * w / (1.0 - w), 0.01, 0.99)
    reliability = (1.0 - config.wrong_share) * sens + config.wrong_share * spec
    return kind.astype(np.int64), reliability, sens, spec


def _assign(config: CrowdConfig, rng: np.random.Generator) -> IntArray:
    """``overlap`` distinct annotators per sample, weighted by activity (rows redrawn on a tie)."""
    activity = rng.lognormal(0.0, config.activity_sigma, size=config.n_annotators)
    weight = activity / activity.sum()
    shape = (config.n_samples, config.overlap)
    chosen = rng.choice(config.n_annotators, size=shape, p=weight)
    while True:
        ordered = np.sort(chosen, axis=1)
        clash = (ordered[:, 1:] == ordered[:, :-1]).any(axis=1)
        if not clash.any():
            return chosen.astype(np.int64)
        chosen[clash] = rng.choice(config.n_annotators, size=(int(clash.sum()), shape[1]), p=weight)


def simulate_crowd(config: CrowdConfig | None = None) -> SimulatedCrowd:
    """Draw one crowd, its votes and the truth behind them (same seed, same crowd).

    >>> crowd = simulate_crowd(CrowdConfig(n_samples=100, seed=1))
    >>> crowd.votes.n_votes == int((crowd.votes.line >= 0).sum())
    True
    """
    config = config or CrowdConfig()
    rng = np.random.default_rng(config.seed)
    kind, reliability, sens, spec = _draw_annotators(config, rng)

    lines_per_sample = rng.integers(config.lines_min, config.lines_max + 1, config.n_samples)
    line_sample = np.repeat(np.arange(config.n_samples, dtype=np.int64), lines_per_sample)
    n_lines = line_sample.size
    truth = np.where(rng.random(n_lines) < config.wrong_share, -1, 1).astype(np.int8)
    honeypot = rng.random(config.n_samples) < config.honeypot_rate
    gold = np.where(honeypot[line_sample], truth, 0).astype(np.int8)

    # Every line gets the votes of its sample's annotators: (lines × overlap), line-major.
    annotator = _assign(config, rng)[line_sample].ravel()
    line = np.repeat(np.arange(n_lines, dtype=np.int64), config.overlap)
    line_truth = truth[line]
    p_right = np.where(line_truth > 0, sens[annotator], spec[annotator])
    right = rng.random(line.size) < p_right
    vote = np.where(right, line_truth, -line_truth).astype(np.int8)

    votes = VoteSet.build(
        line, annotator, vote, n_lines=n_lines, n_annotators=config.n_annotators, gold=gold
    )
    return SimulatedCrowd(
        votes=votes,
        truth=truth,
        line_sample=line_sample,
        honeypot=honeypot,
        reliability=reliability,
        sensitivity=sens,
        specificity=spec,
        kind=kind,
    )
