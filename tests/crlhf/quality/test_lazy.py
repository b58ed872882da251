"""Lazy submitters are flagged; careful annotators and newcomers are not."""

from __future__ import annotations

import numpy as np
import pytest

from crlhf.engine.simulate import CrowdConfig, simulate_crowd
from crlhf.errors import InvalidInput
from crlhf.quality.lazy import LazyConfig, SubmissionStats, detect_lazy
from crlhf.quality.lazy_crowd import with_lazy_annotators


def test_lazy_simulated_annotators_are_flagged() -> None:
    crowd = simulate_crowd(CrowdConfig(n_samples=2_000, n_annotators=50, overlap=3, seed=3))
    crowd, lazy = with_lazy_annotators(crowd, 0.2, seed=3)
    stats = SubmissionStats.from_votes(crowd.votes, crowd.line_sample)
    report = detect_lazy(stats)
    enough = report.n_submissions >= LazyConfig().min_submissions
    assert lazy.sum() == 10
    assert (report.flagged == (lazy & enough)).all()
    assert (lazy & enough).sum() >= 8
    assert report.crowd_empty_share < 0.1


def test_too_fast_submissions_are_flagged() -> None:
    # Annotator 1 spends 100 ms per line of a 10-line sample; 0 takes 20 s.
    stats = SubmissionStats.build(
        [0] * 12 + [1] * 12, [10] * 24, [1] * 24, [20_000] * 12 + [1_000] * 12
    )
    report = detect_lazy(stats)
    assert report.flagged_fast.tolist() == [False, True]
    assert report.flagged_empty.tolist() == [False, False]
    assert report.fast_share.tolist() == [0.0, 1.0]


def test_no_verdict_below_the_minimum() -> None:
    stats = SubmissionStats.build([0] * 9 + [1] * 20, [5] * 29, [0] * 9 + [2] * 20)
    report = detect_lazy(stats, LazyConfig(min_submissions=10))
    assert not report.flagged.any()
    assert report.empty_share[0] == 1.0


def test_untimed_submissions_do_not_count() -> None:
    stats = SubmissionStats.build([0] * 12, [5] * 12, [1] * 12, [np.nan] * 12)
    report = detect_lazy(stats)
    assert not report.flagged_fast.any()
    assert np.isnan(report.fast_share[0])


def test_bad_input_raises() -> None:
    with pytest.raises(InvalidInput):
        SubmissionStats.build([0], [3], [4])
    with pytest.raises(InvalidInput):
        SubmissionStats.build([0, 1], [3], [0])
