"""A team's own problems and model, end to end, through the CLI and a real server.

Import own problems in two formats (the documented example files) → generate from a local
checkpoint with ``--problems`` → import a hand-written sample → annotate through the API
(own samples before the starter set) → a worker round on the server with the hand-written
sample present (skipped and counted) that samples and benchmarks own problems → a
``--from-server`` round that fails, is retried after a rollback → bench on own problems
→ adapters list/set/rollback → ``train-round --register`` → export-model, merged and
adapter, reloaded and compared.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from crlhf.cli import main
from crlhf.client import CrlhfClient
from crlhf.schemas import RoundStatus, Submission
from tests.conftest import ADMIN_TOKEN

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"
OWN = EXAMPLES / "problems.jsonl"
HUMANEVAL_STYLE = EXAMPLES / "problems-humaneval.jsonl"
ROUTING = {"CRLHF_WARMUP_HONEYPOTS": "0", "CRLHF_HONEYPOT_RATE": "0"}
PPO = ["--set", "batch_size=4", "--set", "mini_batch_size=2", "--set", "threads=1"]


def _api(url: str, call: Callable[[CrlhfClient], Any], token: str = ADMIN_TOKEN) -> Any:
    async def go() -> Any:
        async with CrlhfClient(url, token) as client:
            return await call(client)

    return asyncio.run(go())


async def _annotate(url: str, token: str) -> list[Any]:
    """Judge every own sample served (all before any starter sample); return the tasks."""
    served: list[Any] = []
    async with CrlhfClient(url, token) as annotator:
        while tasks := await annotator.next_tasks(count=10):
            own = [t for t in tasks if t.problem.id.startswith(("team/", "mbpp/"))]
            served.extend(own)
            for i, task in enumerate(own):
                wrong = set(task.judged_numbers) if i % 2 else set()
                await annotator.submit(Submission.from_marks(uuid.uuid4(), task, wrong))
            if len(own) < len(tasks):
                return served  # the starter set came next: every own sample was served
    return served


def test_own_problems_and_model_end_to_end(
    live_server_factory, tiny_model_dir: Path, tmp_path: Path, capsys
) -> None:
    server = live_server_factory(env=ROUTING)  # seeded: the starter set is there too
    url = server.url
    assert "'crlhf serve --no-seed'" in server.log()  # the first start says how to start clean
    auth = ["--server", url, "--token", ADMIN_TOKEN]

    def cli(*argv: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main([str(a) for a in argv])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    # 1. Own problems in two formats; a bad file names line and field, imports nothing.
    assert cli("admin", "import-problems", OWN, *auth)[0] == 0
    assert cli("admin", "import-problems", HUMANEVAL_STYLE, *auth)[0] == 0
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        '{"id": "team/ok", "title": "ok", "description": "fine"}\n'
        '{"id": "team/bad", "title": "", "description": "empty title"}\n'
    )
    code, _, err = cli("admin", "import-problems", bad, *auth)
    assert code == 1
    assert f"{bad}:2: title" in err and len(err.strip().splitlines()) == 1
    code, out, _ = cli("admin", "problems", "list", "--json", *auth)
    listed = {p["id"]: p for p in json.loads(out)}
    assert "team/ok" not in listed
    assert listed["team/js-sum"]["language"] == "javascript"
    assert listed["team/double"]["tests"].endswith("check(double)")
    assert listed["mbpp/7001"]["prompt"].startswith('"""')

    # 2. Generate from a local checkpoint for own problems, pushed to the server.
    gen = ["--model", tiny_model_dir, "--n", "3", "--max-new-tokens", "24", "--batch-size", "8"]
    assert cli("generate", "--problems", OWN, *gen, "--push", *auth)[0] == 0
    assert cli("generate", "--problems", HUMANEVAL_STYLE, *gen, "--push", *auth)[0] == 0
    samples = _api(url, lambda c: c.list_samples(limit=10_000))
    generated = [s for s in samples if s.meta.prompt_token_ids]
    assert generated and all(s.problem_id in listed for s in generated)
    # A hand-written sample (no token ids) and an archived one.
    hand = tmp_path / "hand.jsonl"
    code_text = "def clamp(x, low, high):\n    return min(max(x, low), high)\n"
    hand.write_text(json.dumps({"id": "hand-1", "problem_id": "team/clamp", "code": code_text}))
    assert cli("admin", "import-samples", hand, *auth)[0] == 0
    archived = generated[0].id
    assert cli("admin", "samples", "archive", archived, *auth)[0] == 0

    # 3. Annotate through the API: own samples come before the starter set.
    annotator = _api(url, lambda c: c.create_annotator("dev"))
    served = asyncio.run(_annotate(url, annotator.token))
    served_ids = {t.sample_id for t in served}
    assert "hand-1" in served_ids and archived not in served_ids
    assert len(served_ids) == len(generated)  # every live own sample, the archived one not
    js = [t for t in served if t.problem.id == "team/js-sum"]
    assert all(t.problem.language == "javascript" for t in js)

    # 4. A server-driven round by the worker, with the hand-written sample present: it is
    #    skipped and counted; the worker samples and benchmarks own problems.
    out_dir = tmp_path / "adapters"
    first = _api(url, lambda c: c.create_round(_round_in()))
    worker = ["worker", *auth, "--base-model", tiny_model_dir, "--out-dir", out_dir]
    worker += ["--once", "--no-progress", "--min-votes", "1", *PPO]
    worker += ["--generate-problems", HUMANEVAL_STYLE, "--generate-n", "2"]
    worker += ["--max-new-tokens", "16", "--bench-problems", OWN, "--bench-n", "2"]
    code, _, err = cli(*worker)
    done = _api(url, lambda c: c.get_round(first.id))
    assert (code, done.status) == (0, RoundStatus.SUCCEEDED), (err, done.message)
    assert done.adapter_version == "v0001"
    assert done.metrics["skipped_no_token_ids"] == 1
    assert done.metrics["samples"] == len(generated) - 1  # the archived one is not exported
    assert "bench/problems/pass@1" in done.metrics  # slugify and clamp ran; the rest did not
    manifest = json.loads((out_dir / "v0001" / "manifest.json").read_text())
    assert manifest["data"]["skipped_no_token_ids"] == 1

    # 5. --from-server follows the worker's rule: the current adapter (v0001) is the parent
    #    and only its samples count; none has votes, so the round fails. Rolled back to the
    #    base model, the same round retried trains on the base model's samples.
    round_cmd = ["train-round", *auth, "--base-model", tiny_model_dir, "--out-dir", out_dir]
    round_cmd += ["--no-progress", "--min-votes", "1", *PPO]
    assert cli(*round_cmd, "--from-server")[0] == 1
    failed = _api(url, lambda c: c.list_rounds())[0]
    assert failed.status is RoundStatus.FAILED and "adapter v0001" in (failed.message or "")
    assert cli("admin", "adapters", "rollback", *auth)[1].startswith("base model")
    code, out, _ = cli("admin", "rounds", "retry", failed.id, "--json", *auth)
    retried = json.loads(out)
    assert retried["params"] == failed.params and retried["status"] == "requested"
    assert cli(*round_cmd, "--round-id", retried["id"])[0] == 0
    second = _api(url, lambda c: c.get_round(retried["id"]))
    assert second.adapter_version == "v0002" and second.metrics["parent_version"] is None

    # 6. Bench on own problems: no-test and non-Python problems are not run, not passed.
    bench = ["bench", "--model", tiny_model_dir, "--adapter", out_dir / "v0002", "--n", "2"]
    bench += ["--k", "1", "--max-new-tokens", "16", "--out", tmp_path / "runs", "--round"]
    code, out, _ = cli(*bench, second.id, "--problems", OWN, *auth)
    result = json.loads(out)
    assert code == 0 and result["n_problems"] == 2
    assert {r["task_id"]: r["reason"] for r in result["not_run"]} == {
        "team/retry-config": "no tests",
        "team/js-sum": "javascript: only Python is executed",
        "team/sql-active": "sql: only Python is executed",
    }
    assert result["posted"]["round"] == second.id
    reference = ["bench", "--reference", "--problems", HUMANEVAL_STYLE, "--n", "1", "--k", "1"]
    code, out, _ = cli(*reference, "--out", tmp_path / "runs")
    assert json.loads(out)["pass_at_k"] == {"1": 1.0}
    # --suite server: every problem on the server (the starter set's 24 and 4 own ones run).
    reference = ["bench", "--reference", "--suite", "server", "--n", "1", "--k", "1", *auth]
    code, out, _ = cli(*reference, "--out", tmp_path / "runs")
    on_server = json.loads(out)
    assert (on_server["pass_at_k"], on_server["n_problems"]) == ({"1": 1.0}, 28)
    assert len(on_server["not_run"]) == 3

    # 7. Adapters: list, set, an unknown version refused, rollback.
    code, out, _ = cli("admin", "adapters", "list", "--json", *auth)
    assert [(v["version"], v["current"]) for v in json.loads(out)] == [
        ("v0002", True),
        ("v0001", False),
    ]
    assert cli("admin", "adapters", "set", "v0001", *auth)[1].startswith("v0001")
    code, _, err = cli("admin", "adapters", "set", "v9999", *auth)
    assert code == 1 and "v9999" in err and len(err.strip().splitlines()) == 1
    assert _api(url, lambda c: c.current_adapter()).version == "v0001"
    assert cli("admin", "adapters", "rollback", *auth)[1].startswith("base model")

    # 8. A round trained offline, registered: it becomes current like any other.
    export = tmp_path / "export.jsonl"
    assert cli("admin", "export", "--out", export, "--min-votes", "1", *auth)[0] == 0
    offline = ["train-round", "--data", export, "--base-model", tiny_model_dir]
    offline += ["--out-dir", out_dir, "--no-progress", *PPO, "--register", *auth]
    assert cli(*offline)[0] == 0
    current = _api(url, lambda c: c.current_adapter())
    assert current.version == "v0003" and not current.pinned

    # 9. Ship it: merged checkpoint and adapter agree; bad exports write nothing.
    merged, adapter = tmp_path / "merged", tmp_path / "adapter-only"
    ship = ["export-model", "--adapters", out_dir, "--version", "v0003"]
    assert cli(*ship, "--merge", "--out", merged)[0] == 0
    assert cli(*ship, "--out", adapter)[0] == 0
    code, _, err = cli(*ship, "--merge", "--out", merged)
    assert code == 1 and "exists" in err
    other = tmp_path / "other-base"
    code, _, err = cli(*ship, "--merge", "--out", other, "--base-model", EXAMPLES)
    assert code == 1 and "trained on" in err and not other.exists()
    code, _, err = cli("export-model", "--adapters", out_dir, "--version", "v9", "--out", other)
    assert code == 1 and not other.exists()
    _assert_same_logits(merged, adapter, tiny_model_dir)


def _round_in() -> Any:
    from crlhf.schemas import TrainingRoundIn

    return TrainingRoundIn(params={}, note="own problems")


def _assert_same_logits(merged: Path, adapter: Path, base: Path) -> None:
    """The merged checkpoint, loaded by transformers alone, computes what base + adapter
    computes with peft, in a fresh load of each."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    assert (merged / "model.safetensors").is_file()
    tokenizer = AutoTokenizer.from_pretrained(merged)
    ids = tokenizer("def clamp(x, low, high):\n    return", return_tensors="pt").input_ids
    config = json.loads((adapter / "adapter_config.json").read_text())
    assert config["base_model_name_or_path"] == str(base)
    with torch.no_grad():
        shipped = AutoModelForCausalLM.from_pretrained(merged)(ids).logits
        lora = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(base), adapter)
        reference = lora(ids).logits
    assert torch.allclose(shipped, reference, atol=1e-5)
    assert not torch.allclose(
        shipped, AutoModelForCausalLM.from_pretrained(base)(ids).logits, atol=1e-6
    )  # the adapter changed something: the comparison above is not trivially true
