"""``crlhf admin`` against a real ``crlhf serve`` process.

The CLI runs in-process (``crlhf.cli.main``) for speed, talking HTTP to the server
process; one case runs it as a subprocess to check what a user sees on failure.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest

from crlhf.cli import main
from crlhf.client import CrlhfClient
from crlhf.errors import AuthenticationFailed
from crlhf.offline_queue import OfflineQueue
from crlhf.schemas import Submission

pytestmark = pytest.mark.e2e

PROBLEMS = [
    {"id": "e2e-add", "title": "Add", "description": "Return the sum of a and b."},
    {"id": "e2e-max", "title": "Max", "description": "Return the largest item of a list."},
]
HONEYPOT_CODE = "def add(a, b):\n    return a - b\n"
ORDINARY_CODE = (
    "def largest(xs):\n"
    "    best = 0\n"
    "    for x in xs:\n"
    "        best = max(best, x)\n"
    "    return best\n"
)
SAMPLES = [
    {
        "id": "e2e-hp",
        "problem_id": "e2e-add",
        "code": HONEYPOT_CODE,
        "gold": {"1": 1, "2": -1},
        "meta": {"model": "tiny", "round": 0},
    },
    {
        "id": "e2e-max-1",
        "problem_id": "e2e-max",
        "code": ORDINARY_CODE,
        "meta": {"model": "tiny", "round": 0, "temperature": 0.8},
    },
]
# Line 2 (best = 0) is the bug: wrong for negative-only lists.
WRONG_LINES = {"e2e-hp": {2}, "e2e-max-1": {2}}


@pytest.fixture
def server(live_server_factory, monkeypatch):
    """A server with only this test's data: no seed, one warm-up honeypot, no others."""
    live = live_server_factory(
        env={
            "CRLHF_SEED": "false",
            "CRLHF_WARMUP_HONEYPOTS": "1",
            "CRLHF_WARMUP_WINDOW": "1",  # the honeypot first, so the test knows the order
            "CRLHF_HONEYPOT_RATE": "0",
        }
    )
    monkeypatch.setenv("CRLHF_SERVER", live.url)
    monkeypatch.setenv("CRLHF_ADMIN_TOKEN", live.admin_token)
    return live


