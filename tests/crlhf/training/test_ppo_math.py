"""The PPO step's arithmetic against hand-computed values."""

from __future__ import annotations

import pytest
import torch

from crlhf.training.config import PPOConfig
from crlhf.training.ppo import gae, kl_per_token, masked_whiten, ppo_losses, token_rewards

pytestmark = pytest.mark.slow


def test_k3_is_never_negative_where_k1_is() -> None:
    logp = torch.tensor([-1.0, -2.0, -0.5])
    ref = torch.tensor([-0.5, -2.0, -1.5])
    k1 = kl_per_token(logp, ref, "k1")
    k3 = kl_per_token(logp, ref, "k3")
    assert k1[0] < 0
    assert torch.all(k3 >= 0)
    assert k3[1] == 0
    # k3 = (ρ − 1) − log ρ with ρ = π_ref / π = e^{0.5} at the first token.
    assert k3[0].item() == pytest.approx((torch.exp(torch.tensor(0.5)) - 1 - 0.5).item())


def test_score_lands_on_the_last_unmasked_token_with_the_kl_penalty() -> None:
    config = PPOConfig(kl_coef=0.5, kl_estimator="k1")
    logp = torch.tensor([[-1.0, -1.0, -1.0], [-1.0, -1.0, -1.0]])
    ref = torch.tensor([[-1.2, -1.0, -1.0], [-1.0, -1.0, -1.0]])
    mask = torch.tensor([[1.0, 1.0, 0.0], [1.0, 1.0, 1.0]])
    kl = kl_per_token(logp, ref, "k1")
    rewards = token_rewards(torch.tensor([0.75, 0.25]), kl, mask, config)
    assert rewards[0].tolist() == pytest.approx([-0.1, 0.75, 0.0])
    assert rewards[1].tolist() == pytest.approx([0.0, 0.0, 0.25])


def test_gae_with_lambda_one_is_return_minus_value() -> None:
    rewards = torch.tensor([[0.0, 0.0, 1.0, 0.0]])
    values = torch.tensor([[0.2, 0.4, 0.6, 9.0]])
    mask = torch.tensor([[1.0, 1.0, 1.0, 0.0]])
    advantages, returns = gae(rewards, values, mask, gamma=1.0, lam=1.0)
    assert advantages[0].tolist() == pytest.approx([0.8, 0.6, 0.4, 0.0])
    assert returns[0].tolist() == pytest.approx([1.0, 1.0, 1.0, 0.0])


def test_gae_lambda_below_one_starves_early_tokens() -> None:
    # The pitfall behind the default λ = 1: zero values, one end reward, T = 50 tokens.
    length = 50
    rewards = torch.zeros(1, length)
    rewards[0, -1] = 1.0
    mask = torch.ones(1, length)
    starved, _ = gae(rewards, torch.zeros(1, length), mask, gamma=1.0, lam=0.95)
    full, _ = gae(rewards, torch.zeros(1, length), mask, gamma=1.0, lam=1.0)
    assert starved[0, 0].item() == pytest.approx(0.95 ** (length - 1))
    assert starved[0, 0] < 0.1 * full[0, 0]


def test_gae_discount_by_hand() -> None:
    rewards = torch.tensor([[0.0, 1.0]])
    values = torch.tensor([[0.5, 0.5]])
    mask = torch.ones(1, 2)
    advantages, _ = gae(rewards, values, mask, gamma=0.9, lam=0.5)
    # δ_1 = 1 − 0.5 = 0.5; δ_0 = 0 + 0.9·0.5 − 0.5 = −0.05; A_0 = δ_0 + 0.45·δ_1 = 0.175.
    assert advantages[0].tolist() == pytest.approx([0.175, 0.5])


def test_whitening_ignores_masked_entries() -> None:
    values = torch.tensor([[1.0, 2.0, 100.0], [3.0, 100.0, 100.0]])
    mask = torch.tensor([[1.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    white = masked_whiten(values, mask)
    assert white[0, 2] == 0 and white[1, 1] == 0
    kept = white[mask.bool()]
    assert kept.mean().item() == pytest.approx(0.0, abs=1e-6)
    assert kept.std().item() == pytest.approx(1.0, abs=1e-4)


def test_surrogate_is_clipped() -> None:
    config = PPOConfig(cliprange=0.2, vf_coef=0.0)
    mask = torch.ones(1, 2)
    zeros = torch.zeros(1, 2)
    advantages = torch.tensor([[1.0, -1.0]])
    # log ratio 1.0 on both tokens: ratio e ≈ 2.72 lies far outside [0.8, 1.2].
    loss, stats = ppo_losses(
        torch.ones(1, 2),
        zeros,
        old_logprobs=zeros,
        old_values=zeros,
        advantages=advantages,
        returns=zeros,
        mask=mask,
        config=config,
    )
    # Positive advantage: gain capped at 1.2; negative advantage: the full e counts.
    expected = (-1.2 + torch.e) / 2
    assert loss.item() == pytest.approx(expected, rel=1e-5)
    assert stats["clip_frac"] == pytest.approx(0.5)
    assert stats["approx_kl"] == pytest.approx(0.5)
