"""The worker's pieces: which triples a round trains on, its parent, the heartbeat, the
failure path of a round, ``run_round``'s step callback, and the admin CLI's view of
rounds and adapters."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from crlhf.cli import main
from crlhf.client import CrlhfClient
from crlhf.client_config import ClientConfig
from crlhf.errors import AdapterNotFound, EmptyDataset, RoundCancelled
from crlhf.schemas import (
    CurrentAdapter,
    ExportRow,
    GenerationMeta,
    RoundStatus,
    RoundTransition,
    TrainingRoundIn,
)
from crlhf.training.config import make_config
from crlhf.training.heartbeat import Heartbeat
from crlhf.training.server_round import parent_directory, rows_of_policy
from crlhf.training.worker import Worker, WorkerOptions, run_id
from tests.conftest import ADMIN_TOKEN, LiveServer


def row(sample_id: str, version: str | None) -> ExportRow:
    return ExportRow(
        sample_id=sample_id,
        problem_id="p",
        problem_title="p",
        prompt="x",
        code="y",
        reward=0.5,
        correct_lines=1,
        judged_lines=2,
        n_votes=2,
        n_annotators=2,
        meta=GenerationMeta(adapter_version=version),
    )


def test_a_round_trains_only_on_samples_of_the_current_adapter() -> None:
    rows = [row("a", None), row("b", "v0001"), row("c", "v0001"), row("d", "v0002")]
    assert [r.sample_id for r in rows_of_policy(rows, "v0001")] == ["b", "c"]
    assert [r.sample_id for r in rows_of_policy(rows, None)] == ["a"]
    with pytest.raises(EmptyDataset, match="sampled by adapter v0003, the current adapter"):
        rows_of_policy(rows, "v0003")
    with pytest.raises(EmptyDataset, match="none of the 0 exported"):
        rows_of_policy([], None)


def test_the_parent_is_the_current_adapter_on_disk(tmp_path: Path) -> None:
    assert parent_directory(tmp_path, CurrentAdapter()) is None
    current = CurrentAdapter(version="v0002", round_id=7)
    with pytest.raises(AdapterNotFound, match=r"v0002 \(round 7\) is not in"):
        parent_directory(tmp_path, current)
    (tmp_path / "v0002").mkdir()
    assert parent_directory(tmp_path, current) == tmp_path / "v0002"


def test_benchmark_runs_are_per_round() -> None:
    assert run_id("testbed-heldout", "v0002", 5, 4) == "testbed-heldout-v0002-round5-n4"
    assert run_id("suite/x y", "v1", 5, 4) != run_id("suite/x y", "v1", 6, 4)
    assert "/" not in run_id("suite/x y", "v1", 5, 4)


def test_bad_options_are_one_line_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["worker", "--base-model", "m", "--out-dir", str(tmp_path), "--exit-when-idle"]
    base += ["--server", "http://127.0.0.1:9"]  # the discard port: nothing answers
    assert main([*base, "--lease", "0.5", "--token", "t"]) == 1
    assert capsys.readouterr().err == "crlhf worker: error: lease: must lie in [1, 3600] seconds\n"
    assert main([*base, "--token", "t", "--set", "ppo_epochs=0"]) == 1
    assert "ppo_epochs" in capsys.readouterr().err
    bench = ["--bench", "testbed-heldout", "--bench-n", "2", "--bench-k", "1,5"]
    assert main([*base, "--token", "t", *bench]) == 1
    assert "pass@5 needs --bench-n 5 or more" in capsys.readouterr().err
    assert main([*base, "--token", "t"]) == 1  # with --exit-when-idle, no retrying
    assert "cannot reach the crlhf server" in capsys.readouterr().err


# ------------------------------------------------------------- against a server


def _api(url: str, call: Any) -> Any:
    async def go() -> Any:
        async with CrlhfClient(url, ADMIN_TOKEN) as admin:
            return await call(admin)

    return asyncio.run(go())


@pytest.fixture
def server(live_server_factory: Any, monkeypatch: pytest.MonkeyPatch) -> LiveServer:
    live: LiveServer = live_server_factory(env={"CRLHF_SEED": "false"})
    monkeypatch.setenv("CRLHF_SERVER", live.url)
    monkeypatch.setenv("CRLHF_ADMIN_TOKEN", ADMIN_TOKEN)
    return live


def _wait(condition: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.mark.e2e
def test_heartbeat_reports_progress_and_hears_a_cancel(server: LiveServer) -> None:
    url = server.url
    created = _api(url, lambda c: c.create_round(TrainingRoundIn()))
    claimed = _api(url, lambda c: c.claim_round("w1", 4.0))
    assert claimed.id == created.id
    config = ClientConfig(server=url, token=ADMIN_TOKEN)
    with Heartbeat(config, claimed.id, "w1", interval_s=0.1) as beat:
        beat.report("training", 2, 5, "PPO step 3 of 5")

        def shown() -> Any:
            return _api(url, lambda c: c.get_round(claimed.id)).progress

        _wait(lambda: shown() is not None and shown().step == 2)
        assert shown().model_dump() == {
            "stage": "training",
            "step": 2,
            "steps": 5,
            "detail": "PPO step 3 of 5",
        }
        beat.check()  # nothing said yet
        _api(url, lambda c: c.cancel_round(claimed.id, "enough"))
        _wait(lambda: beat.verdict is not None)
        assert beat.verdict == (RoundStatus.CANCELLED, f"round {claimed.id} was cancelled: enough")
        with pytest.raises(RoundCancelled, match="enough"):
            beat.check()

    other = _api(url, lambda c: c.create_round(TrainingRoundIn()))
    _api(url, lambda c: c.claim_round("w1", 4.0))
    with Heartbeat(config, other.id, "someone-else", interval_s=0.1) as stranger:
        _wait(lambda: stranger.verdict is not None)
    assert stranger.verdict is not None
    assert stranger.verdict[0] is RoundStatus.FAILED and "run by worker 'w1'" in stranger.verdict[1]


@pytest.mark.e2e
def test_a_failing_round_is_marked_with_its_stage_and_the_worker_goes_on(
    server: LiveServer, tmp_path: Path
) -> None:
    url = server.url
    config = ClientConfig(server=url, token=ADMIN_TOKEN)
    out = tmp_path / "adapters"
    options = WorkerOptions(
        worker_id="w1", base_model="unused", out_dir=out, poll_s=0.1, exit_when_idle=True
    )
    worker = Worker(config, options, lambda params: make_config({**params, "threads": 1}))
    empty = _api(url, lambda c: c.create_round(TrainingRoundIn()))
    bad = _api(url, lambda c: c.create_round(TrainingRoundIn(params={"ppo_epochs": 0})))

    assert worker.run() == 0  # both rounds failed, then nothing was waiting
    first = _api(url, lambda c: c.get_round(empty.id))
    assert first.status is RoundStatus.FAILED and first.worker == "w1"
    assert first.message.startswith("stage loading: EmptyDataset: none of the 0 exported")
    second = _api(url, lambda c: c.get_round(bad.id))
    assert second.message.startswith("stage loading: InvalidInput: ppo_epochs: bad PPO setting")
    assert not out.exists()  # nothing was trained, nothing written

    # The server's current adapter is missing from this worker's --out-dir.
    done = _api(url, lambda c: c.create_round(TrainingRoundIn()))
    _api(url, lambda c: c.claim_round("elsewhere", 60.0))
    succeeded = RoundTransition(status=RoundStatus.SUCCEEDED, adapter_version="v0007")
    _api(url, lambda c: c.transition_round(done.id, succeeded))
    orphan = _api(url, lambda c: c.create_round(TrainingRoundIn()))
    assert Worker(config, replace(options, once=True), worker.make_config).run() == 1
    message = _api(url, lambda c: c.get_round(orphan.id)).message
    assert message.startswith("stage loading: AdapterNotFound: the current adapter v0007")


@pytest.mark.e2e
def test_admin_cli_shows_progress_cancels_and_names_the_current_adapter(
    server: LiveServer, capsys: pytest.CaptureFixture[str]
) -> None:
    def admin(*argv: str) -> str:
        capsys.readouterr()
        assert main(["admin", *argv]) == 0
        return capsys.readouterr().out

    url = server.url
    assert admin("adapters", "current") == "base model (no training round has succeeded yet)\n"
    created = _api(url, lambda c: c.create_round(TrainingRoundIn(note="from the test")))
    _api(url, lambda c: c.claim_round("gpu-1", 60.0))
    with Heartbeat(ClientConfig(server=url, token=ADMIN_TOKEN), created.id, "gpu-1", 0.1) as beat:
        beat.report("training", 3, 8, "PPO step 4 of 8")
        _wait(lambda: "training 3/8" in admin("rounds", "list"))
        listed = admin("rounds", "list")
        assert "running" in listed and "gpu-1" in listed
        shown = admin("rounds", "show", str(created.id))
        assert "training 3/8 (PPO step 4 of 8)" in shown and "gpu-1" in shown
        cancelled = json.loads(
            admin("rounds", "cancel", str(created.id), "--message", "stop", "--json")
        )
        assert (cancelled["status"], cancelled["message"]) == ("cancelled", "stop")
        _wait(lambda: beat.verdict is not None)
    assert "cancelled" in admin("rounds", "list") and "stop" in admin("rounds", "list")

    second = _api(url, lambda c: c.create_round(TrainingRoundIn()))
    _api(url, lambda c: c.claim_round("gpu-1", 60.0))
    done = RoundTransition(status=RoundStatus.SUCCEEDED, adapter_version="v0001")
    _api(url, lambda c: c.transition_round(second.id, done))
    assert admin("adapters", "current").startswith(f"v0001 (round {second.id}, since ")
    assert json.loads(admin("adapters", "current", "--json"))["version"] == "v0001"


def test_run_round_reports_each_step_and_a_raise_leaves_no_version(
    preference_rows: list[ExportRow], tiny_model_dir: Path, tmp_path: Path
) -> None:
    from crlhf.training.round import run_round

    config = make_config({"batch_size": 4, "mini_batch_size": 2, "ppo_epochs": 1, "threads": 1})
    calls: list[tuple[int, int]] = []
    run_round(
        preference_rows,
        base_model=tiny_model_dir,
        out_root=tmp_path,
        version="v0001",
        config=config,
        on_step=lambda done, total: calls.append((done, total)),
    )
    assert calls == [(0, 2), (1, 2), (2, 2)]  # before each step, then before saving

    def cancel_at_second_step(done: int, total: int) -> None:
        if done == 1:
            raise RoundCancelled("round 9 was cancelled")

    with pytest.raises(RoundCancelled):
        run_round(
            preference_rows,
            base_model=tiny_model_dir,
            out_root=tmp_path,
            version="v0002",
            config=config,
            on_step=cancel_at_second_step,
        )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v0001"]
