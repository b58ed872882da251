"""The aggregation engine's settings: one typed object shared by batch and incremental code.

The server builds one :class:`EngineConfig` per process (from its settings) and hands it to
every engine call, so the posterior a user sees after a submission and the one a full refit
computes rest on the same prior, threshold and default estimator.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

#: The estimator a full refit uses unless told otherwise; chosen from the measurements in
#: ``benchmarks/aggregation_quality.py`` (see docs/engine.md, "Benchmarks and the default
#: estimator"): two-coin Dawid–Skene EM, or one-coin where AIC says the crowd is one-coin.
#: It is ``em-two-coin`` on two-coin crowds and on every real crowd measured, and gains
#: 0.01–0.09 points on one-coin crowds, for ~13 % more fit time on two-coin crowds.
DEFAULT_ESTIMATOR = "em-auto"

#: Options of :data:`DEFAULT_ESTIMATOR` when none are given: a weaker Beta prior (m = 1
#: pseudo-vote per rate instead of 4) halves the calibration error on two-coin crowds at
#: overlap 3 and gains up to a point of accuracy on the real crowds (docs/engine.md).
DEFAULT_ESTIMATOR_OPTIONS: dict[str, Any] = {"prior_strength": 1.0}


class EngineConfig(BaseModel):
    """Prior, threshold, reliability prior and estimator choice of the aggregation engine.

    Frozen so it can be shared between threads and cached by the server.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    prior: float = Field(default=0.5, gt=0.0, lt=1.0)
    """p0 = P(line correct) before any vote, used by the incremental consensus. The papers
    use 1/2 (eq. 7), which makes the prior term vanish. The default estimator learns p0 at
    each refit (``class_prior_``); setting this to that value makes the incremental path
    agree with the refit (measured: +0.4 to +1.2 points of line accuracy, docs/engine.md)."""

    tau: float = Field(default=0.5, gt=0.0, lt=1.0)
    """τ: a line counts as correct in the reward (c) when its posterior exceeds τ."""

    initial_reliability: float = Field(default=0.7, gt=0.5, lt=1.0)
    """ν: the reliability a new annotator starts at, and the centre of the Beta prior on
    every annotator's sensitivity and specificity. Above 1/2 so a newcomer's votes count
    (a little) before any honeypot; the papers leave ν unstated."""

    prior_strength: float = Field(default=4.0, gt=0.0)
    """Pseudo-lines behind ν for each true class (Beta(ν·s, (1−ν)·s)). Small: four gold
    lines of each class already weigh as much as the prior."""

    soft_counts: bool = False
    """Whether a submission's non-gold lines also update the submitter's counts, weighted
    by the consensus of the other annotators (online EM). Off by default: replaying
    simulated submissions (``benchmarks/incremental_replay.py``), it lowered line accuracy
    and doubled the reliability error; see docs/engine.md."""

    reliability_min: float = Field(default=0.01, gt=0.0, lt=0.5)
    """Lower clamp on reliabilities (and sensitivities/specificities) before taking logits,
    so no single annotator's vote can outweigh every other (logit(0) = −∞)."""

    reliability_max: float = Field(default=0.99, gt=0.5, lt=1.0)
    """Upper clamp, the mirror of :attr:`reliability_min`."""

    pbar_max: float = Field(default=0.99, gt=0.5, lt=1.0)
    """Cap on p̄, the certainty of the reference label in the paper's online rule (eq. 8):
    logit(1) = ∞ would move a reliability to 0 or 1 after one honeypot line."""

    estimator: str = DEFAULT_ESTIMATOR
    """Name in the estimator registry (``crlhf.engine.estimators.ESTIMATORS``) that a full
    refit uses."""

    estimator_options: dict[str, Any] = Field(default_factory=dict)
    """Keyword arguments for that estimator's constructor (e.g. ``{"max_iter": 50}``).
    Left out, they are :data:`DEFAULT_ESTIMATOR_OPTIONS` for the default estimator and
    empty for any other (so naming another estimator never inherits options it lacks)."""

    @model_validator(mode="before")
    @classmethod
    def _default_options(cls, data: Any) -> Any:
        if (
            isinstance(data, dict)
            and "estimator_options" not in data
            and data.get("estimator", DEFAULT_ESTIMATOR) == DEFAULT_ESTIMATOR
        ):
            return {**data, "estimator_options": dict(DEFAULT_ESTIMATOR_OPTIONS)}
        return data

    def options_for(self, estimator: str) -> dict[str, Any]:
        """Constructor options for a refit with ``estimator``: the configured options when it
        is the configured estimator, none otherwise (they belong to that estimator)."""
        return dict(self.estimator_options) if estimator == self.estimator else {}

    @model_validator(mode="after")
    def _check_clamps(self) -> EngineConfig:
        if not self.reliability_min < self.initial_reliability < self.reliability_max:
            # ValueError: pydantic reports it as a ValidationError naming the field.
            raise ValueError(
                "initial_reliability must lie strictly between reliability_min and "
                f"reliability_max, got {self.initial_reliability}"
            )
        return self
