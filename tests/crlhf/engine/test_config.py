"""EngineConfig: defaults the rest of the engine relies on, and rejected settings."""

from __future__ import annotations

import pydantic
import pytest

from crlhf.engine.config import DEFAULT_ESTIMATOR, DEFAULT_ESTIMATOR_OPTIONS, EngineConfig
from crlhf.engine.estimators import make_estimator


def test_defaults_follow_the_papers() -> None:
    cfg = EngineConfig()
    assert (cfg.prior, cfg.tau) == (0.5, 0.5)
    assert cfg.estimator == DEFAULT_ESTIMATOR
    assert cfg.estimator_options == DEFAULT_ESTIMATOR_OPTIONS


def test_default_options_only_go_with_the_default_estimator() -> None:
    assert EngineConfig(estimator="majority").estimator_options == {}
    assert EngineConfig(estimator=DEFAULT_ESTIMATOR).estimator_options == DEFAULT_ESTIMATOR_OPTIONS
    assert EngineConfig(estimator_options={"max_iter": 5}).estimator_options == {"max_iter": 5}


def test_options_for_another_estimator_are_empty() -> None:
    cfg = EngineConfig()
    assert cfg.options_for(DEFAULT_ESTIMATOR) == DEFAULT_ESTIMATOR_OPTIONS
    assert cfg.options_for("majority") == {}
    make_estimator("majority", **cfg.options_for("majority"))  # no stray option


def test_default_options_build_the_default_estimator() -> None:
    cfg = EngineConfig()
    estimator = make_estimator(cfg.estimator, **cfg.estimator_options)
    assert estimator.prior_strength == DEFAULT_ESTIMATOR_OPTIONS["prior_strength"]  # type: ignore[attr-defined]


def test_fields_are_documented() -> None:
    for name, field in EngineConfig.model_fields.items():
        assert field.description, f"{name} has no attribute docstring"


def test_frozen() -> None:
    cfg = EngineConfig()
    with pytest.raises(pydantic.ValidationError):
        cfg.tau = 0.7  # type: ignore[misc]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"prior": 0.0},
        {"tau": 1.0},
        {"initial_reliability": 0.5},
        {"prior_strength": 0.0},
        {"reliability_min": 0.5},
        {"pbar_max": 1.0},
        {"initial_reliability": 0.995},
        {"reliability_max": 0.6, "initial_reliability": 0.7},
        {"unknown": 1},
    ],
)
def test_rejects_impossible_settings(kwargs: dict[str, object]) -> None:
    with pytest.raises(pydantic.ValidationError):
        EngineConfig(**kwargs)
