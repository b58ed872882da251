"""pass@k: the unbiased estimator of Chen et al. (2021), as the cRLHF papers report it.

Given ``n`` generated samples for a problem of which ``c`` pass the tests, the
probability that at least one of ``k`` samples drawn without replacement passes is

    pass@k = 1 − C(n−c, k) / C(n, k) = 1 − Π_{i=n−c+1..n} (1 − k/i).

The binomial form overflows floats long before n = 10,000 (C(10000, 100) has ~240
digits); the product form stays in [0, 1] and needs only ``c`` multiplications, so it
is what both functions here compute.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from crlhf.errors import InvalidPassAtK

__all__ = ["mean_pass_at_k", "pass_at_k", "pass_at_k_per_problem"]


def _check(n: int, c: int, k: int) -> None:
    for name, value in (("n", n), ("c", c), ("k", k)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer):
            raise InvalidPassAtK(f"{name} must be an integer, got {value!r}", field=name)
    if n < 1:
        raise InvalidPassAtK(f"need at least one sample, got n={n}", field="n")
    if k < 1:
        raise InvalidPassAtK(f"k must be at least 1, got k={k}", field="k")
    if c < 0:
        raise InvalidPassAtK(f"c must not be negative, got c={c}", field="c")
    if c > n:
        raise InvalidPassAtK(f"c={c} correct samples out of n={n} is impossible", field="c")
    if k > n:
        raise InvalidPassAtK(f"cannot draw k={k} samples from n={n}", field="k")


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k for one problem with ``n`` samples of which ``c`` are correct.

    >>> pass_at_k(10, 1, 1)
    0.1
    >>> round(pass_at_k(100, 5, 10), 6)
    0.416248

    Raises :class:`~crlhf.errors.InvalidPassAtK` when ``k > n``, ``c > n``, ``n < 1``,
    ``k < 1``, ``c < 0`` or an argument is not an integer.
    """
    _check(n, c, k)
    if n - c < k:
        # Every draw of k samples contains a correct one: C(n−c, k) = 0.
        return 1.0
    # log1p(-k/i) summed keeps precision when the product is close to 1 (small c, large n).
    log_fail = math.fsum(math.log1p(-k / i) for i in range(n - c + 1, n + 1))
    return -math.expm1(log_fail) + 0.0


def pass_at_k_per_problem(
    n_per_problem: Sequence[int] | npt.ArrayLike,
    c_per_problem: Sequence[int] | npt.ArrayLike,
    k: int,
) -> npt.NDArray[np.float64]:
    """pass@k for every problem at once (vectorised over problems).

    ``n_per_problem`` may be a single integer broadcast to every problem (the usual
    case: the same number of samples per problem). Validation matches :func:`pass_at_k`.
    """
    c = np.asarray(c_per_problem)
    n = np.broadcast_to(np.asarray(n_per_problem), c.shape)
    if c.ndim != 1:
        raise InvalidPassAtK("c_per_problem must be a 1-D sequence", field="c")
    if c.size and not (np.issubdtype(c.dtype, np.integer) and np.issubdtype(n.dtype, np.integer)):
        raise InvalidPassAtK("n and c must be integers", field="c")
    n64 = n.astype(np.int64)
    c64 = c.astype(np.int64)
    for n_i, c_i in zip(n64.tolist(), c64.tolist(), strict=True):
        _check(int(n_i), int(c_i), k)
    out = np.ones(c64.shape, dtype=np.float64)
    if not c64.size:
        return out
    # Σ_{i=n−c+1..n} log1p(−k/i) as a difference of suffix sums over i = 1..max n, one
    # table shared by all problems. Summing from the top down keeps the common case
    # (every problem has n = max n) a plain suffix sum, with no cancellation when c is
    # small and the result is close to 0. Terms with i <= k are -inf or NaN but only
    # occur when n − c < k, which the mask below sends to 1.0.
    top = int(n64.max())
    i = np.arange(1, top + 1, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(i > k, np.log1p(-k / i), 0.0)
    # suffix[j] = Σ_{i=j+1..top} terms, so the sum over (n−c, n] is suffix[n−c] − suffix[n].
    suffix = np.concatenate((np.cumsum(terms[::-1])[::-1], [0.0]))
    some_fail = (n64 - c64) >= k
    n_f, c_f = n64[some_fail], c64[some_fail]
    log_fail = suffix[n_f - c_f] - suffix[n_f]
    # + 0.0 turns the -0.0 of c = 0 into 0.0.
    out[some_fail] = -np.expm1(log_fail) + 0.0
    return out


def mean_pass_at_k(
    n_per_problem: Sequence[int] | npt.ArrayLike,
    c_per_problem: Sequence[int] | npt.ArrayLike,
    k: int,
) -> float:
    """Mean pass@k over problems, the figure the papers report (Table I).

    Raises :class:`~crlhf.errors.InvalidPassAtK` for an empty problem list.
    """
    per_problem = pass_at_k_per_problem(n_per_problem, c_per_problem, k)
    if not per_problem.size:
        raise InvalidPassAtK("no problems to average over", field="c")
    return float(per_problem.mean())
