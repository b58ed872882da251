"""A whole round: input checks, the saved version and its manifest, the CLI."""

from __future__ import annotations

import json
import math
import os
from typing import Any

import pytest
import torch

from crlhf.cli import main
from crlhf.errors import Conflict, EmptyDataset, InvalidInput, InvalidReward, TokenMismatch
from crlhf.jsonl import write_jsonl
from crlhf.schemas import ExportPosterior, ExportRow
from crlhf.training.adapters import next_version, read_manifest
from crlhf.training.config import PPOConfig, make_config
from crlhf.training.rollout import select_rollouts
from crlhf.training.round import run_round
from tests.crlhf.training.conftest import BAD, GOOD, PROMPT, batch_of, make_row

pytestmark = pytest.mark.slow

SETTINGS = {
    "learning_rate": 5e-3,
    "batch_size": 4,
    "mini_batch_size": 2,
    "ppo_epochs": 1,
    "threads": 1,
}


def with_logprobs(rows: list[ExportRow], policy: Any, tokenizer: Any) -> list[ExportRow]:
    """The rows with the log-probs the (untrained) policy samples them with."""
    batch = batch_of(tokenizer, rows)
    with torch.no_grad():
        logp, _, _ = policy(batch)
    out = []
    for i, row in enumerate(rows):
        n = len(row.meta.response_token_ids or [])
        meta = row.meta.model_copy(
            update={"response_logprobs": [round(v, 6) for v in logp[i, :n].tolist()]}
        )
        out.append(row.model_copy(update={"meta": meta}))
    return out


def test_round_saves_a_version_with_its_record(
    make_policy, tokenizer, preference_rows, tiny_model_dir, tmp_path
) -> None:
    rows = with_logprobs(preference_rows, make_policy(), tokenizer)
    config = PPOConfig(**SETTINGS, max_logprob_drift=1e-3)
    result = run_round(
        rows,
        base_model=tiny_model_dir,
        out_root=tmp_path,
        version="v0001",
        config=config,
        round_id=7,
    )
    manifest = read_manifest(result.directory)
    assert manifest == result.manifest
    assert manifest.round_id == 7 and manifest.parent_version is None
    assert manifest.config == config
    assert manifest.data["samples"] == 8 and manifest.data["sampling_temperatures"] == "0.8"
    assert manifest.metrics["steps"] == 2  # 8 samples in batches of 4
    # Stored sampling log-probs are reproduced: same tokens, temperature and weights.
    assert float(manifest.metrics["sampling_logprob_drift"] or 1.0) < 1e-5
    assert manifest.metrics["approx_kl_first"] == pytest.approx(0.0, abs=1e-6)
    assert set(manifest.versions) >= {"torch", "transformers", "peft", "crlhf"}

    follow = run_round(
        rows,
        base_model=tiny_model_dir,
        out_root=tmp_path,
        version="v0002",
        config=PPOConfig(**SETTINGS),  # the samples came from v0001's parent: they drift
        parent=result.directory,
    )
    assert follow.manifest.parent_version == "v0001"
    assert (
        float(follow.manifest.metrics["kl_ref"] or 0.0) > 0.0
    )  # it started from the trained adapter


def test_round_is_reproducible(tokenizer, preference_rows, tiny_model_dir, tmp_path) -> None:
    config = PPOConfig(**SETTINGS)
    runs = [
        run_round(
            preference_rows,
            base_model=tiny_model_dir,
            out_root=tmp_path,
            version=f"v{i}",
            config=config,
        )
        for i in range(2)
    ]
    first, second = (r.manifest.metrics for r in runs)
    for key in ("policy_loss", "value_loss", "kl_ref", "approx_kl_last"):
        assert first[key] == second[key], key
    a = (runs[0].directory / "adapter" / "adapter_model.safetensors").read_bytes()
    b = (runs[1].directory / "adapter" / "adapter_model.safetensors").read_bytes()
    assert a == b


def test_samples_from_another_policy_are_caught(
    tokenizer, preference_rows, tiny_model_dir, tmp_path
) -> None:
    config = PPOConfig(**SETTINGS, max_logprob_drift=0.05)  # the rows carry made-up log-probs
    with pytest.raises(TokenMismatch, match="nats per token"):
        run_round(
            preference_rows,
            base_model=tiny_model_dir,
            out_root=tmp_path,
            version="v1",
            config=config,
        )
    assert not (tmp_path / "v1").exists()


