"""Standard inter-annotator agreement next to the Bayesian model, so the model can be checked.

The Bayesian reliabilities explain the votes through a model; chance-corrected agreement
makes no model assumption. If the crowd agrees little (α near 0) while the model reports
confident posteriors, the model is leaning on its prior or on a few heavy annotators.

- :func:`krippendorff_alpha` (nominal), α = 1 − (n − 1) · Σ_{c≠k} o_ck / Σ_{c≠k} n_c·n_k,
  with the coincidence matrix o built from every unit with at least two values
  (Krippendorff, *Content Analysis*, 2004, ch. 11; missing values are allowed).
- :func:`fleiss_kappa`, κ = (P̄ − P̄_e) / (1 − P̄_e) (Fleiss, 1971). Fleiss defined it for a
  fixed number of raters per item; with varying numbers each item's P_i uses its own n_i
  (the usual generalisation), and items with fewer than two ratings are left out.
- :func:`pairwise_agreement`: per annotator, the share of (their vote, another annotator's
  vote on the same line) pairs that agree; no chance correction, easy to explain.

All three work on a :class:`~crlhf.engine.votes.VoteSet` (lines are the units, the labels
±1 the categories) through :func:`category_counts`, and are vectorised.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from crlhf.engine.votes import FloatArray, IntArray, VoteSet
from crlhf.errors import EmptyVoteSet, InvalidInput

__all__ = ["category_counts", "fleiss_kappa", "krippendorff_alpha", "pairwise_agreement"]


def category_counts(votes: VoteSet) -> IntArray:
    """Per line, how many votes said wrong (column 0) and correct (column 1)."""
    counts = np.zeros((votes.n_lines, 2), dtype=np.int64)
    np.add.at(counts, (votes.line, (votes.vote > 0).astype(np.int64)), 1)
    return counts


def _check_counts(counts: npt.ArrayLike) -> IntArray:
    table = np.asarray(counts)
    if table.ndim != 2 or table.shape[1] < 2:
        raise InvalidInput("counts must be a units × categories table (≥ 2 categories)")
    if (table < 0).any() or not np.issubdtype(table.dtype, np.integer):
        raise InvalidInput("counts must be non-negative integers")
    return table.astype(np.int64)


def krippendorff_alpha(counts: npt.ArrayLike | VoteSet) -> float:
    """Krippendorff's alpha for nominal data from per-unit category counts.

    >>> round(krippendorff_alpha([[2, 0], [0, 2], [1, 1]]), 3)
    0.444
    """
    table = _check_counts(category_counts(counts) if isinstance(counts, VoteSet) else counts)
    m = table.sum(axis=1)
    pairable = table[m >= 2]
    m_p = m[m >= 2].astype(np.float64)
    if pairable.size == 0:
        raise EmptyVoteSet("no unit has two values: agreement is undefined")
    n_c = pairable.sum(axis=0).astype(np.float64)
    n = n_c.sum()
    # Disagreeing coincidences: Σ_u (m_u² − Σ_c n_uc²) / (m_u − 1) counts ordered pairs c ≠ k.
    observed = ((m_p**2 - (pairable.astype(np.float64) ** 2).sum(axis=1)) / (m_p - 1)).sum()
    expected = n**2 - (n_c**2).sum()
    if expected == 0:
        raise EmptyVoteSet("every value is the same category: alpha is undefined")
    return float(1.0 - (n - 1) * observed / expected)


def fleiss_kappa(counts: npt.ArrayLike | VoteSet) -> float:
    """Fleiss' kappa from per-item category counts (items with < 2 ratings left out).

    >>> round(fleiss_kappa([[2, 0], [0, 2], [1, 1]]), 3)
    0.333
    """
    table = _check_counts(category_counts(counts) if isinstance(counts, VoteSet) else counts)
    n_i = table.sum(axis=1)
    rated = table[n_i >= 2].astype(np.float64)
    n_r = n_i[n_i >= 2].astype(np.float64)
    if rated.size == 0:
        raise EmptyVoteSet("no item has two ratings: kappa is undefined")
    p_i = ((rated * (rated - 1)).sum(axis=1)) / (n_r * (n_r - 1))
    p_j = rated.sum(axis=0) / n_r.sum()
    p_bar, p_e = float(p_i.mean()), float((p_j**2).sum())
    if p_e == 1.0:
        raise EmptyVoteSet("every rating is the same category: kappa is undefined")
    return (p_bar - p_e) / (1.0 - p_e)


def pairwise_agreement(votes: VoteSet) -> FloatArray:
    """Per annotator, the share of pairs with other annotators' votes on the same line
    that agree; NaN for an annotator who never shares a line with anyone.

    A vote on a line with a correct and b wrong votes (its own included) agrees with
    a − 1 others if it says correct, with b − 1 if it says wrong, out of a + b − 1.
    """
    counts = category_counts(votes)
    col = (votes.vote > 0).astype(np.int64)
    same = counts[votes.line, col] - 1
    total = counts[votes.line].sum(axis=1) - 1
    agree = np.bincount(votes.annotator, weights=same, minlength=votes.n_annotators)
    pairs = np.bincount(votes.annotator, weights=total, minlength=votes.n_annotators)
    with np.errstate(invalid="ignore", divide="ignore"):
        share: FloatArray = np.where(pairs > 0, agree / np.maximum(pairs, 1), np.nan)
    return share
