"""The policy network: padding, temperature and the adapter-off reference."""

from __future__ import annotations

import pytest
import torch

from tests.crlhf.training.conftest import BAD, GOOD, PROMPT, batch_of, make_row

pytestmark = pytest.mark.slow


def test_padding_does_not_change_logprobs_or_values(make_policy, tokenizer) -> None:
    policy = make_policy()
    short = make_row(tokenizer, "a", "x = 1\n", GOOD, 1.0)
    long = make_row(tokenizer, "b", PROMPT + "    # add two numbers\n", BAD + "    pass\n", 0.0)
    together = batch_of(tokenizer, [short, long])
    assert together.attention_mask[0, 0] == 0  # the short query really is left-padded
    with torch.no_grad():
        logp, values, _ = policy(together)
        for row, alone in enumerate([short, long]):
            single = batch_of(tokenizer, [alone])
            n = single.response_ids.shape[1]
            logp_alone, values_alone, _ = policy(single)
            torch.testing.assert_close(logp[row, :n], logp_alone[0], atol=1e-5, rtol=1e-5)
            torch.testing.assert_close(values[row, :n], values_alone[0], atol=1e-5, rtol=1e-5)


def test_logprobs_are_those_of_the_tempered_distribution(make_policy, tokenizer) -> None:
    policy = make_policy()
    row = make_row(tokenizer, "a", PROMPT, GOOD, 1.0)
    batch = batch_of(tokenizer, [row])
    with torch.no_grad():
        logp, _, _ = policy(batch)
        logits = policy.model(input_ids=batch.input_ids).logits[0]
    q = batch.query_length
    expected = torch.log_softmax(logits[q - 1 : -1] / 0.8, dim=-1)
    expected = expected.gather(-1, batch.response_ids[0][:, None]).squeeze(-1)
    torch.testing.assert_close(logp[0], expected, atol=1e-5, rtol=1e-5)


def test_reference_equals_policy_before_training(make_policy, tokenizer) -> None:
    # A fresh LoRA adapter has B = 0, so π_θ = π_ref until the first update.
    policy = make_policy()
    batch = batch_of(tokenizer, [make_row(tokenizer, "a", PROMPT, GOOD, 1.0)])
    with torch.no_grad():
        logp, _, _ = policy(batch)
    torch.testing.assert_close(policy.reference_logprobs(batch), logp)


def test_dropout_is_off(make_policy) -> None:
    policy = make_policy()
    probabilities = [m.p for m in policy.modules() if isinstance(m, torch.nn.Dropout)]
    assert probabilities and all(p == 0.0 for p in probabilities)
    assert policy.model.config.attn_pdrop == 0.0


def test_the_reference_is_the_same_network_not_a_copy(make_policy, tiny_model_dir) -> None:
    from transformers import AutoModelForCausalLM

    policy = make_policy()
    base = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    base_count = sum(p.numel() for p in base.parameters())
    trainable = sum(p.numel() for p in policy.trainable_parameters())
    # Every parameter the policy holds is the base's once, or the adapter's or the head's.
    assert sum(p.numel() for p in policy.parameters()) == base_count + trainable
    assert trainable < 0.05 * base_count
