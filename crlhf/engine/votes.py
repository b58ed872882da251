"""The compact vote representation every estimator consumes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from crlhf.errors import InvalidInput, InvalidReliability, InvalidVote, UnknownAnnotator

IntArray = npt.NDArray[np.int64]
VoteArray = npt.NDArray[np.int8]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class VoteSet:
    """Votes as three parallel arrays: ``line[j]``, ``annotator[j]``, ``vote[j]`` ∈ {+1, -1}.

    Lines and annotators are dense indices ``0..n_lines-1`` and ``0..n_annotators-1``;
    the server keeps the mapping to its own ids. ``gold[l]`` is the known truth of line
    ``l`` (+1 correct, -1 wrong) or 0 when unknown (honeypot lines are the known ones).
    Construction validates once, so estimators can trust the arrays.
    """

    line: IntArray
    annotator: IntArray
    vote: VoteArray
    n_lines: int
    n_annotators: int
    gold: VoteArray

    @classmethod
    def build(
        cls,
        line: npt.ArrayLike,
        annotator: npt.ArrayLike,
        vote: npt.ArrayLike,
        *,
        n_lines: int | None = None,
        n_annotators: int | None = None,
        gold: npt.ArrayLike | None = None,
    ) -> VoteSet:
        line_a = np.ascontiguousarray(line, dtype=np.int64)
        ann_a = np.ascontiguousarray(annotator, dtype=np.int64)
        raw_vote = np.asarray(vote)
        if not (line_a.ndim == ann_a.ndim == raw_vote.ndim == 1):
            raise InvalidInput("line, annotator and vote must be 1-D arrays")
        if not (line_a.shape == ann_a.shape == raw_vote.shape):
            raise InvalidInput(
                f"line, annotator and vote must have the same length, got "
                f"{line_a.size}, {ann_a.size}, {raw_vote.size}"
            )
        bad = ~np.isin(raw_vote, (1, -1))
        if bad.any():
            j = int(np.flatnonzero(bad)[0])
            raise InvalidVote(
                f"votes must be +1 (correct) or -1 (wrong); vote #{j} is {raw_vote[j]!r}",
                field="vote",
            )
        vote_a = raw_vote.astype(np.int8)
        n_l = int(line_a.max()) + 1 if n_lines is None and line_a.size else (n_lines or 0)
        n_a = int(ann_a.max()) + 1 if n_annotators is None and ann_a.size else (n_annotators or 0)
        if line_a.size and (line_a.min() < 0 or line_a.max() >= n_l):
            raise InvalidInput(f"line indices must lie in [0, {n_l})", field="line")
        if ann_a.size and (ann_a.min() < 0 or ann_a.max() >= n_a):
            raise UnknownAnnotator(
                f"annotator indices must lie in [0, {n_a}); got {int(ann_a.max())}",
                field="annotator",
            )
        if gold is None:
            gold_a = np.zeros(n_l, dtype=np.int8)
        else:
            raw_gold = np.asarray(gold)
            if raw_gold.shape != (n_l,):
                raise InvalidInput(f"gold must have one entry per line ({n_l})", field="gold")
            if not np.isin(raw_gold, (1, -1, 0)).all():
                raise InvalidVote("gold entries must be +1, -1 or 0 (unknown)", field="gold")
            gold_a = raw_gold.astype(np.int8)
        return cls(line_a, ann_a, vote_a, n_l, n_a, gold_a)

    @property
    def n_votes(self) -> int:
        return int(self.vote.size)

    @property
    def gold_mask(self) -> npt.NDArray[np.bool_]:
        """Per vote: whether its line has a known label."""
        mask: npt.NDArray[np.bool_] = self.gold[self.line] != 0
        return mask


def check_reliability(reliability: npt.ArrayLike, n_annotators: int) -> FloatArray:
    """Validate a reliability vector: one finite probability per annotator."""
    p = np.asarray(reliability, dtype=np.float64)
    if p.shape != (n_annotators,):
        raise UnknownAnnotator(
            f"need one reliability per annotator ({n_annotators}), got shape {p.shape}",
            field="reliability",
        )
    if not np.isfinite(p).all():
        raise InvalidReliability("reliabilities must be finite (found NaN or inf)")
    if (p < 0).any() or (p > 1).any():
        raise InvalidReliability("reliabilities must lie in [0, 1]")
    return p