def test_empty_data_set_is_refused(tokenizer, tiny_model_dir, tmp_path) -> None:
    with pytest.raises(EmptyDataset):
        run_round(
            [], base_model=tiny_model_dir, out_root=tmp_path, version="v1", config=PPOConfig()
        )
    few_votes = [make_row(tokenizer, "a", PROMPT, GOOD, 1.0, n_votes=1)]
    with pytest.raises(EmptyDataset, match="at least 3 vote"):
        select_rollouts(few_votes, vocab_size=512, min_votes=3, default_temperature=0.8)


@pytest.mark.parametrize("reward", [-0.1, 1.5, math.nan, math.inf])
def test_rewards_outside_unit_interval_are_refused(
    tokenizer, tiny_model_dir, tmp_path, reward
) -> None:
    rows = [
        make_row(tokenizer, "a", PROMPT, GOOD, 1.0),
        make_row(tokenizer, "b", PROMPT, BAD, reward),
    ]
    with pytest.raises(InvalidReward, match="'b'"):
        run_round(
            rows, base_model=tiny_model_dir, out_root=tmp_path, version="v1", config=PPOConfig()
        )


def _broken(row: ExportRow, **update: Any) -> ExportRow:
    return row.model_copy(update={"meta": row.meta.model_copy(update=update)})


@pytest.mark.parametrize(
    ("update", "field"),
    [
        ({"response_logprobs": [-1.0]}, "meta.response_logprobs"),
        ({"response_token_ids": None}, "meta.response_token_ids"),
        ({"prompt_token_ids": []}, "meta.prompt_token_ids"),
        ({"prompt_token_ids": [1, 10**6]}, "meta.prompt_token_ids"),
        ({"response_token_ids": [-3, 4]}, "meta.response_token_ids"),
    ],
    ids=["logprob-count", "no-response-ids", "no-prompt-ids", "out-of-vocab", "negative-id"],
)
def test_mismatched_token_ids_are_refused(tokenizer, update, field) -> None:
    row = _broken(make_row(tokenizer, "a", PROMPT, GOOD, 1.0), **update)
    with pytest.raises(TokenMismatch) as caught:
        select_rollouts([row], vocab_size=len(tokenizer), min_votes=0, default_temperature=0.8)
    assert caught.value.field == field


def test_bad_settings_name_the_field() -> None:
    with pytest.raises(InvalidInput) as caught:
        make_config({"lam": 1.5})
    assert caught.value.field == "lam"
    with pytest.raises(InvalidInput):
        make_config({"batch_size": 2, "mini_batch_size": 4})


def test_cli_trains_on_an_export_file(
    tokenizer, preference_rows, tiny_model_dir, tmp_path, capsys
) -> None:
    data = tmp_path / "export.jsonl"
    write_jsonl(data, preference_rows)
    out = tmp_path / "adapters"
    settings = tmp_path / "ppo.json"
    settings.write_text(json.dumps({**SETTINGS, "ppo_epochs": 3}))
    argv = [
        "train-round",
        "--data",
        str(data),
        "--base-model",
        str(tiny_model_dir),
        "--out-dir",
        str(out),
    ]
    argv += ["--config", str(settings), "--set", "ppo_epochs=1", "--seed", "3", "--no-progress"]
    assert main(argv) == 0
    assert capsys.readouterr().out.startswith("v0001: 8 samples")
    manifest = read_manifest(out / "v0001")
    assert manifest.config.seed == 3 and manifest.config.ppo_epochs == 1  # --set beats --config
    assert next_version(out) == "v0002"
    assert main([*argv, "--min-votes", "99"]) == 1  # EmptyDataset: one line on stderr
    assert "no sample to train on" in capsys.readouterr().err


def test_an_existing_version_is_refused_before_training(
    preference_rows, tiny_model_dir, tmp_path
) -> None:
    (tmp_path / "v0001").mkdir()
    with pytest.raises(Conflict, match="already exists"):
        run_round(
            preference_rows,
            base_model=tiny_model_dir,
            out_root=tmp_path,
            version="v0001",
            config=PPOConfig(**SETTINGS),
        )


