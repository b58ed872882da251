"""``crlhf bench --server``: the run's pass@k posted per round, read back with the admin CLI."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from crlhf.cli import main
from crlhf.client import CrlhfClient
from crlhf.errors import InvalidInput
from crlhf.evaluation.bench import BenchConfig
from crlhf.evaluation.post import result_from_summary
from crlhf.schemas import TrainingRoundIn

FAST = ["--max-new-tokens", "16", "--batch-size", "8", "--seed", "5"]


def test_summary_becomes_a_result_and_needs_some_k() -> None:
    config = BenchConfig(suite="mbpp", n=4, ks=(1, 2, 10), model="m", round=3, temperature=0.8)
    summary = {"run_id": "r", "pass_at_k": {"1": 0.25, "2": 0.5}, "n_problems": 7}
    result = result_from_summary(summary, config, "v3")
    assert result.pass_at_k == {1: 0.25, 2: 0.5}
    assert (result.round, result.adapter_version, result.n, result.n_problems) == (3, "v3", 4, 7)
    with pytest.raises(InvalidInput, match="no k value"):
        result_from_summary({**summary, "pass_at_k": {}}, config, None)


def test_a_missing_token_fails_before_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("CRLHF_ADMIN_TOKEN", "CRLHF_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    args = ["bench", "--reference", "--suite", "humaneval", "--limit", "1", "--n", "1"]
    args += ["--k", "1", "--out", str(tmp_path), "--server", "http://127.0.0.1:9"]
    assert main(args) == 1
    assert "token" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())  # nothing ran


def _admin(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    capsys.readouterr()
    assert main(["admin", *argv]) == 0
    return capsys.readouterr().out


@pytest.mark.slow
@pytest.mark.e2e
def test_bench_posts_per_round_and_admins_read_before_and_after(
    tiny_model_dir: Path, live_server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server = ["--server", live_server.url, "--token", live_server.admin_token]

    async def new_round() -> int:
        async with CrlhfClient(live_server.url, live_server.admin_token) as admin:
            return (await admin.create_round(TrainingRoundIn(note="bench e2e"))).id

    round_id = asyncio.run(new_round())
    common = ["--suite", "humaneval", "--limit", "2", "--k", "1,2", "--out", str(tmp_path)]
    # Before: the tiny model (the baseline, no round). After: the reference solutions,
    # standing in for the round's policy.
    before = ["bench", "--model", str(tiny_model_dir), "--n", "2", *common, *FAST, *server]
    assert main(before) == 0
    posted = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["posted"]
    assert posted["round"] is None
    after = ["bench", "--reference", "--n", "2", *common, "--round", str(round_id), *server]
    assert main(after) == 0
    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert printed["posted"]["round"] == round_id
    assert main(after) == 0  # resumed: posts again, replacing its own result

    table = _admin(capsys, "benchmarks", *server).splitlines()
    assert table[0].split() == [
        "round",
        "suite",
        "model",
        "adapter",
        "n",
        "pass@1",
        "pass@2",
        "run",
        "id",
    ]
    baseline, measured = table[2].split(), table[3].split()
    assert len(table) == 4
    assert baseline[0] == "baseline" and measured[0] == str(round_id)
    assert measured[5:7] == ["1.000", "1.000"]  # the reference solutions pass
    assert 0.0 <= float(baseline[5]) <= float(baseline[6]) <= 1.0

    rows = json.loads(_admin(capsys, "benchmarks", "--round", str(round_id), "--json", *server))
    assert [(r["run_id"], r["pass_at_k"]) for r in rows] == [
        (printed["run_id"], {"1": 1.0, "2": 1.0})
    ]
    shown = json.loads(_admin(capsys, "rounds", "show", str(round_id), "--json", *server))
    assert [r["run_id"] for r in shown["benchmarks"]] == [printed["run_id"]]
