"""A problem on which every mutation operator has something to mutate, and a sandbox."""

from __future__ import annotations

import pytest

from crlhf.sandbox import Executor, Limits
from crlhf.schemas import ProblemIn

REFERENCE = '''\
def window_sums(values, size):
    """Sums of each run of `size` consecutive values."""
    sums = []
    total = 0
    for i in range(len(values)):
        total += values[i]  # running total
        if i >= size:
            total -= values[i - size]
        if i >= size - 1 and size > 0:
            sums.append(total)
    return sums


def first_index(values, target):
    for i in range(len(values)):
        if values[i] == target:
            return i
    return -1


def ratio(a, b):
    return round(a / b, 2)
'''

TESTS = """\
assert window_sums([1, 2, 3, 4], 2) == [3, 5, 7]
assert window_sums([1, 2], 0) == []
assert first_index([5, 6, 7], 7) == 2
assert first_index([5, 6], 9) == -1
assert ratio(1, 4) == 0.25
"""


@pytest.fixture
def problem() -> ProblemIn:
    return ProblemIn(
        id="window-sums",
        title="Window sums",
        description="Sums of windows, a search and a ratio.",
        tests=TESTS,
        reference_solution=REFERENCE,
    )


@pytest.fixture(scope="module")
def executor() -> Executor:
    return Executor(Limits(timeout_s=3.0), workers=2)
