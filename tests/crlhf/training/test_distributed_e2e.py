"""Real ``accelerate launch`` runs with two CPU processes (gloo) on the tiny model.

Two processes must train the adapter one process trains on the same data, write one
version, and fail together when rank 0 fails; the worker must train in such a child and
report its progress. Each launch takes 10-20 s on two shared cores (most of it imports).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import load_file

from crlhf.client_config import ClientConfig
from crlhf.jsonl import write_jsonl
from crlhf.schemas import ExportRow, RoundStatus, TrainingRoundIn
from crlhf.training.adapters import ADAPTER_DIR, VALUE_HEAD_FILE, read_manifest
from crlhf.training.child_round import Launch
from crlhf.training.config import PPOConfig, make_config
from crlhf.training.heartbeat import Heartbeat
from crlhf.training.round import run_round
from crlhf.training.worker import Worker, WorkerOptions
from tests.conftest import ADMIN_TOKEN
from tests.crlhf.training.conftest import BAD, GOOD, PROMPT, make_row
from tests.crlhf.training.test_round_e2e import NO_HONEYPOTS, _fill

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

ACCELERATE_CONFIG = Path(__file__).resolve().parents[3] / "docs" / "accelerate" / "multi_gpu.yaml"

# 7 samples in steps of 4 and 3, minibatches of 3: ranks get 2+1, 1+0 (an empty share),
# 2+1 rows; one value warm-up update and two epochs per step.
SETTINGS: dict[str, Any] = {
    "batch_size": 4,
    "mini_batch_size": 3,
    "ppo_epochs": 2,
    "value_warmup_steps": 1,
    "learning_rate": 5e-3,
    "threads": 1,
}


def launch(*train_round: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "accelerate.commands.launch", "--quiet"]
    command += ["--config_file", str(ACCELERATE_CONFIG), "--num_processes", "2"]
    command += ["-m", "crlhf", "train-round", *train_round]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}
    return subprocess.run(
        command, check=False, capture_output=True, text=True, timeout=timeout, env=env
    )


@pytest.fixture
def rows(tokenizer: Any) -> list[ExportRow]:
    prompts = [PROMPT, "def sub(a, b):\n", "def mul(x, y):\n    # multiply\n"]
    bodies = [GOOD, BAD, "    return a * b\n", "    x = a\n    return x + b\n"]
    return [
        make_row(tokenizer, f"s{i}", prompts[i % 3], bodies[i % 4], (i % 5) / 4) for i in range(7)
    ]


def weights(directory: Path) -> dict[str, torch.Tensor]:
    adapter = load_file(str(directory / ADAPTER_DIR / "adapter_model.safetensors"))
    head = load_file(str(directory / VALUE_HEAD_FILE))
    return {**adapter, **{f"value_head.{k}": v for k, v in head.items()}}


def test_two_processes_train_the_adapter_of_one(
    rows: list[ExportRow], tiny_model_dir: Path, tmp_path: Path
) -> None:
    data = tmp_path / "rows.jsonl"
    write_jsonl(data, rows)
    one = run_round(
        rows,
        base_model=tiny_model_dir,
        out_root=tmp_path / "one",
        version="v0001",
        config=PPOConfig(**SETTINGS),
    )
    settings = [arg for key, value in SETTINGS.items() for arg in ("--set", f"{key}={value}")]
    two = launch(
        "--data", str(data), "--base-model", str(tiny_model_dir), "--out-dir",
        str(tmp_path / "two"), "--for-round", "5", "--no-progress", "--progress-json",
        *settings,
    )  # fmt: skip
    assert two.returncode == 0, two.stderr[-3000:]
    events = [json.loads(line) for line in two.stdout.splitlines() if line.startswith("{")]
    assert events == [  # from rank 0 only
        {"event": "step", "done": 0, "total": 2},
        {"event": "step", "done": 1, "total": 2},
        {"event": "step", "done": 2, "total": 2},
        {"event": "done", "version": "v0001", "directory": str(tmp_path / "two" / "v0001")},
    ]
    assert [p.name for p in (tmp_path / "two").iterdir()] == ["v0001"]  # rank 0 wrote it

    expected, got = weights(one.directory), weights(tmp_path / "two" / "v0001")
    assert expected.keys() == got.keys()
    assert max(float(v.abs().max()) for k, v in expected.items() if "lora_B" in k) > 1e-3
    for name, value in expected.items():
        scale = float(value.abs().max())
        assert float((got[name] - value).abs().max()) <= 1e-5 * scale, name

    manifest = read_manifest(tmp_path / "two" / "v0001")
    assert manifest.data["world_size"] == 2 and one.manifest.data["world_size"] == 1
    assert manifest.round_id == 5
    assert manifest.data["sample_ids_sha256"] == one.manifest.data["sample_ids_sha256"]
    for metric in ("score_mean", "kl_ref", "policy_loss", "value_loss", "entropy", "updates"):
        assert manifest.metrics[metric] == pytest.approx(one.manifest.metrics[metric], rel=1e-4)


def test_when_rank_0_fails_every_rank_exits_with_one_line(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    failed = launch(
        "--round-id", "3", "--server", "http://127.0.0.1:9", "--token", "t",
        "--base-model", str(tiny_model_dir), "--out-dir", str(tmp_path), "--progress-json",
        timeout=120,
    )  # fmt: skip
    assert failed.returncode != 0
    ours = [line for line in failed.stderr.splitlines() if line.startswith("crlhf train-round")]
    assert ours and set(ours) == {
        "crlhf train-round: error: cannot reach the crlhf server at http://127.0.0.1:9: "
        "All connection attempts failed"
    }
    assert "Traceback (most recent call last)" not in failed.stderr
    (event, *_) = [json.loads(line) for line in failed.stdout.splitlines() if line[:1] == "{"]
    assert (event["event"], event["code"]) == ("error", "server_unreachable")
    assert list(tmp_path.iterdir()) == []


def test_the_worker_trains_in_a_launched_child_and_reports_its_steps(
    live_server_factory: Any,
    tokenizer: Any,
    tiny_model_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from crlhf.client import CrlhfClient

    server = live_server_factory(env=NO_HONEYPOTS)
    asyncio.run(_fill(server.url, tokenizer))

    async def request() -> Any:
        async with CrlhfClient(server.url, ADMIN_TOKEN) as admin:
            return await admin.create_round(TrainingRoundIn(params={"ppo_epochs": 2}))

    async def fetch(round_id: int) -> Any:
        async with CrlhfClient(server.url, ADMIN_TOKEN) as admin:
            return await admin.get_round(round_id)

    requested = asyncio.run(request())
    reported: list[tuple[str, int | None, int | None]] = []
    report = Heartbeat.report

    def spy(self: Heartbeat, stage: str, step: int | None = None, steps: int | None = None,
            detail: str | None = None) -> None:  # fmt: skip
        reported.append((stage, step, steps))
        report(self, stage, step, steps, detail)

    monkeypatch.setattr(Heartbeat, "report", spy)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    options = WorkerOptions(
        worker_id="w-dp",
        base_model=str(tiny_model_dir),
        out_dir=tmp_path / "adapters",
        poll_s=0.1,
        once=True,
        progress=False,
        launch=Launch(config_file=ACCELERATE_CONFIG, num_processes=2),
    )
    settings = {"batch_size": 2, "mini_batch_size": 2, "threads": 1}
    worker = Worker(
        ClientConfig(server=server.url, token=ADMIN_TOKEN),
        options,
        lambda params: make_config({**settings, **params}),
    )
    assert worker.run() == 0

    done = asyncio.run(fetch(requested.id))
    assert (done.status, done.adapter_version) == (RoundStatus.SUCCEEDED, "v0001")
    manifest = read_manifest(tmp_path / "adapters" / "v0001")
    assert manifest.data["world_size"] == 2 and manifest.round_id == requested.id
    assert manifest.config.ppo_epochs == 2  # the round's params reached the child
    assert done.metrics["steps"] == 2  # 4 samples in batches of 2
    training = [r for r in reported if r[0] in {"training", "saving"}]
    assert ("training", 0, 2) in training and ("training", 1, 2) in training
    assert ("saving", 2, 2) in training
