"""``crlhf worker`` against a real server: a round end to end, SIGKILL, cancel, SIGTERM.

Everything a user would see goes through the admin API: the round moves requested ->
running (with the worker's progress) -> succeeded with its adapter version, the
benchmark result and the next samples; a worker killed mid-round leaves the round failed
with the reason once its lease runs out, and the previous adapter current; a round
cancelled mid-training ends cancelled with no new version and the worker polls on; SIGTERM
fails the running round at once and ends the worker without a traceback.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from crlhf.client import CrlhfClient
from crlhf.client_config import ClientConfig
from crlhf.schemas import RoundStatus, Submission, TrainingRound, TrainingRoundIn
from tests.conftest import ADMIN_TOKEN, REPO_ROOT, LiveServer

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

NO_HONEYPOTS = {"CRLHF_SEED": "false", "CRLHF_WARMUP_HONEYPOTS": "0", "CRLHF_HONEYPOT_RATE": "0"}
LEASE_S = 5.0
"""Short enough for the kill below to fail its round within seconds, long enough that a
healthy worker's heartbeats (every quarter of the lease) are not late on a loaded CI
machine: at 2 s, a busy 2-core runner could fail round 1 for a missed beat."""
SLOW = {"batch_size": 1, "mini_batch_size": 1, "ppo_epochs": 300}
"""Round params that make a round train for seconds on the tiny model, long enough to be
killed or cancelled mid-training (round params override the worker's config file)."""
FINAL = {RoundStatus.SUCCEEDED, RoundStatus.FAILED, RoundStatus.CANCELLED}


def _api(url: str, call: Callable[[CrlhfClient], Any]) -> Any:
    async def go() -> Any:
        async with CrlhfClient(url, ADMIN_TOKEN) as admin:
            return await call(admin)

    return asyncio.run(go())


def _seed_base_samples(url: str, model_dir: Path) -> int:
    """Eight samples of the base (tiny, random) model on four testbed problems, with the
    token ids and log-probs ``crlhf generate`` records, pushed to the server."""
    import torch

    from crlhf.evaluation.suites import load_suite
    from crlhf.generation.generate import GenerationSettings, Generator, load_model
    from crlhf.generation.samples import collect, push

    torch.set_num_threads(1)
    model, tokenizer = load_model(str(model_dir), None, torch.device("cpu"))
    settings = GenerationSettings(max_new_tokens=16, batch_size=8, seed=0)
    generator = Generator(model, tokenizer, settings, model_name=str(model_dir), progress=False)
    collected = collect(generator(load_suite("testbed-train")[:4], 2), "r0-s0")
    problems, samples = collected.problems, collected.samples
    assert samples and all(s.meta.adapter_version is None for s in samples)
    asyncio.run(push(ClientConfig(server=url, token=ADMIN_TOKEN), problems, samples))
    return len(samples)


async def _annotate(url: str, token: str) -> int:
    """Judge every sample the server serves: every other one all wrong, the rest right."""
    done = 0
    async with CrlhfClient(url, token) as annotator:
        while tasks := await annotator.next_tasks(count=20):
            for task in tasks:
                wrong = set(task.judged_numbers) if done % 2 else set()
                await annotator.submit(Submission.from_marks(uuid.uuid4(), task, wrong))
                done += 1
    return done


class Worker:
    """A ``crlhf worker`` process with a short lease, logging to a file."""

    def __init__(self, server: LiveServer, model_dir: Path, out: Path, tmp_path: Path) -> None:
        config = tmp_path / "ppo.json"
        config.write_text(json.dumps({"threads": 1, "batch_size": 4, "mini_batch_size": 2}))
        self.log = tmp_path / "worker.log"
        self.command = [
            sys.executable, "-m", "crlhf", "worker",
            "--server", server.url, "--base-model", str(model_dir), "--out-dir", str(out),
            "--worker-id", "test-worker", "--lease", str(LEASE_S), "--poll", "0.2",
            "--config", str(config), "--set", "learning_rate=1e-3", "--no-progress",
            "--generate-suite", "testbed-train", "--generate-limit", "2", "--generate-n", "3",
            "--max-new-tokens", "16", "--temperature", "0.8",
            "--bench", "testbed-heldout", "--bench-limit", "2", "--bench-n", "1",
            "--bench-workers", "1",
        ]  # fmt: skip
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("CRLHF_")},
            "CRLHF_ADMIN_TOKEN": ADMIN_TOKEN,
            "OMP_NUM_THREADS": "1",
            "PYTHONUNBUFFERED": "1",
        }
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, *extra: str) -> subprocess.Popen[bytes]:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [*self.command, *extra],
                cwd=REPO_ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        return self.process

    def wait(self, timeout: float = 90.0) -> int:
        assert self.process is not None
        return self.process.wait(timeout=timeout)

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]


def _follow(
    url: str, round_id: int, worker: Worker, until: Callable[[TrainingRound], bool]
) -> tuple[TrainingRound, list[tuple[str, str | None]]]:
    """Poll the round until ``until`` holds; returns it and every (status, stage) seen."""
    seen: list[tuple[str, str | None]] = []
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        found: TrainingRound = _api(url, lambda c: c.get_round(round_id))
        state = (found.status.value, found.progress.stage if found.progress else None)
        if not seen or seen[-1] != state:
            seen.append(state)
        if until(found):
            return found, seen
        if found.status in FINAL:
            raise AssertionError(f"round ended {found.status}: {found.message}\n{worker.tail()}")
        time.sleep(0.05)
    raise AssertionError(f"round {round_id} never got there; seen {seen}\n{worker.tail()}")


