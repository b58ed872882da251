"""A team's own data on the server: problem language and prompt, starter samples after
imported ones, archived samples, and ``crlhf serve --no-seed``."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.conftest import ADMIN_TOKEN, REPO_ROOT, free_port
from tests.server.conftest import Api, submission_for

JS_CODE = "function sum(xs) {\n  return xs.reduce((a, b) => a + b, 0);\n}\n"


def _import_own(api: Api) -> None:
    problem = {
        "id": "team/js-sum",
        "title": "Sum",
        "description": "Sum an array.",
        "prompt": "function sum(xs) {\n",
        "language": "javascript",
    }
    assert api.client.post("/v1/admin/problems", json=[problem], headers=api.admin).is_success
    sample = {"id": "own-1", "problem_id": "team/js-sum", "code": JS_CODE}
    assert api.client.post("/v1/admin/samples", json=[sample], headers=api.admin).is_success


def test_own_samples_are_served_before_the_starter_set(api: Api) -> None:
    _import_own(api)  # imported after the seeded (starter) samples, served first anyway
    annotator = api.annotator("dev")
    first, second = api.tasks(annotator, count=2)
    assert first["sample_id"] == "own-1"
    assert first["problem"]["language"] == "javascript"
    assert second["problem"]["language"] == "python"  # a starter sample, after the own one
    stored = api.client.get("/v1/admin/problems/team/js-sum", headers=api.admin).json()
    assert (stored["prompt"], stored["language"]) == ("function sum(xs) {\n", "javascript")


def test_a_language_must_be_a_lexer_name(api: Api) -> None:
    bad = {"id": "x", "title": "x", "description": "x", "language": "Java Script"}
    refused = api.client.post("/v1/admin/problems", json=[bad], headers=api.admin)
    assert refused.status_code == 422
    assert refused.json()["details"][0]["field"].endswith("language")


def _exported(api: Api) -> set[str]:
    response = api.client.get("/v1/admin/export?min_votes=1", headers=api.admin)
    return {json.loads(line)["sample_id"] for line in response.text.splitlines() if line}


def test_an_archived_sample_is_never_served_or_exported_and_keeps_its_votes(api: Api) -> None:
    _import_own(api)
    annotator = api.annotator("dev")
    (task,) = api.tasks(annotator)
    assert task["sample_id"] == "own-1"
    submitted = api.client.post("/v1/submissions", json=submission_for(task), headers=annotator)
    assert submitted.is_success, submitted.text
    assert "own-1" in _exported(api)

    archived = api.client.post("/v1/admin/samples/own-1/archive", headers=api.admin)
    assert archived.status_code == 200 and archived.json()["archived"] is True
    assert "own-1" not in _exported(api)
    other = api.annotator("other")
    served = api.tasks(other, count=20)
    assert served and "own-1" not in {t["sample_id"] for t in served}
    consensus = api.client.get("/v1/admin/samples/own-1/consensus", headers=api.admin).json()
    assert consensus and all(line["n_votes"] == 1 for line in consensus)
    missing = api.client.post("/v1/admin/samples/nope/archive", headers=api.admin)
    assert missing.status_code == 404


def test_serve_no_seed_starts_clean_and_says_so(tmp_path: Path) -> None:
    port = free_port()
    command = [sys.executable, "-m", "crlhf", "serve", "--no-seed", "--port", str(port)]
    command += ["--db", str(tmp_path / "clean.db")]
    env = {"CRLHF_ADMIN_TOKEN": ADMIN_TOKEN, "PATH": "/usr/bin:/bin", "PYTHONUNBUFFERED": "1"}
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=out, stderr=out)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        assert httpx.get(f"{url}/v1/admin/problems", headers=headers).json() == []
    finally:
        process.terminate()
        process.wait(timeout=15)
    assert "No starter set" in log.read_text()
