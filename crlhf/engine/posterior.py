"""Eq. 7: the posterior probability that a line is correct given its votes."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from crlhf.engine.votes import FloatArray, VoteSet, check_reliability
from crlhf.errors import InvalidInput

#: Reliabilities are clamped into [EPS, 1-EPS] before taking logits, so a perfect
#: (or perfectly wrong) annotator gets a large finite weight instead of ±inf.
RELIABILITY_EPS = 1e-6


def logit(p: npt.ArrayLike) -> FloatArray:
    q = np.clip(np.asarray(p, dtype=np.float64), RELIABILITY_EPS, 1 - RELIABILITY_EPS)
    return np.log(q) - np.log1p(-q)


def sigmoid(x: npt.ArrayLike) -> FloatArray:
    """Numerically stable σ(x) (no overflow warning for large |x|)."""
    z = np.asarray(x, dtype=np.float64)
    out = np.empty_like(z)
    pos = z >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-z[pos]))
    ez = np.exp(z[~pos])
    out[~pos] = ez / (1.0 + ez)
    return out


def line_log_odds(votes: VoteSet, reliability: npt.ArrayLike, prior: float = 0.5) -> FloatArray:
    """logit P(correct | votes) per line: logit(p0) + Σ_i ε_i · logit(p_i).

    A line without votes keeps the prior's log-odds.
    """
    if not 0.0 < prior < 1.0:
        raise InvalidInput(f"prior must lie in (0, 1), got {prior}", field="prior")
    p = check_reliability(reliability, votes.n_annotators)
    weights = logit(p)[votes.annotator] * votes.vote
    sums = np.bincount(votes.line, weights=weights, minlength=votes.n_lines)
    log_odds: FloatArray = np.asarray(sums + float(logit(prior)), dtype=np.float64)
    return log_odds


def line_posterior(votes: VoteSet, reliability: npt.ArrayLike, prior: float = 0.5) -> FloatArray:
    """Eq. 7, P(line correct | ε_1..ε_n) = σ(logit p0 + Σ ε_i logit p_i), per line."""
    return sigmoid(line_log_odds(votes, reliability, prior))


def two_coin_weights(
    sensitivity: npt.ArrayLike, specificity: npt.ArrayLike, n_annotators: int
) -> tuple[FloatArray, FloatArray]:
    """Log-likelihood ratios of a +1 and of a −1 vote per annotator (two-coin model).

    With sensitivity s_i = P(+1 | correct) and specificity c_i = P(−1 | wrong), a +1 vote
    adds log(s_i / (1 − c_i)) to a line's log-odds and a −1 vote adds log((1 − s_i) / c_i).
    When s_i = c_i = p_i these are ±logit(p_i), the one-coin weights of eq. 7. Rates are
    clamped into [EPS, 1 − EPS] like reliabilities, so every weight is finite.
    """
    s = np.clip(check_reliability(sensitivity, n_annotators), RELIABILITY_EPS, 1 - RELIABILITY_EPS)
    c = np.clip(check_reliability(specificity, n_annotators), RELIABILITY_EPS, 1 - RELIABILITY_EPS)
    pos: FloatArray = np.log(s) - np.log1p(-c)
    neg: FloatArray = np.log1p(-s) - np.log(c)
    return pos, neg


def two_coin_log_odds(
    votes: VoteSet,
    sensitivity: npt.ArrayLike,
    specificity: npt.ArrayLike,
    prior: float = 0.5,
) -> FloatArray:
    """logit P(correct | votes) per line under the two-coin (Dawid–Skene) model.

    logit(p0) + Σ_i [ε_i = +1] log(s_i / (1 − c_i)) + [ε_i = −1] log((1 − s_i) / c_i).
    A line without votes keeps the prior's log-odds.
    """
    if not 0.0 < prior < 1.0:
        raise InvalidInput(f"prior must lie in (0, 1), got {prior}", field="prior")
    pos, neg = two_coin_weights(sensitivity, specificity, votes.n_annotators)
    weights = np.where(votes.vote > 0, pos[votes.annotator], neg[votes.annotator])
    sums = np.bincount(votes.line, weights=weights, minlength=votes.n_lines)
    log_odds: FloatArray = np.asarray(sums + float(logit(prior)), dtype=np.float64)
    return log_odds


def two_coin_posterior(
    votes: VoteSet,
    sensitivity: npt.ArrayLike,
    specificity: npt.ArrayLike,
    prior: float = 0.5,
) -> FloatArray:
    """P(line correct | votes) per line under the two-coin model (see :func:`two_coin_log_odds`)."""
    return sigmoid(two_coin_log_odds(votes, sensitivity, specificity, prior))
