"""Padding and masks of PPO batches (no model needed)."""

from __future__ import annotations

import pytest
import torch

from crlhf.training.batch import build_batch, mask_after_eos
from crlhf.training.rollout import Rollout

pytestmark = pytest.mark.slow

PAD = EOS = 0


def rollout(query: tuple[int, ...], response: tuple[int, ...], score: float = 1.0) -> Rollout:
    return Rollout("s", query, response, tuple(-0.5 for _ in response), 0.8, score)


def test_queries_left_padded_responses_right_padded() -> None:
    batch = build_batch(
        [rollout((5, 6, 7), (8, 9)), rollout((5,), (8, 9, 10, EOS))], pad_id=PAD, eos_id=EOS
    )
    assert batch.query_length == 3
    assert batch.input_ids.tolist() == [[5, 6, 7, 8, 9, PAD, PAD], [PAD, PAD, 5, 8, 9, 10, EOS]]
    assert batch.attention_mask.tolist() == [[1, 1, 1, 1, 1, 0, 0], [0, 0, 1, 1, 1, 1, 1]]
    # Positions count real tokens only, so a left-padded row looks unpadded to the model.
    assert batch.position_ids[1, 2:].tolist() == [0, 1, 2, 3, 4]
    assert batch.response_mask.tolist() == [[1, 1, 0, 0], [1, 1, 1, 1]]
    assert batch.sample_logprobs.tolist() == [[-0.5, -0.5, 0, 0], [-0.5] * 4]


def test_mask_ends_after_the_first_eos() -> None:
    responses = torch.tensor([[3, EOS, 4, EOS], [3, 4, 5, 6], [EOS, 3, 3, 3]])
    mask = mask_after_eos(responses, torch.tensor([4, 3, 4]), EOS)
    assert mask.tolist() == [[1, 1, 0, 0], [1, 1, 1, 0], [1, 0, 0, 0]]


def test_select_keeps_rows_and_query_length() -> None:
    batch = build_batch(
        [rollout((1,), (2,), 0.0), rollout((1, 2), (3,), 0.5), rollout((4,), (5, 6), 1.0)],
        pad_id=PAD,
        eos_id=EOS,
    )
    picked = batch.select(torch.tensor([2, 0]))
    assert picked.size == 2
    assert picked.scores.tolist() == [1.0, 0.0]
    assert picked.query_length == batch.query_length
