"""The testbed's base model trains from scratch and loads as a normal causal LM."""

from __future__ import annotations

import pytest

from crlhf.testbed.pretrain import PretrainConfig, pretrain
from crlhf.testbed.problems import make_corpus, split_instances

pytestmark = pytest.mark.slow


def test_pretrain_learns_and_saves_a_loadable_model(tmp_path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.set_num_threads(1)
    train, _ = split_instances()
    documents = make_corpus(train[:24], copies=8, bug_rate=0.5, seed=0)
    config = PretrainConfig(vocab_size=300, n_layer=1, n_embd=32, n_head=2, epochs=2, batch_size=8)
    stats = pretrain(documents, tmp_path / "base", config)
    assert stats["final_loss"] < 0.7 * stats["first_loss"]

    tokenizer = AutoTokenizer.from_pretrained(tmp_path / "base")
    model = AutoModelForCausalLM.from_pretrained(tmp_path / "base")
    assert tokenizer.eos_token == tokenizer.pad_token == "<|endoftext|>"
    assert tokenizer.decode(tokenizer.encode(documents[0].text)) == documents[0].text
    assert model.config.vocab_size == len(tokenizer)
