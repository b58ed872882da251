"""PPO steps on the tiny model: what changes, what does not, and which way it moves."""

from __future__ import annotations

import pytest
import torch

from crlhf.training.config import PPOConfig
from crlhf.training.ppo import PPOTrainer
from tests.crlhf.training.conftest import BAD, GOOD, PROMPT, batch_of, make_row

pytestmark = pytest.mark.slow

FAST = {"learning_rate": 5e-3, "batch_size": 8, "mini_batch_size": 4, "ppo_epochs": 2}


def snapshot(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {name: p.detach().clone() for name, p in module.named_parameters()}


def test_one_step_moves_adapter_and_value_head_only(
    make_policy, tokenizer, preference_rows
) -> None:
    policy = make_policy(**FAST)
    before = snapshot(policy)
    PPOTrainer(policy, PPOConfig(**FAST)).step(batch_of(tokenizer, preference_rows))
    after = snapshot(policy)
    changed = {name for name in before if not torch.equal(before[name], after[name])}
    lora = {name for name in before if "lora_" in name}
    head = {name for name in before if name.startswith("value_head.")}
    assert lora and head
    # LoRA's A and B both move (B starts at zero, A receives gradient once B ≠ 0).
    assert any("lora_B" in name for name in changed) and any("lora_A" in name for name in changed)
    assert head <= changed
    assert changed <= lora | head, f"base weights changed: {sorted(changed - lora - head)}"


def test_approx_kl_at_first_inner_step_is_zero(make_policy, tokenizer, preference_rows) -> None:
    config = PPOConfig(**FAST)
    trainer = PPOTrainer(make_policy(**FAST), config)
    first = trainer.step(batch_of(tokenizer, preference_rows))
    assert first["approx_kl_first"] == pytest.approx(0.0, abs=1e-6)
    assert first["approx_kl_last"] > 1e-6  # and the later updates did move the policy
    # Also on the second step, where the policy differs from the reference.
    second = trainer.step(batch_of(tokenizer, preference_rows))
    assert second["approx_kl_first"] == pytest.approx(0.0, abs=1e-6)
    assert second["kl_ref"] > 0.0


@pytest.mark.parametrize("good_score", [1.0, 0.0], ids=["good-rewarded", "bad-rewarded"])
def test_logprob_follows_the_reward(make_policy, tokenizer, good_score) -> None:
    rows = [
        make_row(
            tokenizer,
            f"s{i}",
            PROMPT,
            GOOD if i % 2 else BAD,
            good_score if i % 2 else 1 - good_score,
        )
        for i in range(8)
    ]
    policy = make_policy(**FAST)
    trainer = PPOTrainer(policy, PPOConfig(**FAST))
    batch = batch_of(tokenizer, rows)
    probe = batch_of(tokenizer, [rows[1], rows[0]])  # (GOOD, BAD)

    def margin() -> float:
        """log π(GOOD | x) − log π(BAD | x), summed over the response tokens."""
        with torch.no_grad():
            logp, _, _ = policy(probe)
        totals = (logp * probe.response_mask).sum(dim=1)
        return float(totals[0] - totals[1])

    start = margin()
    for _ in range(5):
        trainer.step(batch)
    moved = margin() - start
    assert moved > 0.5 if good_score == 1.0 else moved < -0.5


def test_value_warm_up_fits_the_returns(make_policy, tokenizer, preference_rows) -> None:
    settings = {**FAST, "value_warmup_steps": 20, "learning_rate": 2e-2}
    trainer = PPOTrainer(make_policy(**settings), PPOConfig(**settings))
    metrics = trainer.step(batch_of(tokenizer, preference_rows))
    # Targets are 0 or 1 at each token; half of the samples each: the best constant
    # fit has loss ½·0.25, a fitted head goes below that by using the tokens.
    assert metrics["value_warmup_loss"] < 0.125


def test_full_kl_is_the_exact_divergence_and_the_mean_of_k3(
    make_policy, tokenizer, preference_rows
) -> None:
    config = PPOConfig(**FAST, kl_estimator="full")
    policy = make_policy(**FAST)
    batch = batch_of(tokenizer, preference_rows)
    mask = batch.response_mask
    assert float((policy.kl_to_reference(batch) * mask).abs().max()) < 1e-6  # B = 0: π = π_ref
    trainer = PPOTrainer(policy, config)
    trainer.step(batch)
    second = trainer.step(batch)
    assert second["approx_kl_first"] == pytest.approx(0.0, abs=1e-6)
    exact = policy.kl_to_reference(batch)
    with torch.no_grad():
        scale = batch.temperature[:, None, None]
        logits = policy._run(batch, hidden=False)[0] / scale
        with policy.model.disable_adapter():
            ref_logits = policy._run(batch, hidden=False)[0] / scale
    p = torch.softmax(logits, -1)
    by_hand = (p * (torch.log(p) - torch.log_softmax(ref_logits, -1))).sum(-1)
    torch.testing.assert_close(exact, by_hand, atol=1e-5, rtol=1e-4)
    assert float((exact * mask).sum()) > 0.0
    # k3 is an unbiased estimate of the same number: average it over every token of the
    # vocabulary weighted by π, which must give the exact value back.
    logp, ref_logp = torch.log_softmax(logits, -1), torch.log_softmax(ref_logits, -1)
    k3_mean = (p * (torch.expm1(ref_logp - logp) - (ref_logp - logp))).sum(-1)
    torch.testing.assert_close(k3_mean, exact, atol=1e-5, rtol=1e-4)
    assert second["kl_ref"] > 0.0  # the step's penalty used it (measured before its updates)


def test_forward_with_kl_is_the_exact_divergence_and_differentiable(
    make_policy, tokenizer, preference_rows
) -> None:
    policy = make_policy(**FAST)
    batch = batch_of(tokenizer, preference_rows)
    _, _, _, fresh = policy.forward_with_kl(batch)
    assert float(fresh.detach().abs().max()) < 1e-6  # B = 0: π = π_ref
    PPOTrainer(policy, PPOConfig(**FAST, kl_loss_coef=0.0)).step(batch)
    logprobs, values, entropy, kl = policy.forward_with_kl(batch)
    plain = policy(batch)
    for with_kl, without in zip((logprobs, values, entropy), plain, strict=True):
        torch.testing.assert_close(with_kl, without)
    torch.testing.assert_close(kl.detach(), policy.kl_to_reference(batch), atol=1e-6, rtol=1e-5)
    (kl * batch.response_mask).sum().backward()
    grads = [p.grad for name, p in policy.named_parameters() if "lora_" in name]
    assert any(g is not None and float(g.abs().max()) > 0 for g in grads)


def test_kl_loss_holds_the_policy_near_the_reference(
    make_policy, tokenizer, preference_rows
) -> None:
    """The same data, seeds and steps with and without the exact-KL loss term: with it,
    the policy ends measurably closer to the reference (and the metric reports it)."""
    batch = batch_of(tokenizer, preference_rows)
    mask = batch.response_mask

    def train(coef: float) -> tuple[float, float]:
        policy = make_policy(**FAST)
        trainer = PPOTrainer(policy, PPOConfig(**FAST, kl_loss_coef=coef))
        metrics = [trainer.step(batch) for _ in range(4)]
        return float((policy.kl_to_reference(batch) * mask).sum()), metrics[-1]["kl_loss"]

    kl_free, reported_free = train(0.0)
    kl_held, reported_held = train(5.0)
    assert reported_free == 0.0 and reported_held > 0.0
    assert kl_free > 0.0
    assert kl_held < 0.5 * kl_free
