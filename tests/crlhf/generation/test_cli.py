"""``crlhf generate`` and ``crlhf bench`` end to end on a tiny local model."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest

from crlhf.cli import main
from crlhf.client import CrlhfClient
from crlhf.sandbox.processes import sandbox_pids
from crlhf.schemas import SampleIn

pytestmark = pytest.mark.slow

FAST = ["--max-new-tokens", "16", "--batch-size", "8", "--seed", "5"]


def test_generate_writes_samples_with_their_metadata(tiny_model_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "samples.jsonl"
    args = ["generate", "--model", str(tiny_model_dir), "--suite", "humaneval", "--limit", "2"]
    assert main([*args, "--n", "3", "--round", "1", "--out", str(out), *FAST]) == 0
    samples = [SampleIn.model_validate_json(line) for line in out.read_text().splitlines()]
    assert samples, "a random model still writes something non-blank"
    assert {s.problem_id for s in samples} <= {"HumanEval/0", "HumanEval/1"}
    first = samples[0]
    assert first.id is not None and first.id.startswith(f"{first.problem_id}:r1-s5:")
    assert first.meta.round == 1 and first.meta.temperature == 0.8
    assert len(first.meta.response_token_ids or []) == len(first.meta.response_logprobs or [])


def test_bench_a_tiny_model_then_resume_then_plot(
    tiny_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runs = tmp_path / "runs"
    args = ["bench", "--model", str(tiny_model_dir), "--suite", "humaneval", "--limit", "3"]
    args += ["--n", "4", "--k", "1,2,10", "--out", str(runs), "--run-id", "tiny", *FAST]
    assert main(args) == 0
    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    summary = json.loads((runs / "tiny" / "results.json").read_text())
    assert printed["pass_at_k"] == summary["pass_at_k"]
    assert set(summary["pass_at_k"]) == {"1", "2"}  # k = 10 > n is skipped
    assert 0.0 <= summary["pass_at_k"]["1"] <= summary["pass_at_k"]["2"] <= 1.0
    assert sum(summary["outcomes"].values()) == 12
    assert summary["isolation"]["audit_hook"] is True
    assert sandbox_pids(os.getpid()) == []
    # Everything is on disk: running again generates and executes nothing new.
    before = (runs / "tiny" / "completions.jsonl").read_text()
    assert main(args) == 0
    assert (runs / "tiny" / "completions.jsonl").read_text() == before
    png = tmp_path / "rounds.png"
    assert main(["bench", "--out", str(runs), "--plot", str(png)]) == 0
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_bench_reference_solutions_score_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["bench", "--reference", "--suite", "humaneval", "--limit", "5", "--n", "1", "--k", "1"]
    assert main([*args, "--out", str(tmp_path)]) == 0
    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert printed["pass_at_k"] == {"1": 1.0}


def test_bench_without_a_model_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["bench", "--suite", "humaneval", "--out", str(tmp_path)]) == 1
    assert "--model" in capsys.readouterr().err


@pytest.mark.e2e
def test_generate_pushes_samples_to_a_live_server(tiny_model_dir: Path, live_server) -> None:
    args = ["generate", "--model", str(tiny_model_dir), "--suite", "humaneval", "--limit", "2"]
    args += ["--n", "2", "--push", "--server", live_server.url, "--token", live_server.admin_token]
    assert main([*args, *FAST]) == 0

    async def stored() -> list[str]:
        async with CrlhfClient(live_server.url, live_server.admin_token) as client:
            # (listed, not fetched by id: GET /problems/{id} does not take a "/" in an id)
            problems = {p.id: p for p in await client.list_problems(limit=1000)}
            tests = problems["HumanEval/0"].tests
            assert tests and "check(has_close_elements)" in tests
            samples = await client.list_samples(problem_id="HumanEval/0")
            return [s.id for s in samples]

    ids = asyncio.run(stored())
    assert ids and all(i.startswith("HumanEval/0:r0-s5:") for i in ids)
    # Pushing the same samples again is harmless (idempotent import).
    assert main([*args, *FAST]) == 0


def test_chat_style_on_a_model_without_template_is_a_one_line_error(
    tiny_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["generate", "--model", str(tiny_model_dir), "--limit", "1", "--out"]
    assert main([*args, str(tmp_path / "s.jsonl"), "--prompt-style", "chat"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert last.startswith("crlhf generate: error: prompt_style: chat needs")
    assert "chat template" in err


def test_a_gguf_transformers_cannot_read_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CRLHF_MODELS_DIR", str(tmp_path / "models"))
    bogus = tmp_path / "weird.gguf"
    bogus.write_bytes(b"GGUF\x03\x00\x00\x00" + b"\x00" * 64)
    assert main(["generate", "--model", str(bogus), "--limit", "1", "--out", "x.jsonl"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "crlhf generate: error: gguf: transformers cannot dequantise weird.gguf" in err
    assert not (tmp_path / "models" / "gguf-weird").exists()
