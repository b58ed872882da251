"""The paper's online rule against a plain sequential reference, and its documented drift."""

import math

import numpy as np
import numpy.typing as npt
import pytest

from crlhf.engine.estimators import BetaReliability, PaperOnline
from crlhf.engine.votes import VoteSet
from crlhf.errors import InvalidInput

from .crowd import make_crowd


def _logit(p: float) -> float:
    return math.log(p) - math.log1p(-p)


def reference_rule(
    votes: VoteSet, est: PaperOnline, unit_of_line: npt.NDArray[np.int64]
) -> npt.NDArray[np.float64]:
    """Eq. 8 written out unit by unit (slow and obvious), in the documented order."""
    lo, hi = _logit(est.p_min), _logit(est.p_max)
    cap = _logit(est.pbar_max)
    x = [_logit(est.nu)] * votes.n_annotators
    per_line: dict[int, list[tuple[int, int]]] = {}
    for j in range(votes.n_votes):
        per_line.setdefault(int(votes.line[j]), []).append(
            (int(votes.annotator[j]), int(votes.vote[j]))
        )
    units: dict[tuple[bool, int], list[int]] = {}
    for line in sorted(per_line):
        gold = int(votes.gold[line])
        units.setdefault((gold == 0, int(unit_of_line[line])), []).append(line)
    keys = sorted(units)
    honeypots = [k for k in keys if not k[0]]
    others = [k for k in keys if k[0]]
    batches = [[k] for k in honeypots] + [
        others[i : i + est.batch_size] for i in range(0, len(others), est.batch_size)
    ]
    for batch in batches:
        snapshot = list(x)
        delta = [0.0] * votes.n_annotators
        for key in batch:
            steps: dict[int, list[float]] = {}
            for line in units[key]:
                gold = int(votes.gold[line])
                if gold:
                    favoured, strength = gold, cap
                else:
                    s = sum(v * snapshot[a] for a, v in per_line[line])
                    favoured = 1 if s > 0 else -1 if s < 0 else 0
                    strength = min(abs(s), cap)
                for a, v in per_line[line]:
                    mu = 1 if v == favoured else -1
                    steps.setdefault(a, []).append(mu * strength)
            for a, own in steps.items():
                # Per line every vote is a step; per sample an annotator's steps average.
                share = 1 if est.granularity == "per-line" else len(own)
                delta[a] += est.step * sum(own) / share
        for a in range(votes.n_annotators):
            x[a] = min(max(snapshot[a] + delta[a], lo), hi)
    reliability: npt.NDArray[np.float64] = 1 / (1 + np.exp(-np.array(x)))
    return reliability


@pytest.fixture(scope="module")
def crowd():
    rng = np.random.default_rng(21)
    p = rng.uniform(0.55, 0.95, 9)
    p[2] = 0.3
    return make_crowd(p, p, n_samples=60, lines_per_sample=4, honeypot_share=0.3, seed=21)


@pytest.mark.parametrize(
    "options",
    [
        {"step": 1.0},
        {"step": 0.1},
        {"step": 0.2, "granularity": "per-sample"},
        {"step": 0.2, "batch_size": 7},
        {"step": 0.3, "granularity": "per-sample", "batch_size": 3},
    ],
)
def test_matches_the_sequential_reference(crowd, options):
    est = PaperOnline(**options).fit(crowd.votes, line_sample=crowd.line_sample)
    unit = crowd.line_sample if est.granularity == "per-sample" else np.arange(crowd.votes.n_lines)
    np.testing.assert_allclose(est.reliability_, reference_rule(crowd.votes, est, unit))


@pytest.mark.parametrize("granularity", ["per-line", "per-sample"])
@pytest.mark.parametrize("changed_mind", [False, True])
def test_repeated_votes_count_as_separate_votes(crowd, granularity, changed_mind):
    votes = crowd.votes
    again = np.arange(votes.n_votes)[::7]  # repeat some honeypot and consensus votes
    # With changed_mind, every other repeat contradicts the first vote; otherwise all agree
    # (per line, the two cases take different code paths).
    flip = np.where(np.arange(again.size) % 2, 1, -1) if changed_mind else 1
    doubled = VoteSet.build(
        np.concatenate([votes.line, votes.line[again]]),
        np.concatenate([votes.annotator, votes.annotator[again]]),
        np.concatenate([votes.vote, flip * votes.vote[again]]),
        n_lines=votes.n_lines,
        n_annotators=votes.n_annotators,
        gold=votes.gold,
    )
    est = PaperOnline(step=0.3, granularity=granularity)
    est.fit(doubled, line_sample=crowd.line_sample)
    unit = crowd.line_sample if granularity == "per-sample" else np.arange(votes.n_lines)
    np.testing.assert_allclose(est.reliability_, reference_rule(doubled, est, unit))


def test_vote_order_does_not_matter(crowd):
    votes = crowd.votes
    perm = np.random.default_rng(0).permutation(votes.n_votes)
    shuffled = VoteSet.build(
        votes.line[perm],
        votes.annotator[perm],
        votes.vote[perm],
        n_lines=votes.n_lines,
        n_annotators=votes.n_annotators,
        gold=votes.gold,
    )
    a = PaperOnline(step=0.2, granularity="per-sample").fit(votes, line_sample=crowd.line_sample)
    b = PaperOnline(step=0.2, granularity="per-sample").fit(shuffled, line_sample=crowd.line_sample)
    np.testing.assert_allclose(a.reliability_, b.reliability_)


def test_literal_rule_is_decided_by_the_last_few_votes():
    # λ = 1 moves logit(p) by logit(0.99) per honeypot line, half the clamp range: the
    # estimate hops between 0.01, 0.5 and 0.99 and ends where the last votes put it.
    p = np.array([0.9, 0.75, 0.6, 0.3])
    crowd = make_crowd(p, p, n_samples=400, honeypot_share=1.0, seed=2)
    literal = PaperOnline().fit(crowd.votes)
    assert set(np.round(literal.reliability_, 6)) <= {0.01, 0.5, 0.99}
    assert np.abs(literal.reliability_ - p).mean() > 0.2
    assert np.abs(BetaReliability().fit(crowd.votes).reliability_ - p).max() < 0.05


def test_small_steps_still_drift_to_the_clamps():
    p = np.array([0.9, 0.75, 0.6, 0.3])
    crowd = make_crowd(p, p, n_samples=400, honeypot_share=1.0, seed=2)
    est = PaperOnline(step=0.1).fit(crowd.votes)
    assert est.reliability_[0] > 0.97
    assert est.reliability_[3] < 0.03


def test_small_steps_keep_the_ranking(crowd):
    est = PaperOnline(step=0.05, granularity="per-sample").fit(
        crowd.votes, line_sample=crowd.line_sample
    )
    truth = crowd.reliability
    assert np.argmin(est.reliability_) == np.argmin(truth)
    assert est.reliability_[2] < 0.5


def test_per_sample_needs_a_valid_line_sample(crowd):
    est = PaperOnline(granularity="per-sample")
    with pytest.raises(InvalidInput, match="line_sample"):
        est.fit(crowd.votes)
    with pytest.raises(InvalidInput, match="line_sample"):
        est.fit(crowd.votes, line_sample=crowd.line_sample[:-1])
    with pytest.raises(InvalidInput, match="line_sample"):
        est.fit(crowd.votes, line_sample=-crowd.line_sample - 1)
