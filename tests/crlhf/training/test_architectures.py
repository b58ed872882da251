"""The architecture matrix: every decoder family a code team trains goes through
generation → a PPO round → adapter save/load → generation with the adapter, out of the box.

Each family is a random 2-layer, 32-dim model (tests/tiny_model.py) beside the shared
tiny tokenizer; a round is one PPO step with gradient checkpointing on, so the
checkpointed, train-mode forward of every family is held to the sampling log-probs too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from crlhf.evaluation.problems import BenchProblem
from crlhf.generation.generate import GenerationSettings, Generator, load_model
from crlhf.schemas import ExportRow
from crlhf.training.adapters import ADAPTER_DIR, load_version
from crlhf.training.batch import build_batch
from crlhf.training.config import PPOConfig
from crlhf.training.policy import load_base, new_policy
from crlhf.training.round import run_round, sampling_drift
from tests.crlhf.training.conftest import rollout_of
from tests.tiny_model import FAMILIES, build_tiny_family

pytestmark = pytest.mark.slow

ADAPTED = {
    "gpt2": ["c_attn"],
    "gpt_bigcode": ["c_attn"],
    # no peft defaults: every linear projection of attention and MLP (all-linear)
    "starcoder2": ["c_fc", "c_proj", "k_proj", "o_proj", "q_proj", "v_proj"],
    "llama": ["q_proj", "v_proj"],
    "qwen2": ["q_proj", "v_proj"],
    "mistral": ["q_proj", "v_proj"],
    "gpt_neox": ["query_key_value"],
    "phi": ["fc1", "fc2", "q_proj", "v_proj"],
    "phi3": ["down_proj", "gate_up_proj", "o_proj", "qkv_proj"],
    "gemma": ["q_proj", "v_proj"],
}
"""What the manifest must record as adapted for each family (peft's defaults else all-linear)."""

PROMPTS = ["def add(a, b):\n", "# count the words\ndef count(text):\n"]
CPU = torch.device("cpu")


def installed(model_type: str) -> bool:
    from transformers import CONFIG_MAPPING

    return model_type in CONFIG_MAPPING


FAMILY_PARAMS = [
    pytest.param(
        name,
        marks=pytest.mark.skipif(not installed(name), reason=f"transformers lacks {name}"),
    )
    for name in FAMILIES
]


def sample_rows(
    base: Path, *, adapter: Path | None = None, dtype: str = "float32", seed: int = 1
) -> list[ExportRow]:
    """Rows of samples drawn by ``crlhf.generation`` (two prompts left-padded together),
    scored 1 when the response is longer than 3 tokens, else 0."""
    model, tokenizer = load_model(str(base), str(adapter) if adapter else None, CPU, dtype)
    settings = GenerationSettings(temperature=0.8, max_new_tokens=6, batch_size=4, seed=seed)
    problems = [
        BenchProblem(task_id=f"p{i}", prompt=prompt, tests="", reference="")
        for i, prompt in enumerate(PROMPTS)
    ]
    rows = []
    for problem, completions in Generator(model, tokenizer, settings, progress=False)(problems, 2):
        for i, completion in enumerate(completions):
            meta = completion.meta
            rows.append(
                ExportRow(
                    sample_id=f"{problem.task_id}-{i}-{seed}",
                    problem_id=problem.task_id,
                    problem_title=problem.task_id,
                    prompt=problem.prompt,
                    code=completion.text,
                    reward=float(len(meta.response_token_ids or []) > 3),
                    correct_lines=1,
                    judged_lines=1,
                    n_votes=3,
                    n_annotators=3,
                    meta=meta,
                )
            )
    return rows


def drift(policy: Any, tokenizer: Any, rows: list[ExportRow]) -> float:
    batch = build_batch(
        [rollout_of(r) for r in rows], pad_id=tokenizer.pad_token_id, eos_id=tokenizer.eos_token_id
    )
    return sampling_drift(policy, [batch])


@pytest.mark.parametrize("model_type", FAMILY_PARAMS)
def test_generation_round_adapter_and_generation_with_it(
    model_type: str, tiny_model_dir: Path, tmp_path: Path
) -> None:
    torch.set_num_threads(1)
    base = build_tiny_family(tmp_path / model_type, model_type, tiny_model_dir)
    rows = sample_rows(base)
    config = PPOConfig(
        learning_rate=3e-2,
        batch_size=4,
        mini_batch_size=4,
        ppo_epochs=2,
        threads=1,
        gradient_checkpointing=True,
        max_logprob_drift=1e-4,  # float32: the generator's log-probs are reproduced
    )
    result = run_round(
        rows, base_model=base, out_root=tmp_path / "adapters", version="v1", config=config
    )
    manifest = result.manifest
    assert manifest.adapted_modules == ADAPTED[model_type]
    assert manifest.data["base_dtype"] == "float32"
    assert float(manifest.metrics["sampling_logprob_drift"] or 1.0) < 1e-5

    # The next round's samples come from the adapter; training loads the same policy and
    # reproduces their log-probs, which the base alone does not.
    adapted_rows = sample_rows(base, adapter=result.directory / ADAPTER_DIR, seed=2)
    loaded_base, tokenizer = load_base(base, CPU)
    assert drift(load_version(loaded_base, result.directory), tokenizer, adapted_rows) < 1e-5
    fresh_base, _ = load_base(base, CPU)
    assert drift(new_policy(fresh_base, PPOConfig()), tokenizer, adapted_rows) > 1e-3
