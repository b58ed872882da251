"""The chunked log-prob / entropy / KL computation: hand values, and the same numbers and
gradients as one unchunked pass whatever the chunk size."""

from __future__ import annotations

import math

import pytest
import torch

from crlhf.training import policy as policy_module
from crlhf.training.policy import response_statistics


def test_two_token_vocabulary_matches_hand_computed_values() -> None:
    # One row, one position, logits (0, ln 3) at T = 1: π = (1/4, 3/4).
    # Reference logits (0, 0): π_ref = (1/2, 1/2).
    logits = torch.tensor([[[0.0, math.log(3.0)]]])
    ref = torch.zeros(1, 1, 2)
    stats = response_statistics(logits, torch.tensor([1.0]), torch.tensor([[1]]), ref)
    assert float(stats.logprobs) == pytest.approx(math.log(0.75), abs=1e-6)
    entropy = -(0.25 * math.log(0.25) + 0.75 * math.log(0.75))
    assert float(stats.entropy) == pytest.approx(entropy, abs=1e-6)  # 0.5623
    kl = 0.25 * math.log(0.25 / 0.5) + 0.75 * math.log(0.75 / 0.5)
    assert stats.kl is not None and float(stats.kl) == pytest.approx(kl, abs=1e-6)  # 0.1308


def test_temperature_divides_each_rows_logits() -> None:
    # Logits (0, 2 ln 3) at T = 2 are the distribution of (0, ln 3) at T = 1.
    logits = torch.tensor([[[0.0, 2 * math.log(3.0)]]])
    stats = response_statistics(logits, torch.tensor([2.0]), torch.tensor([[0]]))
    assert float(stats.logprobs) == pytest.approx(math.log(0.25), abs=1e-6)
    assert stats.kl is None


def unchunked(logits, temperature, tokens, ref):
    logp = torch.log_softmax(logits.float() / temperature[:, None, None], dim=-1)
    ref_logp = torch.log_softmax(ref.float() / temperature[:, None, None], dim=-1)
    p = logp.exp()
    return (
        logp.gather(-1, tokens[..., None]).squeeze(-1),
        -(p * logp).sum(-1),
        (p * (logp - ref_logp)).sum(-1),
    )


def weighted_total(weights, values):
    """A scalar that depends on every statistic, for a backward pass through all three."""
    return sum((w * v).sum() for w, v in zip(weights, values, strict=True))


@pytest.mark.parametrize("chunk_entries", [1, 7 * 11, 1 << 22])
def test_chunks_give_the_unchunked_values_and_gradients(monkeypatch, chunk_entries) -> None:
    monkeypatch.setattr(policy_module, "CHUNK_ENTRIES", chunk_entries)
    generator = torch.Generator().manual_seed(0)
    shape = (3, 7, 11)  # rows, positions, vocabulary
    base = torch.randn(shape, generator=generator)
    ref = torch.randn(shape, generator=generator)
    temperature = torch.tensor([0.7, 1.0, 1.3])
    tokens = torch.randint(0, shape[2], shape[:2], generator=generator)
    weights = torch.randn(3, *shape[:2], generator=generator)

    expected_logits = base.clone().requires_grad_()
    expected = unchunked(expected_logits, temperature, tokens, ref)
    weighted_total(weights, expected).backward()

    logits = base.clone().requires_grad_()
    stats = response_statistics(logits, temperature, tokens, ref)
    assert stats.kl is not None
    got = (stats.logprobs, stats.entropy, stats.kl)
    weighted_total(weights, got).backward()

    for value, want in zip(got, expected, strict=True):
        torch.testing.assert_close(value, want, atol=1e-6, rtol=1e-6)
    assert logits.grad is not None and expected_logits.grad is not None
    torch.testing.assert_close(logits.grad, expected_logits.grad, atol=1e-6, rtol=1e-6)


def test_bfloat16_logits_are_computed_in_float32() -> None:
    logits = torch.tensor([[[0.0, math.log(3.0)]]], dtype=torch.bfloat16)
    stats = response_statistics(logits, torch.tensor([1.0]), torch.tensor([[1]]))
    assert stats.logprobs.dtype == torch.float32


def test_an_empty_response_gives_empty_statistics() -> None:
    logits = torch.zeros(2, 0, 5, requires_grad=True)
    stats = response_statistics(logits, torch.ones(2), torch.zeros(2, 0, dtype=torch.long))
    assert stats.logprobs.shape == (2, 0) and stats.entropy.shape == (2, 0)
