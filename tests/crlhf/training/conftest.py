"""Fixtures for the training tests: the shared tiny model and triples built on it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
import torch

from crlhf.schemas import ExportRow, GenerationMeta
from crlhf.training.batch import build_batch
from crlhf.training.config import PPOConfig
from crlhf.training.policy import PolicyWithValue, load_base, new_policy
from crlhf.training.rollout import Rollout

TEMPERATURE = 0.8


@pytest.fixture(scope="session")
def tokenizer(tiny_model_dir: Path) -> Any:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_model_dir)


@pytest.fixture
def make_policy(tiny_model_dir: Path) -> Callable[..., PolicyWithValue]:
    def make(**settings: Any) -> PolicyWithValue:
        torch.set_num_threads(1)
        base, _ = load_base(tiny_model_dir, torch.device("cpu"))
        return new_policy(base, PPOConfig(**settings))

    return make


def make_row(
    tokenizer: Any,
    sample_id: str,
    prompt: str,
    response: str,
    reward: float,
    *,
    logprobs: Sequence[float] | None = None,
    n_votes: int = 3,
    eos: bool = True,
) -> ExportRow:
    """One exported triple whose meta holds the token ids (and log-probs, default −1 each)."""
    query = tokenizer.encode(prompt)
    answer = tokenizer.encode(response) + ([tokenizer.eos_token_id] if eos else [])
    return ExportRow(
        sample_id=sample_id,
        problem_id="p1",
        problem_title="add",
        prompt=prompt,
        code=response,
        reward=reward,
        correct_lines=1,
        judged_lines=1,
        n_votes=n_votes,
        n_annotators=n_votes,
        meta=GenerationMeta(
            model="tiny",
            temperature=TEMPERATURE,
            seed=0,
            prompt_token_ids=query,
            response_token_ids=answer,
            response_logprobs=list(logprobs) if logprobs is not None else [-1.0] * len(answer),
        ),
    )


def rollout_of(row: ExportRow) -> Rollout:
    meta = row.meta
    assert meta.prompt_token_ids and meta.response_token_ids and meta.response_logprobs
    return Rollout(
        sample_id=row.sample_id,
        query_ids=tuple(meta.prompt_token_ids),
        response_ids=tuple(meta.response_token_ids),
        logprobs=tuple(meta.response_logprobs),
        temperature=meta.temperature or TEMPERATURE,
        score=row.reward,
    )


GOOD = "    return a + b\n"
BAD = "    return a - b\n"
PROMPT = "def add(a, b):\n"


@pytest.fixture
def preference_rows(tokenizer: Any) -> list[ExportRow]:
    """Eight triples of one prompt: the right body scored 1, a buggy one scored 0."""
    return [
        make_row(tokenizer, f"s{i}", PROMPT, GOOD if i % 2 else BAD, float(i % 2)) for i in range(8)
    ]


def batch_of(tokenizer: Any, rows: Sequence[ExportRow]):
    return build_batch(
        [rollout_of(r) for r in rows], pad_id=tokenizer.pad_token_id, eos_id=tokenizer.eos_token_id
    )
