"""``crlhf machines run`` against a real ``crlhf serve`` process: both checkers vote through
the API, the engine weighs them, and the wrong kind of token is refused in one line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from crlhf.cli import main

pytestmark = pytest.mark.e2e

PROBLEMS = [
    {
        "id": "m-sum",
        "title": "Sum",
        "description": "Return the sum of xs.",
        "entry_point": "total",
        "tests": "assert total([1, 2]) == 3\nassert total([]) == 0\nassert total([4]) == 4\n",
    },
    {"id": "m-none", "title": "No tests", "description": "Return 1."},
]
GOOD = "def total(xs):\n    s = 0\n    for x in xs:\n        s += x\n    return s\n"
CRASH = "def total(xs):\n    if not xs:\n        return 1 / 0\n    return sum(xs)\n"
UNDEFINED = "def total(xs):\n    return sum(xs) + offset\n"
SAMPLES = [
    {"id": "good", "problem_id": "m-sum", "code": GOOD, "meta": {"model": "m"}},
    {"id": "crash", "problem_id": "m-sum", "code": CRASH, "meta": {"model": "m"}},
    {"id": "undefined", "problem_id": "m-sum", "code": UNDEFINED, "meta": {"model": "m"}},
    {"id": "untested", "problem_id": "m-none", "code": "def one():\n    return 1\n"},
]


def _jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    capsys.readouterr()
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert code == 0, err
    return out


def _token(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    created = json.loads(_cli(capsys, "admin", "create-annotator", *argv, "--json"))
    token: str = created["token"]
    return token


def test_checkers_vote_through_the_api_and_tokens_stay_apart(
    live_server_factory: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    live = live_server_factory(env={"CRLHF_SEED": "false", "CRLHF_WARMUP_HONEYPOTS": "0"})
    monkeypatch.setenv("CRLHF_SERVER", live.url)
    monkeypatch.setenv("CRLHF_ADMIN_TOKEN", live.admin_token)
    _cli(capsys, "admin", "import-problems", str(_jsonl(tmp_path / "p.jsonl", PROBLEMS)))
    _cli(capsys, "admin", "import-samples", str(_jsonl(tmp_path / "s.jsonl", SAMPLES)))
    tests = _token(capsys, "tests-bot", "--machine", "tests")
    static = _token(capsys, "static-bot", "--machine", "static")
    person = _token(capsys, "ann")

    argv = ["machines", "run", "--server", live.url, "--token", tests, "--token", static]
    _cli(capsys, *argv, "--once")

    rewards = {r["sample_id"]: r for r in json.loads(_cli(capsys, "admin", "rewards", "--json"))}
    assert rewards["good"]["n_votes"] == 5  # tests: every executed line correct
    assert rewards["crash"]["n_votes"] == 1  # tests: the raising line; static: nothing
    assert rewards["undefined"]["n_votes"] == 2  # tests: the raising line; static: the name
    assert rewards["untested"]["n_votes"] == 0  # no tests, clean: both abstain
    assert rewards["good"]["reward"] == 1.0 and rewards["crash"]["reward"] < 1.0
    # Every sample was recorded as judged: a second pass has nothing to do.
    _cli(capsys, *argv, "--once")
    again = json.loads(_cli(capsys, "admin", "rewards", "--json"))
    assert sum(r["n_votes"] for r in again) == 8

    listing = _cli(capsys, "admin", "list-annotators")
    assert "machine:tests" in listing and "machine:static" in listing and "human" in listing

    # A person's token running the machines, and a machine's token in a person's client.
    done = subprocess.run(
        [sys.executable, "-m", "crlhf", "machines", "run", "--once", "--token", person],
        capture_output=True,
        text=True,
        env={"CRLHF_SERVER": live.url, "PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert done.returncode == 1
    assert "belongs to a person" in done.stderr and "Traceback" not in done.stderr
    assert done.stderr.count("\n") == 1
    import httpx

    answer = httpx.get(
        f"{live.url}/v1/tasks/next", headers={"Authorization": f"Bearer {tests}"}, timeout=10
    )
    assert answer.status_code == 403
    assert "machine annotator's token" in answer.json()["message"]
