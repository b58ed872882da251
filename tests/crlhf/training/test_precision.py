"""The base in bfloat16 (adapter, value head, log-probs and losses in float32), the
checks that run before any weight loads, and gradient checkpointing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors import safe_open

from crlhf.cli import main
from crlhf.errors import InvalidInput, UnsupportedDType
from crlhf.generation.precision import DRIFT_TOLERANCE
from crlhf.jsonl import write_jsonl
from crlhf.training.adapters import ADAPTER_DIR
from crlhf.training.config import PPOConfig, make_config
from crlhf.training.policy import load_base, new_policy
from crlhf.training.ppo import PPOTrainer
from crlhf.training.round import run_round
from tests.crlhf.training.conftest import batch_of
from tests.crlhf.training.test_architectures import sample_rows
from tests.tiny_model import build_tiny_family

pytestmark = pytest.mark.slow

CPU = torch.device("cpu")
SETTINGS = {"learning_rate": 3e-2, "batch_size": 4, "mini_batch_size": 4, "ppo_epochs": 1}
BF16_DRIFT_LIMIT = DRIFT_TOLERANCE["bfloat16"]
"""The documented tolerance of a bfloat16 round's drift check."""


def test_a_bfloat16_base_trains_float32_adapter_and_head(
    tiny_model_dir, tokenizer, preference_rows
) -> None:
    torch.set_num_threads(1)
    base, _ = load_base(tiny_model_dir, CPU, "bfloat16")
    policy = new_policy(base, PPOConfig(**SETTINGS))
    assert policy.base_dtype == torch.bfloat16
    trainable = dict(policy.named_parameters())
    frozen = {n: p.detach().clone() for n, p in trainable.items() if not p.requires_grad}
    assert {p.dtype for p in policy.trainable_parameters()} == {torch.float32}
    assert {p.dtype for p in frozen.values()} == {torch.bfloat16}
    batch = batch_of(tokenizer, preference_rows[:4])
    logprobs, values, entropy = policy(batch)
    assert logprobs.dtype == values.dtype == entropy.dtype == torch.float32
    lora_before = {n: p.detach().clone() for n, p in trainable.items() if p.requires_grad}
    metrics = PPOTrainer(policy, PPOConfig(**SETTINGS)).step(batch)
    assert all(v == v for v in metrics.values())  # finite, no NaN
    after = dict(policy.named_parameters())
    assert all(torch.equal(after[n], p) for n, p in frozen.items())  # the base stays put
    assert any(not torch.equal(after[n], p) for n, p in lora_before.items())


def test_a_bfloat16_round_passes_its_drift_check(tiny_model_dir: Path, tmp_path: Path) -> None:
    # Sampled by crlhf.generation in bfloat16, trained in bfloat16: the stored log-probs
    # are reproduced within the documented tolerance, on GPT-2 and on a Llama.
    torch.set_num_threads(1)
    llama = build_tiny_family(tmp_path / "llama", "llama", tiny_model_dir)
    for name, base in (("gpt2", tiny_model_dir), ("llama", llama)):
        rows = sample_rows(base, dtype="bfloat16")
        config = PPOConfig(**SETTINGS, dtype="bfloat16", max_logprob_drift=BF16_DRIFT_LIMIT)
        result = run_round(
            rows, base_model=base, out_root=tmp_path / name, version="v1", config=config
        )
        assert result.manifest.data["base_dtype"] == "bfloat16"
        assert float(result.manifest.metrics["sampling_logprob_drift"] or 1.0) < BF16_DRIFT_LIMIT
        weights = result.directory / ADAPTER_DIR / "adapter_model.safetensors"
        with safe_open(str(weights), "pt") as saved:
            names = saved.keys()
            assert {saved.get_tensor(name).dtype for name in names} == {torch.float32}


def test_auto_loads_the_checkpoints_own_dtype(tiny_model_dir: Path, tmp_path: Path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.bfloat16).save_pretrained(
        tmp_path
    )
    AutoTokenizer.from_pretrained(tiny_model_dir).save_pretrained(tmp_path)
    base, _ = load_base(tmp_path, CPU, "auto")
    assert base.dtype == torch.bfloat16
    assert load_base(tmp_path, CPU, "float32")[0].dtype == torch.float32


