"""An admin's first day against a real server: comments reach the admin views and the
export, ``--min-annotators`` counts people, an export says what its refit changed and
writes no history when nothing did, ``quality --all`` lists the admin, and ``agreement``
explains its dashes."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from uuid import uuid4

import pytest

from crlhf.client import CrlhfClient
from crlhf.offline_queue import OfflineQueue
from crlhf.schemas import EXPORT_SCHEMA_VERSION, Submission
from tests.crlhf.test_admin_cli_e2e import (
    PROBLEMS,
    SAMPLES,
    WRONG_LINES,
    admin,
    admin_json,
    server,  # noqa: F401 (a fixture)
    write_jsonl,
)

pytestmark = pytest.mark.e2e

COMMENT = "best = 0 is wrong when every item is negative"
HONEYPOT_COMMENT = "subtracts instead of adding"


async def annotate(url: str, token: str, queue_dir: Path, comment: bool) -> None:
    async with CrlhfClient(url, token) as client:
        with OfflineQueue(queue_dir / f"{uuid4()}.db") as queue:
            while tasks := await client.next_tasks(5):
                for task in tasks:
                    wrong = WRONG_LINES[task.sample_id]
                    text = COMMENT if task.sample_id == "e2e-max-1" else HONEYPOT_COMMENT
                    comments = {2: text} if comment else {}
                    queue.enqueue(Submission.from_marks(uuid4(), task, wrong, comments=comments))
                await queue.sync(client)


def test_comments_counts_and_refit_reports(server, capsys, tmp_path):  # noqa: F811
    admin(capsys, "import-problems", str(write_jsonl(tmp_path / "p.jsonl", PROBLEMS)))
    admin(capsys, "import-samples", str(write_jsonl(tmp_path / "s.jsonl", SAMPLES)))

    nobody = admin(capsys, "agreement")
    assert "Note: alpha and kappa are '-' until two annotators have voted on the same" in nobody

    tokens = [admin_json(capsys, "create-annotator", name)["token"] for name in ("ada", "bo")]
    asyncio.run(annotate(server.url, tokens[0], tmp_path, comment=True))
    asyncio.run(annotate(server.url, tokens[1], tmp_path, comment=False))

    # Comments in the admin views.
    table = admin(capsys, "consensus", "e2e-max-1")
    assert table.endswith("\n") and not table.endswith("\n\n")
    assert COMMENT in next(line for line in table.splitlines() if "best = 0" in line)
    by_line = {c["line"]: c for c in admin_json(capsys, "consensus", "e2e-max-1")}
    assert by_line[2]["comments"] == [COMMENT] and by_line[1]["comments"] == []
    provenance = admin(capsys, "provenance", "--sample-id", "e2e-max-1")
    assert "comments:" in provenance and COMMENT in provenance

    # The first export refits and says what moved.
    out = tmp_path / "a.jsonl"
    first = admin(
        capsys,
        "export",
        "--out",
        str(out),
        "--min-annotators",
        "2",
        "--hf-dir",
        str(tmp_path / "hf"),
    )
    assert first.startswith("Refit em-auto on 14 vote(s): p0 configured -> ")
    assert "Wrote 1 (x, y, s) row(s)" in first
    text = out.read_text()
    rows = [json.loads(line) for line in text.splitlines()]
    assert [r["sample_id"] for r in rows] == ["e2e-max-1"]
    assert rows[0]["schema_version"] == EXPORT_SCHEMA_VERSION
    assert rows[0]["comments"] == [{"line": 2, "text": COMMENT}]
    assert HONEYPOT_COMMENT not in text and "gold" not in text  # honeypots never leave
    datasets = pytest.importorskip("datasets")
    assert datasets.load_from_disk(str(tmp_path / "hf"))[0]["comments"] == [
        {"line": 2, "text": COMMENT}
    ]

    # Annotators, not votes: two people judged it, with 10 line votes between them.
    admin(capsys, "export", "--out", str(out), "--min-annotators", "3")
    assert out.read_text() == ""
    admin(capsys, "export", "--out", str(out), "--min-votes", "3")
    assert len(out.read_text().splitlines()) == 1

    # Same votes, another export: nothing changes, and no history row is written.
    ada = next(a for a in admin_json(capsys, "list-annotators") if a["name"] == "ada")
    before = len(admin_json(capsys, "reliability-history", str(ada["id"])))
    again = admin(capsys, "export", "--out", str(out))
    assert "0 reward(s) changed (max 0.000); 0 shown reliabilities changed" in again
    assert len(admin_json(capsys, "reliability-history", str(ada["id"]))) == before
    stored = admin(capsys, "export", "--out", str(out), "--no-refit")
    assert stored.startswith("Exported without a refit (stored rewards).")

    # The admin is in quality --all.
    names = {q["name"] for q in admin_json(capsys, "quality", "--all")}
    assert {"admin", "ada", "bo"} <= names
