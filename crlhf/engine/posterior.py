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
