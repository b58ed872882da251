"""``crlhf train-round --from-server`` against a real server process.

The round is created, moves to running, and ends succeeded with the adapter version and
metrics, or failed with the reason, all visible through the admin API.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import pytest

from crlhf.cli import main
from crlhf.client import CrlhfClient
from crlhf.schemas import ProblemIn, RoundStatus, SampleIn, Submission, TrainingRoundIn
from crlhf.training.adapters import read_manifest
from tests.conftest import ADMIN_TOKEN
from tests.crlhf.training.conftest import BAD, GOOD, PROMPT, make_row

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

NO_HONEYPOTS = {"CRLHF_SEED": "false", "CRLHF_WARMUP_HONEYPOTS": "0", "CRLHF_HONEYPOT_RATE": "0"}


async def _fill(url: str, tokenizer: Any) -> None:
    """Four samples of one problem, each judged by one annotator (good ones all correct)."""
    async with CrlhfClient(url, ADMIN_TOKEN) as admin:
        await admin.import_problems([ProblemIn(id="add", title="add", description=PROMPT)])
        rows = [make_row(tokenizer, f"s{i}", PROMPT, GOOD if i % 2 else BAD, 0.0) for i in range(4)]
        samples = [
            SampleIn(id=row.sample_id, problem_id="add", code=row.code, meta=row.meta)
            for row in rows
        ]
        await admin.import_samples(samples)
        created = await admin.create_annotator("ann")
    async with CrlhfClient(url, created.token) as annotator:
        tasks = await annotator.next_tasks(count=4)
        assert len(tasks) == 4
        for task in tasks:
            wrong = set() if task.sample_id in {"s1", "s3"} else set(task.judged_numbers)
            await annotator.submit(Submission.from_marks(uuid.uuid4(), task, wrong))


async def _rounds(url: str) -> list[Any]:
    async with CrlhfClient(url, ADMIN_TOKEN) as admin:
        return await admin.list_rounds()


async def _request(url: str, params: dict[str, Any]) -> Any:
    async with CrlhfClient(url, ADMIN_TOKEN) as admin:
        return await admin.create_round(TrainingRoundIn(params=params))


def test_round_through_the_server(
    live_server_factory, tokenizer, tiny_model_dir: Path, tmp_path: Path, capsys
) -> None:
    server = live_server_factory(env=NO_HONEYPOTS)
    asyncio.run(_fill(server.url, tokenizer))
    out = tmp_path / "adapters"
    argv = ["train-round", "--from-server", "--server", server.url, "--token", ADMIN_TOKEN]
    argv += ["--base-model", str(tiny_model_dir), "--out-dir", str(out), "--no-progress"]
    argv += ["--set", "batch_size=4", "--set", "mini_batch_size=2", "--set", "threads=1"]

    assert main(argv) == 0
    (done,) = asyncio.run(_rounds(server.url))
    assert done.status is RoundStatus.SUCCEEDED
    assert done.adapter_version == "v0001"
    assert done.metrics["steps"] == 1
    manifest = read_manifest(out / "v0001")
    assert manifest.round_id == done.id
    assert manifest.data["samples"] == 4
    assert manifest.metrics["score_mean"] == pytest.approx(0.5)  # two of four right
    capsys.readouterr()

    # No sample has two votes: the round fails, says why, and no version is written.
    assert main([*argv, "--min-votes", "2"]) == 1
    failed = asyncio.run(_rounds(server.url))[0]
    assert failed.status is RoundStatus.FAILED
    assert failed.message and "EmptyDataset" in failed.message
    assert sorted(p.name for p in out.iterdir()) == ["v0001"]

    # v0001 is current, and --from-server trains only on its samples (the worker's rule):
    # there are none, so roll back to the base model, whose samples these are.
    assert (
        main(["admin", "adapters", "rollback", "--server", server.url, "--token", ADMIN_TOKEN]) == 0
    )

    # A requested round (as an admin or the worker would create it) with its own settings.
    requested = asyncio.run(_request(server.url, {"ppo_epochs": 2, "note_for_worker": "x"}))
    run_argv = [a if a != "--from-server" else "--round-id" for a in argv]
    run_argv.insert(run_argv.index("--round-id") + 1, str(requested.id))
    assert main(run_argv) == 0
    finished = asyncio.run(_rounds(server.url))[0]
    assert (finished.id, finished.status) == (requested.id, RoundStatus.SUCCEEDED)
    assert read_manifest(out / "v0002").config.ppo_epochs == 2
    assert read_manifest(out / "v0002").parent_version is None
