"""The papers' online reliability rule (eq. 8, Algorithm 1), with its gaps closed.

Kept so that benchmarks can show what it does: with λ = 1 per judged line it moves a
reliability by whole logits per line and drifts to the clamps for anyone better or worse
than chance. The principled estimators (Beta, EM, sparse logistic regression) sit beside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Self

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from scipy.special import expit

from crlhf.engine.estimators.base import (
    Estimator,
    check_count,
    check_open_unit,
    check_positive,
    check_votes,
    line_sample_index,
)
from crlhf.engine.posterior import line_posterior, logit
from crlhf.engine.votes import FloatArray, IntArray, VoteSet
from crlhf.errors import InvalidInput

Granularity = Literal["per-line", "per-sample"]


@dataclass
class PaperOnline(Estimator):
    """Eq. 8 of Wong & Tan (arXiv 2503.15129): logit(p_i) ← logit(p_i) + λ · μ · logit(p̄).

    Every annotator starts at p_i = ν. Lines are judged in a fixed order and after each
    *unit* (a line, or a sample with ``granularity="per-sample"``) each annotator who voted
    on it moves by λ · μ · logit(p̄): μ = +1 if their vote matched the reference label, −1 if
    not; p̄ = ``pbar_max`` on honeypot lines (the reference is the gold label, and logit(1)
    would be infinite) and otherwise the eq.-7 posterior of the label the current
    reliabilities favour (including the voter's own vote, as in the paper), capped at
    ``pbar_max``; a line whose posterior is exactly ½ moves no one. After every step p_i is
    clamped into [``p_min``, ``p_max``]. Per sample, an annotator's steps on its lines are
    averaged into one step; per line, every vote is a step (a repeated vote counts twice,
    as it does in eq. 7).

    Processing order (deterministic): first every honeypot unit, in ascending line (or
    sample) index; then every other unit in ascending index, lines within a unit in
    ascending index. The honeypot phase is exact and vectorised (p̄ is constant, so it is
    one clamped cumulative sum per annotator). In the consensus phase, ``batch_size``
    consecutive units share one reliability snapshot and each annotator's steps in a batch
    are summed before clamping; ``batch_size=1`` is the literal sequential rule (and costs
    one Python-level step per unit). The literal paper rule is ``step=1``, per line.

    ``posterior_`` is eq. 7 with the final reliabilities and prior ``prior``.

    Example:
        >>> from crlhf.engine.votes import VoteSet
        >>> # one honeypot line (truth +1) then a line both annotators vote on.
        >>> votes = VoteSet.build([0, 0, 1, 1], [0, 1, 0, 1], [1, -1, 1, 1], gold=[1, 0])
        >>> est = PaperOnline(step=0.1).fit(votes)
        >>> est.reliability_.round(3).tolist()
        [0.814, 0.636]
    """

    nu: float = 0.7
    """ν, every annotator's starting reliability (the papers leave it unstated)."""
    step: float = 1.0
    """λ, the step size; 1 is the paper's value."""
    pbar_max: float = 0.99
    """Cap on p̄: honeypots use it, consensus lines use min(posterior, pbar_max)."""
    p_min: float = 0.01
    """Lower clamp on every reliability."""
    p_max: float = 0.99
    """Upper clamp on every reliability."""
    granularity: Granularity = "per-line"
    """``per-line``: one step per judged line (literal); ``per-sample``: one averaged step per
    sample, which needs ``line_sample`` in :meth:`fit`."""
    batch_size: int = 1
    """Units of the consensus phase that share one reliability snapshot (1 = sequential)."""
    prior: float = 0.5
    """p0 in the final eq.-7 posterior."""

    def __post_init__(self) -> None:
        check_open_unit(self.nu, "nu")
        check_positive(self.step, "step")
        check_open_unit(self.pbar_max, "pbar_max")
        check_open_unit(self.p_min, "p_min")
        check_open_unit(self.p_max, "p_max")
        check_open_unit(self.prior, "prior")
        check_count(self.batch_size, "batch_size")
        if not self.p_min <= self.nu <= self.p_max:
            raise InvalidInput("need p_min <= nu <= p_max", field="nu")
        if self.pbar_max <= 0.5:
            raise InvalidInput("pbar_max must exceed 1/2", field="pbar_max")
        if self.granularity not in ("per-line", "per-sample"):
            raise InvalidInput(
                f"granularity must be 'per-line' or 'per-sample', got {self.granularity!r}",
                field="granularity",
            )

    def fit(self, votes: VoteSet, *, line_sample: npt.ArrayLike | None = None) -> Self:
        """Run the rule over ``votes``; ``line_sample`` (line → sample) is needed per sample."""
        check_votes(votes)
        sample = line_sample_index(line_sample, votes.n_lines)
        if self.granularity == "per-sample":
            if sample is None:
                raise InvalidInput(
                    "granularity='per-sample' needs line_sample (the sample of every line)",
                    field="line_sample",
                )
            unit_of_line = sample
        else:
            unit_of_line = np.arange(votes.n_lines, dtype=np.int64)
        bounds = (float(logit(self.p_min)), float(logit(self.p_max)))
        x = np.full(votes.n_annotators, float(logit(self.nu)))
        self._honeypot_phase(x, votes, unit_of_line, bounds)
        self._consensus_phase(x, votes, unit_of_line, bounds)
        self.reliability_ = expit(x)
        self.posterior_ = line_posterior(votes, self.reliability_, self.prior)
        return self

    def _honeypot_phase(
        self,
        x: FloatArray,
        votes: VoteSet,
        unit_of_line: IntArray,
        bounds: tuple[float, float],
    ) -> None:
        """Apply every honeypot step: a clamped cumulative sum per annotator, in unit order."""
        sel = np.flatnonzero(votes.gold_mask)
        if sel.size == 0:
            return
        line = votes.line[sel]
        mu = np.where(votes.vote[sel] == votes.gold[line], 1.0, -1.0)
        unit = unit_of_line[line]
        n_units = int(unit.max()) + 1
        # One entry per (annotator, unit), sorted by annotator then unit.
        key, inverse, count = np.unique(
            votes.annotator[sel] * n_units + unit, return_inverse=True, return_counts=True
        )
        steps = self.step * float(logit(self.pbar_max)) * np.bincount(inverse, weights=mu)
        if self.granularity == "per-sample":
            steps /= count  # one averaged step per (annotator, sample)
        entry_ann = key // n_units
        rank = np.arange(key.size) - np.searchsorted(entry_ann, entry_ann, side="left")
        by_rank = np.argsort(rank, kind="stable")
        edges = np.concatenate(([0], np.cumsum(np.bincount(rank))))
        # Entries of one rank belong to distinct annotators: one vector step each.
        for r in range(edges.size - 1):
            idx = by_rank[edges[r] : edges[r + 1]]
            ann = entry_ann[idx]
            x[ann] = np.clip(x[ann] + steps[idx], *bounds)

    def _consensus_phase(
        self,
        x: FloatArray,
        votes: VoteSet,
        unit_of_line: IntArray,
        bounds: tuple[float, float],
    ) -> None:
        """Apply the steps of non-honeypot lines, batch by batch, in processing order."""
        m = votes.n_annotators
        keep = votes.gold[votes.line] == 0
        if not keep.any():
            return
        # Rows in processing order: by unit, then line.
        order = np.lexsort((np.arange(votes.n_lines), unit_of_line))
        row_of_line = np.empty(votes.n_lines, dtype=np.int64)
        row_of_line[order] = np.arange(votes.n_lines)
        column = votes.annotator[keep] + m * (votes.vote[keep] < 0)
        grouped = sp.coo_array(
            (np.ones(column.size), (row_of_line[votes.line[keep]], column)),
            shape=(votes.n_lines, 2 * m),
        ).tocsr()
        # After the conversion a repeated (line, annotator, vote) is one entry whose data is
        # its multiplicity: it counts that many times, as in eq. 7's sums.
        counts = np.diff(grouped.indptr)
        vote_ann: IntArray = grouped.indices % m
        vote_mult: FloatArray = grouped.data
        vote_signed: FloatArray = np.where(grouped.indices < m, 1.0, -1.0) * vote_mult
        voted_rows = np.flatnonzero(counts)
        cap = float(logit(self.pbar_max))
        per_sample = self.granularity == "per-sample"
        if not per_sample and self.batch_size == 1 and _one_vote_per_annotator(grouped, m):
            _sequential_lines(
                x,
                grouped.indptr,
                voted_rows,
                (vote_ann, vote_signed),
                cap=cap,
                step=self.step,
                bounds=bounds,
            )
            return
        vote_row: IntArray = np.repeat(np.arange(votes.n_lines), counts)

        # Batch boundaries: every batch_size-th new unit among rows that have votes.
        unit_seq = unit_of_line[order][voted_rows]
        new_unit = np.ones(unit_seq.size, dtype=bool)
        new_unit[1:] = unit_seq[1:] != unit_seq[:-1]
        unit_rank = np.cumsum(new_unit) - 1
        starts = voted_rows[new_unit & (unit_rank % self.batch_size == 0)]
        row_edges = np.append(starts, votes.n_lines)
        vote_edges = grouped.indptr[row_edges]
        vote_key: IntArray | None = None
        if per_sample:
            unit_rank_of_row = np.zeros(votes.n_lines, dtype=np.int64)
            unit_rank_of_row[voted_rows] = unit_rank
            # (unit rank · m + annotator) per vote: the key of one averaged step.
            vote_key = unit_rank_of_row[vote_row] * m + vote_ann

        lo, hi = bounds
        for b in range(starts.size):
            s, e = int(vote_edges[b]), int(vote_edges[b + 1])
            ann = vote_ann[s:e]
            signed_vote = vote_signed[s:e]
            rows = vote_row[s:e] - int(row_edges[b])
            log_odds = np.bincount(rows, weights=signed_vote * x[ann])
            # logit(p̄) of the favoured label, signed by that label: sign(s)·min(|s|, cap).
            np.minimum(log_odds, cap, out=log_odds)
            np.maximum(log_odds, -cap, out=log_odds)
            contrib = signed_vote * log_odds[rows]
            if vote_key is not None:
                key = vote_key[s:e] - vote_key[s] // m * m
                contrib /= np.bincount(key, weights=vote_mult[s:e])[key]
            x += self.step * np.bincount(ann, weights=contrib, minlength=m)
            np.minimum(x, hi, out=x)
            np.maximum(x, lo, out=x)


def _one_vote_per_annotator(grouped: sp.csr_array, m: int) -> bool:
    """Whether no line holds both a +1 and a −1 vote of the same annotator."""
    by_annotator = sp.csr_array(
        (np.ones(grouped.nnz), grouped.indices % m, grouped.indptr.copy()),
        shape=(grouped.shape[0], m),
    )
    by_annotator.sum_duplicates()
    return bool(by_annotator.nnz == grouped.nnz)


def _sequential_lines(
    x: FloatArray,
    indptr: IntArray,
    voted_rows: IntArray,
    line_votes: tuple[IntArray, FloatArray],
    *,
    cap: float,
    step: float,
    bounds: tuple[float, float],
) -> None:
    """The literal rule, one line at a time, touching only that line's annotators.

    Same arithmetic as the batched loop with one line per batch, but on the line's few
    votes instead of all annotators: the sequential rule is one step per judged line, so the
    constant cost of a step is what decides its speed. Needs distinct annotators per line.
    """
    vote_ann, vote_signed = line_votes
    lo, hi = bounds
    starts = indptr[voted_rows].tolist()
    ends = indptr[voted_rows + 1].tolist()
    for s, e in zip(starts, ends, strict=True):
        ann = vote_ann[s:e]
        signed_vote = vote_signed[s:e]
        own = x[ann]
        # logit(p̄) of the favoured label, signed by that label.
        log_odds = min(max(float(signed_vote @ own), -cap), cap)
        own += (step * log_odds) * signed_vote
        np.minimum(own, hi, out=own)
        np.maximum(own, lo, out=own)
        x[ann] = own