def _no_weight_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    from transformers import AutoModelForCausalLM

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("weights were loaded before the input was checked")

    monkeypatch.setattr(AutoModelForCausalLM, "from_pretrained", refuse)


def test_bad_options_fail_before_any_weight_loads(
    monkeypatch, tiny_model_dir, preference_rows, tmp_path
) -> None:
    with pytest.raises(InvalidInput) as caught:
        make_config({"dtype": "float64"})
    assert caught.value.field == "dtype"
    _no_weight_loads(monkeypatch)

    def train(**settings: object) -> None:
        run_round(
            preference_rows,
            base_model=tiny_model_dir,
            out_root=tmp_path,
            version="v1",
            config=PPOConfig(**SETTINGS, **settings),  # type: ignore[arg-type]
        )

    with pytest.raises(InvalidInput, match="'qkv' match") as caught:
        train(lora_target_modules=("qkv",))
    assert caught.value.field == "lora_target_modules"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda including_emulation=True: False)
    with pytest.raises(UnsupportedDType, match="no native bfloat16"):
        train(dtype="bfloat16", device="cuda")
    assert not list(tmp_path.iterdir())


def test_the_cli_refuses_a_bad_dtype_in_one_line(
    preference_rows, tiny_model_dir, tmp_path, capsys, caplog
):
    data = tmp_path / "rows.jsonl"
    write_jsonl(data, preference_rows)
    argv = ["train-round", "--data", str(data), "--base-model", str(tiny_model_dir)]
    with pytest.raises(SystemExit):
        main([*argv, "--out-dir", str(tmp_path / "a"), "--dtype", "float64"])
    assert "invalid choice: 'float64'" in capsys.readouterr().err
    code = main([*argv, "--out-dir", str(tmp_path / "a"), "--set", 'lora_target_modules=["nope"]'])
    err = capsys.readouterr().err
    assert code != 0 and err.count("\n") == 1 and "lora_target_modules" in err, err
    code = main(
        [
            *argv,
            "--out-dir",
            str(tmp_path / "b"),
            "--dtype",
            "bfloat16",
            "--gradient-checkpointing",
            "--set",
            "batch_size=8",
            "--json",
            "--no-progress",
        ]
    )
    manifest = json.loads(capsys.readouterr().out)
    assert code == 0
    # The rows' made-up log-probs (−1 each) are no bfloat16 sampling drift: said, not fatal.
    assert "more than the 0.01 for samples drawn by it in torch.bfloat16" in caplog.text
    assert manifest["config"]["dtype"] == "bfloat16"
    assert manifest["config"]["gradient_checkpointing"] is True
    assert manifest["data"]["base_dtype"] == "bfloat16"
    assert manifest["adapted_modules"] == ["c_attn"]


def _saved_bytes(policy, batch) -> tuple[int, torch.Tensor, list[torch.Tensor]]:
    """Bytes autograd keeps for the backward outside checkpointed layers, the log-probs,
    and the gradients of a loss on them."""
    saved = 0

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        nonlocal saved
        saved += tensor.numel() * tensor.element_size()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        logprobs, values, _ = policy(batch)
    (logprobs.sum() + values.sum()).backward()
    grads = [p.grad.clone() for p in policy.trainable_parameters()]
    return saved, logprobs.detach(), grads


def test_checkpointing_keeps_less_and_computes_the_same(make_policy, tokenizer, preference_rows):
    batch = batch_of(tokenizer, preference_rows)
    plain = make_policy()
    checkpointed = make_policy()
    checkpointed.enable_gradient_checkpointing()
    kept, logprobs, grads = _saved_bytes(plain, batch)
    kept_ckpt, logprobs_ckpt, grads_ckpt = _saved_bytes(checkpointed, batch)
    assert kept_ckpt < 0.6 * kept
    torch.testing.assert_close(logprobs_ckpt, logprobs)
    for grad, grad_ckpt in zip(grads, grads_ckpt, strict=True):
        torch.testing.assert_close(grad_ckpt, grad)
    assert checkpointed.reference_logprobs(batch).shape == logprobs.shape