def admin(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """Run ``crlhf admin ARGV`` in-process; return stdout, failing on a non-zero exit."""
    capsys.readouterr()
    code = main(["admin", *argv])
    out, err = capsys.readouterr()
    assert code == 0, err
    return out


def admin_json(capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
    return json.loads(admin(capsys, *argv, "--json"))


def write_jsonl(path: Path, rows: Sequence[Mapping[str, object]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


async def annotate_everything(url: str, token: str, queue_dir: Path) -> list[str]:
    """Take every task, flag WRONG_LINES, and send it through the offline queue."""
    done: list[str] = []
    async with CrlhfClient(url, token) as client:
        with OfflineQueue(queue_dir / f"{uuid4()}.db") as queue:
            while tasks := await client.next_tasks(5):
                for task in tasks:
                    wrong = WRONG_LINES[task.sample_id]
                    queue.enqueue(Submission.from_marks(uuid4(), task, wrong))
                    done.append(task.sample_id)
                result = await queue.sync(client)
                assert result.synced == len(tasks) and not result.rejected
    return done


def test_admin_workflow_end_to_end(server, capsys, tmp_path):
    problems = write_jsonl(tmp_path / "problems.jsonl", PROBLEMS)
    assert "2 created" in admin(capsys, "import-problems", str(problems))
    samples = write_jsonl(tmp_path / "samples.jsonl", SAMPLES)
    out = admin(capsys, "import-samples", str(samples))
    assert "1 honeypot(s)" in out and "2 created" in out

    tokens = {}
    for name in ("ada", "bo"):
        created = admin_json(capsys, "create-annotator", name)
        assert created["annotator"]["name"] == name and created["token"]
        tokens[name] = created["token"]
    human = admin(capsys, "create-annotator", "cy")
    assert "shown only now" in human

    for token in tokens.values():
        done = asyncio.run(annotate_everything(server.url, token, tmp_path))
        assert done[0] == "e2e-hp"  # the warm-up honeypot comes first
        assert sorted(done) == ["e2e-hp", "e2e-max-1"]

    rewards = {r["sample_id"]: r for r in admin_json(capsys, "rewards")}
    ordinary = rewards["e2e-max-1"]
    assert (ordinary["judged_lines"], ordinary["correct_lines"]) == (5, 4)
    assert ordinary["reward"] == pytest.approx(4 / 5)
    assert (ordinary["n_votes"], ordinary["n_annotators"]) == (10, 2)
    assert "e2e-max-1" in admin(capsys, "rewards")

    consensus = admin_json(capsys, "consensus", "e2e-max-1")
    by_line = {c["line"]: c for c in consensus}
    assert by_line[2]["n_wrong"] == 2 and by_line[2]["posterior"] < 0.5
    assert by_line[1]["n_correct"] == 2 and by_line[1]["posterior"] > 0.5
    table = admin(capsys, "consensus", "e2e-max-1")
    assert "best = 0" in table and "wrong" in table

    annotators = {a["name"]: a for a in admin_json(capsys, "list-annotators")}
    assert annotators["ada"]["stats"]["samples_done"] == 2
    assert annotators["ada"]["reliability"] > 0.5
    listing = admin(capsys, "list-annotators")
    assert "reliability" in listing and "ada" in listing
    history = admin_json(capsys, "reliability-history", str(annotators["ada"]["id"]))
    assert len(history) >= 2

    refit = admin_json(capsys, "refit")
    assert refit["n_votes"] == 2 * (2 + 5) and refit["n_annotators"] == 2

    out_file, hf_dir = tmp_path / "export" / "s.jsonl", tmp_path / "hf"
    admin(capsys, "export", "--out", str(out_file), "--hf-dir", str(hf_dir), "--min-votes", "1")
    rows = [json.loads(line) for line in out_file.read_text().splitlines()]
    assert [r["sample_id"] for r in rows] == ["e2e-max-1"]  # never the honeypot
    assert rows[0]["prompt"] == PROBLEMS[1]["description"]
    assert rows[0]["code"] == ORDINARY_CODE and rows[0]["reward"] == pytest.approx(0.8)

    datasets = pytest.importorskip("datasets")
    loaded = datasets.load_from_disk(str(hf_dir))
    assert loaded.num_rows == 1
    assert loaded[0]["sample_id"] == "e2e-max-1" and loaded[0]["code"] == ORDINARY_CODE
    assert loaded[0]["reward"] == pytest.approx(rows[0]["reward"])
    assert loaded[0]["meta"]["temperature"] == pytest.approx(0.8)

    ada = annotators["ada"]["id"]
    assert admin_json(capsys, "disable-annotator", str(ada))["active"] is False

    async def me() -> None:
        async with CrlhfClient(server.url, tokens["ada"]) as client:
            await client.me()

    with pytest.raises(AuthenticationFailed):
        asyncio.run(me())
    assert admin_json(capsys, "enable-annotator", str(ada))["active"] is True
    asyncio.run(me())


def test_training_rounds(server, capsys):
    created = admin_json(capsys, "rounds", "create", "--param", "epochs=2", "--note", "first")
    assert created["status"] == "requested" and created["params"] == {"epochs": 2}
    listed = admin_json(capsys, "rounds", "list", "--status", "requested")
    assert [r["id"] for r in listed] == [created["id"]]
    shown = admin(capsys, "rounds", "show", str(created["id"]))
    assert "status:" in shown and "requested" in shown


def test_failures_are_one_line_without_traceback(server, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(SAMPLES[1]) + "\n" + '{"problem_id": "e2e-max", "code": 5}\n')

    def run_cli(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "crlhf", "admin", *argv],
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )

    result = run_cli("import-samples", str(bad))
    assert result.returncode == 1
    assert f"{bad}:2: not a valid SampleIn: code" in result.stderr
    assert "Traceback" not in result.stderr and result.stderr.count("\n") == 1

    result = run_cli("consensus", "no-such-sample")
    assert result.returncode == 1
    assert result.stderr.strip() == "crlhf admin: error: sample_id: no sample 'no-such-sample'"

    result = run_cli("list-annotators", "--token", "not-a-token")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "authentication" in result.stderr.lower() or "token" in result.stderr.lower()


def test_unreachable_server_is_one_clear_line(capsys, unused_tcp_port):
    code = main(
        ["admin", "rewards", "--server", f"http://127.0.0.1:{unused_tcp_port}", "--token", "t"]
    )
    assert code == 1
    err = capsys.readouterr().err
    assert "cannot reach the crlhf server" in err and err.count("\n") == 1
