"""The sparse vote matrix sums exactly what np.bincount sums, in any vote order."""

import numpy as np
import pytest

from crlhf.engine.estimators.design import VoteMatrix
from crlhf.engine.votes import VoteSet


@pytest.mark.parametrize("shuffle", [False, True])
def test_sums_match_bincount(shuffle):
    rng = np.random.default_rng(0)
    line = np.repeat(np.arange(50), 4)
    ann = rng.integers(0, 7, line.size)  # repeats (same annotator twice on a line) included
    vote = rng.choice([-1, 1], line.size)
    if shuffle:
        perm = rng.permutation(line.size)
        line, ann, vote = line[perm], ann[perm], vote[perm]
    votes = VoteSet.build(line, ann, vote, n_lines=52, n_annotators=8)
    mat = VoteMatrix.from_votes(votes)
    pos_w, neg_w = rng.normal(size=8), rng.normal(size=8)
    expected = np.bincount(line, weights=np.where(vote > 0, pos_w[ann], neg_w[ann]), minlength=52)
    np.testing.assert_allclose(mat.line_sums(pos_w, neg_w), expected)
    q = rng.random(52)
    pos, neg = mat.annotator_sums(q)
    np.testing.assert_allclose(
        pos, np.bincount(ann[vote > 0], weights=q[line[vote > 0]], minlength=8)
    )
    np.testing.assert_allclose(
        neg, np.bincount(ann[vote < 0], weights=q[line[vote < 0]], minlength=8)
    )
    np.testing.assert_array_equal(mat.n_pos, np.bincount(ann[vote > 0], minlength=8))
    np.testing.assert_array_equal(mat.n_neg, np.bincount(ann[vote < 0], minlength=8))
