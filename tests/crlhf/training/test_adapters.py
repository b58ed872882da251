"""Adapter versions: exact save/load round trip, immutability, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from crlhf.errors import AdapterNotFound, Conflict
from crlhf.training.adapters import MANIFEST_FILE, AdapterManifest, load_version, save_version
from crlhf.training.config import PPOConfig
from crlhf.training.policy import load_base
from crlhf.training.ppo import PPOTrainer
from tests.crlhf.training.conftest import batch_of

pytestmark = pytest.mark.slow

SETTINGS = {"learning_rate": 5e-3, "batch_size": 8, "mini_batch_size": 4, "ppo_epochs": 1}


def manifest(version: str, base: Path) -> AdapterManifest:
    return AdapterManifest(
        version=version, base_model=str(base), config=PPOConfig(**SETTINGS), metrics={"kl": 0.1}
    )


def test_save_load_round_trip_is_exact(
    make_policy, tokenizer, preference_rows, tiny_model_dir, tmp_path
) -> None:
    policy = make_policy(**SETTINGS)
    batch = batch_of(tokenizer, preference_rows)
    PPOTrainer(policy, PPOConfig(**SETTINGS)).step(batch)  # so the adapter is not B = 0
    directory = save_version(policy, tmp_path, manifest("v0001", tiny_model_dir))

    base, _ = load_base(tiny_model_dir, torch.device("cpu"))
    loaded = load_version(base, directory)
    with torch.no_grad():
        logp, values, _ = policy(batch)
        logp2, values2, _ = loaded(batch)
        ref, ref2 = policy.reference_logprobs(batch), loaded.reference_logprobs(batch)
    assert torch.equal(logp, logp2)
    assert torch.equal(values, values2)
    assert torch.equal(ref, ref2)
    assert not torch.equal(logp, ref)  # the adapter really is part of what was saved
    # Loaded trainable: a later round can continue from this version.
    assert {n for n, p in loaded.named_parameters() if p.requires_grad} == {
        n for n, p in policy.named_parameters() if p.requires_grad
    }
    saved = json.loads((directory / MANIFEST_FILE).read_text())
    assert saved["version"] == "v0001" and saved["metrics"] == {"kl": 0.1}
    assert not list(tmp_path.glob(".*partial"))


def test_versions_are_immutable(make_policy, tiny_model_dir, tmp_path) -> None:
    policy = make_policy()
    save_version(policy, tmp_path, manifest("v0001", tiny_model_dir))
    with pytest.raises(Conflict):
        save_version(policy, tmp_path, manifest("v0001", tiny_model_dir))


def test_loading_a_missing_version_names_it(tiny_model_dir, tmp_path) -> None:
    base, _ = load_base(tiny_model_dir, torch.device("cpu"))
    with pytest.raises(AdapterNotFound, match=r"no manifest\.json"):
        load_version(base, tmp_path / "v0042")
