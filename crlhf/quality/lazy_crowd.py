"""Lazy annotators added to a simulated crowd, for testing and benchmarking quality control.

The engine's simulator draws annotators who read (well or badly) or answer at random; a
lazy annotator does neither: they submit every sample with nothing marked, so every vote
is +1 (correct). On a crowd where 30 % of lines are wrong they look 70 % accurate to a
one-coin model, which is what makes them worth catching separately.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import numpy.typing as npt

from crlhf.engine.simulate import SimulatedCrowd
from crlhf.engine.votes import VoteSet
from crlhf.errors import InvalidInput

__all__ = ["with_lazy_annotators"]


def with_lazy_annotators(
    crowd: SimulatedCrowd, share: float, *, seed: int = 0
) -> tuple[SimulatedCrowd, npt.NDArray[np.bool_]]:
    """The crowd with ``share`` of its annotators (drawn at random) turned lazy, and the mask.

    Their true reliability becomes the share of correct lines (what "always correct"
    scores), their sensitivity 1 and their specificity 0.
    """
    if not 0.0 <= share <= 1.0:
        raise InvalidInput(f"share must lie in [0, 1], got {share}", field="share")
    rng = np.random.default_rng(seed)
    n = crowd.votes.n_annotators
    lazy = np.zeros(n, dtype=np.bool_)
    lazy[rng.choice(n, size=round(share * n), replace=False)] = True
    votes = crowd.votes
    vote = np.where(lazy[votes.annotator], 1, votes.vote).astype(np.int8)
    new_votes = VoteSet.build(
        votes.line,
        votes.annotator,
        vote,
        n_lines=votes.n_lines,
        n_annotators=n,
        gold=votes.gold,
    )
    correct_share = float((crowd.truth > 0).mean())
    return (
        dataclasses.replace(
            crowd,
            votes=new_votes,
            reliability=np.where(lazy, correct_share, crowd.reliability),
            sensitivity=np.where(lazy, 1.0, crowd.sensitivity),
            specificity=np.where(lazy, 0.0, crowd.specificity),
        ),
        lazy,
    )