def _versions(out: Path) -> list[str]:
    """Adapter versions on disk, and any half-written one (``.vNNNN.partial``)."""
    return sorted(p.name for p in out.iterdir() if p.name.startswith(("v", ".v")))


def _training(found: TrainingRound) -> bool:
    return found.progress is not None and found.progress.stage == "training"


def test_worker_runs_a_round_survives_a_kill_and_a_cancel(
    live_server_factory, tiny_model_dir: Path, tmp_path: Path
) -> None:
    server = live_server_factory(env=NO_HONEYPOTS)
    url = server.url
    seeded = _seed_base_samples(url, tiny_model_dir)
    annotator = _api(url, lambda c: c.create_annotator("ann"))
    assert asyncio.run(_annotate(url, annotator.token)) == seeded
    out = tmp_path / "adapters"
    worker = Worker(server, tiny_model_dir, out, tmp_path)

    # Round 1: requested -> running (with progress) -> succeeded, end to end.
    first = _api(url, lambda c: c.create_round(TrainingRoundIn(note="e2e")))
    assert first.status is RoundStatus.REQUESTED
    worker.start("--once")
    done, seen = _follow(url, first.id, worker, lambda r: r.status in FINAL)
    assert worker.wait() == 0, worker.tail()
    assert done.status is RoundStatus.SUCCEEDED, (done.message, worker.tail())
    statuses = [status for i, (status, _) in enumerate(seen) if i == 0 or seen[i - 1][0] != status]
    assert statuses in (["requested", "running", "succeeded"], ["running", "succeeded"]), seen
    assert any(status == "running" and stage for status, stage in seen), seen
    assert done.adapter_version == "v0001" and done.worker == "test-worker"
    assert done.started_at and done.finished_at and done.finished_at >= done.started_at
    assert done.metrics["samples"] == seeded  # every base sample had a vote
    assert done.metrics["samples_pushed"] and done.metrics["samples_pushed"] > 0
    assert "bench/testbed-heldout/pass@1" in done.metrics
    [bench] = done.benchmarks or []
    assert (bench.suite, bench.round, bench.adapter_version) == (
        "testbed-heldout",
        first.id,
        "v0001",
    )
    assert bench.n_problems == 2
    current = _api(url, lambda c: c.current_adapter())
    assert (current.version, current.round_id) == ("v0001", first.id)
    assert _versions(out) == ["v0001"]
    fresh = _api(url, lambda c: c.list_samples(round=first.id))
    assert len(fresh) == done.metrics["samples_pushed"]
    assert {s.meta.adapter_version for s in fresh} == {"v0001"}
    assert all(s.meta.response_token_ids and s.meta.response_logprobs for s in fresh)

    # The crowd judges the new adapter's samples: the next rounds train on those only.
    assert asyncio.run(_annotate(url, annotator.token)) == len(fresh)

    # Round 2: the worker is SIGKILLed mid-training; the lease runs out.
    second = _api(url, lambda c: c.create_round(TrainingRoundIn(params=SLOW)))
    process = worker.start("--once")
    _follow(url, second.id, worker, _training)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    killed_at = time.monotonic()
    failed, _ = _follow(url, second.id, worker, lambda r: r.status in FINAL)
    assert time.monotonic() - killed_at < LEASE_S + 5
    assert failed.status is RoundStatus.FAILED
    assert failed.message is not None
    assert failed.message.startswith("worker test-worker stopped reporting: no heartbeat since")
    assert failed.message.endswith("the previous adapter stays current")
    assert _api(url, lambda c: c.current_adapter()).version == "v0001"
    assert _versions(out) == ["v0001"]

    # Round 3: cancelled through the API while training; the worker stops, keeps nothing
    # and polls on (no --once), so it claims round 4, and SIGTERM fails that one at once.
    third = _api(url, lambda c: c.create_round(TrainingRoundIn(params=SLOW)))
    process = worker.start()
    _follow(url, third.id, worker, _training)
    _api(url, lambda c: c.cancel_round(third.id, "changed my mind"))
    cancelled, _ = _follow(url, third.id, worker, lambda r: r.status in FINAL)
    assert (cancelled.status, cancelled.message) == (RoundStatus.CANCELLED, "changed my mind")
    fourth = _api(url, lambda c: c.create_round(TrainingRoundIn(params=SLOW)))
    _follow(url, fourth.id, worker, _training)
    assert f"round {third.id} ended cancelled" in worker.tail()
    assert _api(url, lambda c: c.current_adapter()).version == "v0001"
    assert _versions(out) == ["v0001"]

    process.send_signal(signal.SIGTERM)
    assert worker.wait() == 128 + signal.SIGTERM
    stopped = _api(url, lambda c: c.get_round(fourth.id))
    assert (stopped.status, stopped.message) == (RoundStatus.FAILED, "worker stopped: SIGTERM")
    assert worker.tail().endswith("crlhf worker: worker stopped: SIGTERM\n")
    assert "Traceback" not in worker.tail()
    assert _api(url, lambda c: c.current_adapter()).version == "v0001"
    assert _versions(out) == ["v0001"]
