"""pass@k against the binomial definition, exhaustively on small cases and at n = 10,000."""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import numpy as np
import pytest

from crlhf.errors import InvalidPassAtK
from crlhf.passk import mean_pass_at_k, pass_at_k, pass_at_k_per_problem


def exact(n: int, c: int, k: int) -> float:
    return float(1 - Fraction(math.comb(n - c, k), math.comb(n, k)))


def test_matches_binomial_form_exhaustively_for_small_n() -> None:
    for n in range(1, 31):
        for c in range(n + 1):
            for k in range(1, n + 1):
                assert pass_at_k(n, c, k) == pytest.approx(exact(n, c, k), rel=1e-12, abs=1e-15)


def test_vectorised_matches_scalar_exhaustively() -> None:
    for n in range(1, 25):
        cs = np.arange(n + 1)
        for k in range(1, n + 1):
            got = pass_at_k_per_problem(n, cs, k)
            want = [exact(n, int(c), k) for c in cs]
            np.testing.assert_allclose(got, want, rtol=1e-11, atol=1e-15)


def test_mixed_n_per_problem() -> None:
    ns = [5, 100, 37, 100]
    cs = [2, 13, 0, 100]
    got = pass_at_k_per_problem(ns, cs, 4)
    np.testing.assert_allclose(
        got, [exact(n, c, 4) for n, c in zip(ns, cs, strict=True)], rtol=1e-11
    )
    assert mean_pass_at_k(ns, cs, 4) == pytest.approx(
        np.mean([exact(n, c, 4) for n, c in zip(ns, cs, strict=True)])
    )


def test_hand_computed_values() -> None:
    assert pass_at_k(10, 1, 1) == pytest.approx(0.1)
    assert pass_at_k(4, 2, 2) == pytest.approx(1 - 1 / 6)  # C(2,2)/C(4,2)
    assert pass_at_k(5, 0, 3) == 0.0
    assert pass_at_k(5, 3, 3) == 1.0  # n - c < k: every draw holds a correct sample
    assert pass_at_k(100, 100, 100) == 1.0


@pytest.mark.parametrize(
    ("c", "k"), [(1, 1), (1, 100), (37, 10), (5000, 100), (9990, 1), (123, 1000)]
)
def test_finite_and_accurate_at_n_10000(c: int, k: int) -> None:
    n = 10_000
    want = exact(n, c, k)
    got = pass_at_k(n, c, k)
    assert math.isfinite(got)
    assert got == pytest.approx(want, rel=1e-10, abs=1e-300)
    got_vec = pass_at_k_per_problem([n], [c], k)[0]
    assert got_vec == pytest.approx(want, rel=1e-9, abs=1e-300)


def test_pass_at_1_is_the_share_correct_at_n_10000() -> None:
    cs = np.array([0, 1, 17, 4999, 10_000])
    np.testing.assert_allclose(pass_at_k_per_problem(10_000, cs, 1), cs / 10_000, rtol=1e-10)


def test_pass_at_k_increases_with_k_and_c() -> None:
    values = [pass_at_k(100, 7, k) for k in range(1, 101)]
    assert all(a <= b for a, b in itertools.pairwise(values))
    values = [pass_at_k(100, c, 10) for c in range(101)]
    assert all(a <= b for a, b in itertools.pairwise(values))


@pytest.mark.parametrize(
    ("n", "c", "k", "field"),
    [
        (10, 1, 11, "k"),
        (10, 11, 1, "c"),
        (10, -1, 1, "c"),
        (0, 0, 1, "n"),
        (10, 1, 0, "k"),
        (10, 1, -2, "k"),
        (-5, 0, 1, "n"),
    ],
)
def test_invalid_arguments_raise(n: int, c: int, k: int, field: str) -> None:
    with pytest.raises(InvalidPassAtK) as info:
        pass_at_k(n, c, k)
    assert info.value.field == field
    with pytest.raises(InvalidPassAtK):
        pass_at_k_per_problem([n], [c], k)


def test_non_integers_raise() -> None:
    with pytest.raises(InvalidPassAtK):
        pass_at_k(10.0, 1, 1)  # type: ignore[arg-type]
    with pytest.raises(InvalidPassAtK):
        pass_at_k(10, True, 1)
    with pytest.raises(InvalidPassAtK):
        pass_at_k_per_problem([10.5], [1.0], 1)


def test_empty_problem_list() -> None:
    assert pass_at_k_per_problem([], [], 1).shape == (0,)
    with pytest.raises(InvalidPassAtK):
        mean_pass_at_k([], [], 1)
