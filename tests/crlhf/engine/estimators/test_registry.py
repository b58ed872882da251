"""The registry, the shared estimator contract, input checks and the docstring examples."""

import doctest
import importlib

import numpy as np
import pytest

from crlhf.engine.estimators import ESTIMATORS, TwoCoinEstimator, make_estimator
from crlhf.engine.votes import VoteSet
from crlhf.errors import EmptyVoteSet, InvalidInput, InvalidReliability

from .crowd import make_crowd

MODULES = ["majority", "beta", "em", "sparse_logreg", "paper"]


@pytest.mark.parametrize("module", MODULES)
def test_docstring_examples_run(module):
    mod = importlib.import_module(f"crlhf.engine.estimators.{module}")
    result = doctest.testmod(mod, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0
    assert result.failed == 0


def test_every_estimator_class_has_a_runnable_example():
    for cls in ESTIMATORS.values():
        assert doctest.DocTestFinder(recurse=False).find(cls)[0].examples, cls.__name__


def test_registry_names():
    required = {"paper", "sparse-logreg", "beta", "em-one-coin", "em-two-coin", "majority"}
    assert required <= set(ESTIMATORS)
    for name, cls in ESTIMATORS.items():
        assert isinstance(make_estimator(name), cls)


def test_unknown_name_or_option_is_invalid_input():
    with pytest.raises(InvalidInput, match="unknown estimator"):
        make_estimator("wawa")
    with pytest.raises(InvalidInput, match="no option"):
        make_estimator("beta", strength=3)


@pytest.mark.parametrize(
    ("name", "options", "error"),
    [
        ("beta", {"nu": float("nan")}, InvalidReliability),
        ("beta", {"nu": 1.0}, InvalidReliability),
        ("beta", {"prior_strength": -1.0}, InvalidInput),
        ("em-two-coin", {"max_iter": 0}, InvalidInput),
        ("em-one-coin", {"tol": float("inf")}, InvalidInput),
        ("sparse-logreg", {"gamma0": 0.0}, InvalidInput),
        ("sparse-logreg", {"gamma_scaling": "log"}, InvalidInput),
        ("paper", {"granularity": "per-token"}, InvalidInput),
        ("paper", {"p_min": 0.8}, InvalidInput),
        ("paper", {"pbar_max": 0.4}, InvalidInput),
        ("paper", {"batch_size": 0}, InvalidInput),
    ],
)
def test_bad_option_values_raise_typed_errors(name, options, error):
    with pytest.raises(error):
        make_estimator(name, **options)


@pytest.fixture(scope="module")
def crowd():
    rng = np.random.default_rng(5)
    p = rng.uniform(0.6, 0.95, 12)
    return make_crowd(p, p, n_samples=300, seed=5)


@pytest.mark.parametrize("name", sorted(ESTIMATORS))
def test_fitted_state_contract(name, crowd):
    est = make_estimator(name)
    assert est.fit(crowd.votes, line_sample=crowd.line_sample) is est
    votes = crowd.votes
    assert est.reliability_.shape == (votes.n_annotators,)
    assert est.reliability_.dtype == np.float64
    assert est.posterior_.shape == (votes.n_lines,)
    assert np.all((est.posterior_ >= 0) & (est.posterior_ <= 1))
    assert np.all((est.reliability_ >= 0) & (est.reliability_ <= 1))
    if isinstance(est, TwoCoinEstimator):
        assert est.sensitivity_.shape == est.specificity_.shape == (votes.n_annotators,)
        p0 = est.class_prior_
        np.testing.assert_allclose(
            est.reliability_, p0 * est.sensitivity_ + (1 - p0) * est.specificity_
        )


@pytest.mark.parametrize("name", sorted(ESTIMATORS))
def test_empty_vote_set_is_an_error(name):
    empty = VoteSet.build([], [], [], n_lines=3, n_annotators=2)
    with pytest.raises(EmptyVoteSet):
        make_estimator(name).fit(empty)


@pytest.mark.parametrize("name", sorted(ESTIMATORS))
def test_fit_rejects_what_is_not_a_vote_set(name):
    with pytest.raises(InvalidInput):
        make_estimator(name).fit(([0], [0], [1]))  # type: ignore[arg-type]