def test_samples_from_the_generator_train_without_drift(tiny_model_dir, tmp_path) -> None:
    # The contract with crlhf.generation: the token ids and log-probs it stores (sampled
    # in left-padded batches) are exactly what this policy recomputes.
    from crlhf.evaluation.problems import BenchProblem
    from crlhf.generation.generate import GenerationSettings, Generator, load_model

    torch.set_num_threads(1)
    model, tok = load_model(str(tiny_model_dir), None, torch.device("cpu"))
    settings = GenerationSettings(temperature=0.7, max_new_tokens=12, batch_size=8, seed=5)
    problems = [
        BenchProblem(task_id=f"p{i}", prompt=prompt, tests="", reference="")
        for i, prompt in enumerate(["def f(x):\n", "# add two numbers\ndef add(a, b):\n"])
    ]
    generated = Generator(model, tok, settings, progress=False)(problems, 3)
    rows = [
        make_row(tok, f"{problem.task_id}-{i}", problem.prompt, "", 0.5).model_copy(
            update={"meta": completion.meta}
        )
        for problem, completions in generated
        for i, completion in enumerate(completions)
    ]
    lengths = {len(r.meta.prompt_token_ids or []) for r in rows}
    assert len(lengths) == 2  # the two prompts were left-padded in one batch
    config = PPOConfig(**SETTINGS, max_logprob_drift=1e-4)
    result = run_round(
        rows, base_model=tiny_model_dir, out_root=tmp_path, version="v1", config=config
    )
    assert result.manifest.data["sampling_temperatures"] == "0.7"
    assert float(result.manifest.metrics["sampling_logprob_drift"] or 1.0) < 1e-5


def test_samples_drawn_in_another_dtype_are_refused_naming_the_mismatch(
    tokenizer, preference_rows, tiny_model_dir, tmp_path
) -> None:
    rows = [_broken(row, dtype="torch.bfloat16") for row in preference_rows]
    rows[0] = _broken(rows[0], dtype="torch.float32")
    with pytest.raises(TokenMismatch, match=r"dtype mismatch.*torch\.bfloat16.*torch\.float32"):
        run_round(
            rows,
            base_model=tiny_model_dir,
            out_root=tmp_path,
            version="v1",
            config=PPOConfig(**SETTINGS),
        )
    assert not (tmp_path / "v1").exists()


def test_greedy_samples_are_refused_for_training(tokenizer) -> None:
    row = _broken(make_row(tokenizer, "g", PROMPT, GOOD, 1.0), temperature=0.0)
    with pytest.raises(TokenMismatch, match="greedily"):
        select_rollouts([row], vocab_size=len(tokenizer), min_votes=0, default_temperature=0.8)


def test_mini_batch_defaults_to_at_most_the_batch_and_threads_to_every_core() -> None:
    from crlhf.training.round import usable_cores

    assert make_config({"batch_size": 4}).mini_batch_size == 4
    assert make_config({"batch_size": 32}).mini_batch_size == 8
    assert PPOConfig().mini_batch_size == 8
    with pytest.raises(InvalidInput, match="exceeds"):
        make_config({"batch_size": 4, "mini_batch_size": 8})  # given explicitly: still checked
    assert usable_cores() == len(os.sched_getaffinity(0))


def test_line_mode_moves_the_score_to_the_lines_and_sample_mode_ignores_posteriors(
    tokenizer, tiny_model_dir, tmp_path
) -> None:
    """reward_mode=sample trains bit-identically whether rows carry line posteriors
    (schema 3) or not; reward_mode=line trains on them, placing one reward per line."""
    code = "    x = a + b\n    return x\n"
    rows = [
        make_row(tokenizer, f"s{i}", PROMPT, code, 0.5).model_copy(
            update={
                "line_posteriors": [
                    ExportPosterior(line=1, posterior=float(i % 2)),
                    ExportPosterior(line=2, posterior=float(1 - i % 2)),
                ]
            }
        )
        for i in range(8)
    ]
    bare = [r.model_copy(update={"line_posteriors": None}) for r in rows]

    def adapter(data: list[ExportRow], version: str, mode: str) -> bytes:
        config = PPOConfig(**SETTINGS, reward_mode=mode)
        result = run_round(
            data, base_model=tiny_model_dir, out_root=tmp_path, version=version, config=config
        )
        if mode == "line":
            assert result.manifest.data["line_rewards"] == 16  # two lines per sample
            assert result.manifest.data["line_rewards_unplaced"] == 0
        return (result.directory / "adapter" / "adapter_model.safetensors").read_bytes()

    sample = adapter(rows, "v1", "sample")
    assert adapter(bare, "v2", "sample") == sample
    assert adapter(rows, "v3", "line") != sample
    with pytest.raises(InvalidReward, match="posterior of every judged line"):
        adapter(bare, "v4", "line")


def test_reward_mode_is_a_round_setting() -> None:
    assert make_config({"reward_mode": "line"}).reward_mode == "line"
    assert PPOConfig().reward_mode == "sample"
    with pytest.raises(InvalidInput, match="reward_mode"):
        make_config({"reward_mode": "token"})
