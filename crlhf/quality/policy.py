"""The automatic-action policy on unreliable annotators: nothing, down-weight, pause.

Down-weighting needs no action at all: it *is* the Bayesian model, which gives an
annotator's vote the weight logit(p_i) (eq. 7), so a poor annotator counts for little.
But a weight near zero still costs: each of their assignments is an overlap slot a good
annotator did not fill, and a miscalibrated estimate (a lazy annotator who never flags
anything looks 70 % accurate to a one-coin model when 30 % of lines are wrong) lets their
votes pull rewards. Pausing stops both. The policy therefore judges annotators by
**balanced accuracy on gold lines**, (sensitivity + specificity) / 2, which is 1/2 for
anyone who answers without looking, whatever the share of wrong lines, and uses
Beta posterior means (prior centred at ν) so a handful of gold lines moves little.

Rules, in order:

1. **Minimum evidence**: no action before ``min_gold_lines`` gold lines, of which at least
   ``min_gold_wrong`` truly wrong ones (specificity needs wrong lines to be measured).
   Callers pass the gold seen *since the last reinstatement*, so a reinstated annotator
   starts with a clean slate and the minimum applies again.
2. **Pause** when the balanced accuracy is below ``pause_below``, or when the lazy report
   flags them (that report has its own minimum, ``LazyConfig.min_submissions``).
3. **Down-weighted** (reported, no action) when it is below ``downweight_below``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, model_validator

from crlhf.engine.votes import FloatArray, IntArray, VoteSet
from crlhf.errors import InvalidInput

__all__ = ["Action", "GoldEvidence", "PolicyConfig", "PolicyDecision", "decide"]


class Action(StrEnum):
    NONE = "none"
    DOWNWEIGHT = "downweight"
    PAUSE = "pause"


class PolicyConfig(BaseModel):
    """Thresholds of the automatic actions (one object per server process)."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    min_gold_lines: int = Field(default=30, ge=1)
    """No action before this many gold lines judged (since the last reinstatement)."""
    min_gold_wrong: int = Field(default=5, ge=0)
    """...of which at least this many truly wrong."""
    downweight_below: float = Field(default=0.7, gt=0.0, lt=1.0)
    """Balanced accuracy below which an annotator is listed as down-weighted."""
    pause_below: float = Field(default=0.6, gt=0.0, lt=1.0)
    """Balanced accuracy below which an annotator is paused."""
    prior_mean: float = Field(default=0.7, gt=0.0, lt=1.0)
    """ν: centre of the Beta prior on sensitivity and specificity."""
    prior_strength: float = Field(default=4.0, gt=0.0)
    """Pseudo-lines behind the prior, per class."""

    @model_validator(mode="after")
    def _ordered(self) -> PolicyConfig:
        if self.pause_below > self.downweight_below:
            raise ValueError("pause_below must not exceed downweight_below")
        return self


@dataclass(frozen=True)
class GoldEvidence:
    """Per annotator: gold lines judged and judged right, split by true class."""

    correct_seen: IntArray
    correct_right: IntArray
    wrong_seen: IntArray
    wrong_right: IntArray

    @classmethod
    def from_votes(cls, votes: VoteSet) -> GoldEvidence:
        """Count every vote on a gold line of ``votes`` (``votes.gold != 0``)."""
        gold = votes.gold[votes.line]
        right = votes.vote == gold
        ann, n = votes.annotator, votes.n_annotators

        def count(mask: npt.NDArray[np.bool_]) -> IntArray:
            return np.bincount(ann[mask], minlength=n).astype(np.int64)

        return cls(
            correct_seen=count(gold > 0),
            correct_right=count((gold > 0) & right),
            wrong_seen=count(gold < 0),
            wrong_right=count((gold < 0) & right),
        )

    @property
    def lines(self) -> IntArray:
        total: IntArray = self.correct_seen + self.wrong_seen
        return total


@dataclass(frozen=True)
class PolicyDecision:
    """Per annotator (index = annotator): the action, why, and the numbers behind it."""

    action: list[Action]
    reason: list[str]
    balanced_accuracy: FloatArray
    gold_lines: IntArray

    @property
    def paused(self) -> npt.NDArray[np.bool_]:
        return np.array([a is Action.PAUSE for a in self.action], dtype=np.bool_)


def decide(
    evidence: GoldEvidence,
    config: PolicyConfig | None = None,
    *,
    lazy: npt.ArrayLike | None = None,
) -> PolicyDecision:
    """Apply the policy to every annotator; ``lazy`` is the lazy report's flag per annotator.

    >>> ev = GoldEvidence(*(np.array([x]) for x in (40, 40, 10, 0)))
    >>> decide(ev).action
    [<Action.PAUSE: 'pause'>]
    """
    config = config or PolicyConfig()
    n = evidence.correct_seen.size
    flags = np.zeros(n, dtype=np.bool_) if lazy is None else np.asarray(lazy, dtype=np.bool_)
    if flags.shape != (n,):
        raise InvalidInput(f"lazy needs one flag per annotator ({n})", field="lazy")
    m, s = config.prior_mean, config.prior_strength
    sens = (evidence.correct_right + m * s) / (evidence.correct_seen + s)
    spec = (evidence.wrong_right + m * s) / (evidence.wrong_seen + s)
    balanced = ((sens + spec) / 2.0).astype(np.float64)
    enough = (evidence.lines >= config.min_gold_lines) & (
        evidence.wrong_seen >= config.min_gold_wrong
    )
    actions: list[Action] = []
    reasons: list[str] = []
    for i in range(n):
        score = f"balanced accuracy {balanced[i]:.2f} on {int(evidence.lines[i])} gold lines"
        if flags[i]:
            actions.append(Action.PAUSE)
            reasons.append(
                "submissions look unread: nothing marked or too fast, far more often than the crowd"
            )
        elif not enough[i]:
            actions.append(Action.NONE)
            reasons.append(f"not enough gold evidence yet ({int(evidence.lines[i])} lines)")
        elif balanced[i] < config.pause_below:
            actions.append(Action.PAUSE)
            reasons.append(f"{score}, below the pause threshold {config.pause_below:.2f}")
        elif balanced[i] < config.downweight_below:
            actions.append(Action.DOWNWEIGHT)
            reasons.append(f"{score}, below {config.downweight_below:.2f}: votes down-weighted")
        else:
            actions.append(Action.NONE)
            reasons.append(score)
    return PolicyDecision(
        action=actions,
        reason=reasons,
        balanced_accuracy=balanced,
        gold_lines=evidence.lines.astype(np.int64),
    )
