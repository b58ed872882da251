"""Admin routes: catalogue, annotators, engine views, refit, export and training rounds."""

from __future__ import annotations

import json

from tests.server.conftest import HONEYPOTS, Api, submission_for

PROBLEM = {"id": "p-new", "title": "New", "description": "Do the new thing."}
SAMPLE = {"problem_id": "p-new", "code": "def f():\n\n    return 1\n", "meta": {"round": 2}}


def test_problem_import_is_idempotent_and_updates_in_place(api: Api) -> None:
    first = api.client.post("/v1/admin/problems", json=[PROBLEM], headers=api.admin).json()
    assert (first["created"], first["unchanged"], first["ids"]) == (1, 0, ["p-new"])
    again = api.client.post("/v1/admin/problems", json=[PROBLEM], headers=api.admin).json()
    assert (again["created"], again["unchanged"]) == (0, 1)
    changed = {**PROBLEM, "title": "Newer"}
    updated = api.client.post("/v1/admin/problems", json=[changed], headers=api.admin).json()
    assert updated["updated"] == 1
    got = api.client.get("/v1/admin/problems/p-new", headers=api.admin).json()
    assert got["title"] == "Newer"
    assert len(api.client.get("/v1/admin/problems", headers=api.admin).json()) == 3
    missing = api.client.get("/v1/admin/problems/nope", headers=api.admin)
    assert missing.status_code == 404 and missing.json()["code"] == "problem_not_found"


def test_sample_import_validates_and_is_atomic(api: Api) -> None:
    api.client.post("/v1/admin/problems", json=[PROBLEM], headers=api.admin)
    before = api.count("SELECT COUNT(*) FROM samples")
    orphan = {**SAMPLE, "problem_id": "p-missing"}
    response = api.client.post("/v1/admin/samples", json=[SAMPLE, orphan], headers=api.admin)
    assert (
        response.status_code == 404 and response.json()["details"][0]["field"] == "[1].problem_id"
    )
    assert api.count("SELECT COUNT(*) FROM samples") == before
    bad_gold = {**SAMPLE, "gold": {"1": 1, "2": 1}}  # line 2 is blank, line 3 unlabelled
    response = api.client.post("/v1/admin/samples", json=[bad_gold], headers=api.admin)
    assert response.status_code == 422
    ok = api.client.post(
        "/v1/admin/samples",
        json=[{**SAMPLE, "id": "s-new"}, {**SAMPLE, "gold": {"1": 1, "3": -1}}],
        headers=api.admin,
    ).json()
    assert ok["created"] == 2 and ok["ids"][0] == "s-new" and ok["ids"][1].startswith("s-")
    clash = {**SAMPLE, "id": "s-new", "code": "def g():\n    return 2\n"}
    response = api.client.post("/v1/admin/samples", json=[clash], headers=api.admin)
    assert response.status_code == 409
    sample = api.client.get("/v1/admin/samples/s-new", headers=api.admin).json()
    assert sample["meta"]["round"] == 2 and sample["is_honeypot"] is False
    assert [line["judged"] for line in sample["lines"]] == [True, False, True]
    honeypots = api.client.get("/v1/admin/samples?honeypot=true", headers=api.admin).json()
    assert {s["id"] for s in honeypots} == HONEYPOTS | {ok["ids"][1]}
    by_round = api.client.get("/v1/admin/samples?round=2", headers=api.admin).json()
    assert {s["id"] for s in by_round} == set(ok["ids"])
    by_problem = api.client.get("/v1/admin/samples?problem_id=p-clamp", headers=api.admin).json()
    assert len(by_problem) == 3


def _vote_everything(api: Api, names: list[str], wrong_line: int = 1) -> dict[str, dict[str, str]]:
    people = {name: api.annotator(name) for name in names}
    for headers in people.values():
        tasks = api.tasks(headers, count=20)
        batch = [submission_for(t, wrong={wrong_line}) for t in tasks]
        response = api.client.post(
            "/v1/submissions/batch", json={"submissions": batch}, headers=headers
        )
        assert response.status_code == 200, response.text
    return people


def test_stats_consensus_rewards_and_reliability_history(api: Api) -> None:
    people = _vote_everything(api, ["alice", "bob"])
    stats = api.client.get("/v1/me/stats", headers=people["alice"]).json()
    assert stats["samples_done"] == 6 and stats["votes"] == api.count(
        "SELECT COUNT(*) FROM votes v JOIN submissions s ON s.id = v.submission "
        "JOIN annotators a ON a.id = s.annotator_id WHERE a.name = 'alice'"
    )
    assert stats["agreement"] == 1.0  # alice and bob agree on every line
    alice_id = api.client.get("/v1/me", headers=people["alice"]).json()["id"]
    history = api.client.get(
        f"/v1/admin/annotators/{alice_id}/reliability", headers=api.admin
    ).json()
    assert [h["source"] for h in history] == ["initial"] + ["submission"] * 6
    assert all(h["submission_id"] for h in history[1:])
    consensus = api.client.get("/v1/admin/samples/s-p-clamp-0/consensus", headers=api.admin).json()
    assert consensus[0]["n_wrong"] == 2 and consensus[0]["posterior"] < 0.5
    rewards = api.client.get("/v1/admin/rewards", headers=api.admin).json()
    assert len(rewards) == 6
    assert all(r["n_annotators"] == 2 and r["reward"] is not None for r in rewards)
    admin_stats = api.client.get(f"/v1/admin/annotators/{alice_id}/stats", headers=api.admin)
    live = admin_stats.json().pop("reliability")
    assert live == history[-1]["reliability"] != stats.pop("reliability")
    assert admin_stats.json() | {"reliability": 0} == stats | {"reliability": 0}


def test_refit_and_export_exclude_honeypots(api: Api) -> None:
    _vote_everything(api, ["alice", "bob", "carol"])
    result = api.client.post("/v1/admin/refit", json={}, headers=api.admin)
    assert result.status_code == 200, result.text
    body = result.json()
    assert body["n_annotators"] == 3 and body["n_samples"] == 6
    assert body["n_votes"] == api.count("SELECT COUNT(*) FROM votes")
    assert api.count("SELECT COUNT(*) FROM reliability_history WHERE source LIKE 'refit:%'") == 3
    unknown = api.client.post("/v1/admin/refit", json={"estimator": "nope"}, headers=api.admin)
    assert unknown.status_code == 422
    response = api.client.get("/v1/admin/export", headers=api.admin)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/x-ndjson")
    rows = [json.loads(line) for line in response.text.splitlines()]
    assert {r["sample_id"] for r in rows} == {"s-p-clamp-0", "s-p-clamp-2", "s-p-chunks-1"}
    for row in rows:
        assert 0.0 <= row["reward"] <= 1.0 and row["n_votes"] > 0 and row["n_annotators"] == 3
        assert row["prompt"] and row["code"] and row["meta"]["model"] == "tiny-coder"
        assert "gold" not in row and "is_honeypot" not in row
        # Schema 3: every judged line's posterior, the ones behind the reward.
        assert row["schema_version"] == 3
        judged = [n for n, text in enumerate(row["code"].splitlines(), 1) if text.strip()]
        posteriors = {p["line"]: p["posterior"] for p in row["line_posteriors"]}
        assert sorted(posteriors) == judged
        assert row["correct_lines"] == sum(q > 0.5 for q in posteriors.values())
        assert row["reward"] == row["correct_lines"] / len(judged)
    too_many = api.client.get("/v1/admin/export?min_votes=1000", headers=api.admin)
    assert too_many.text == ""


def test_training_round_state_machine(api: Api) -> None:
    created = api.client.post(
        "/v1/admin/rounds", json={"params": {"epochs": 2}, "note": "first"}, headers=api.admin
    )
    assert created.status_code == 201
    round_id = created.json()["id"]
    assert created.json()["status"] == "requested"

    def move(status: str, **extra: object) -> tuple[int, dict[str, object]]:
        response = api.client.post(
            f"/v1/admin/rounds/{round_id}/transition",
            json={"status": status, **extra},
            headers=api.admin,
        )
        return response.status_code, response.json()

    assert move("succeeded")[0] == 409
    assert move("running", metrics={"step": 1})[0] == 200
    status, body = move("succeeded", adapter_version="v1", metrics={"reward": 0.5})
    assert status == 200 and body["adapter_version"] == "v1"
    assert body["metrics"] == {"step": 1, "reward": 0.5}
    status, body = move("cancelled")
    assert status == 409 and body["code"] == "invalid_transition"
    other = api.client.post("/v1/admin/rounds", json={}, headers=api.admin).json()
    cancel = api.client.post(
        f"/v1/admin/rounds/{other['id']}/transition",
        json={"status": "cancelled"},
        headers=api.admin,
    )
    assert cancel.json()["status"] == "cancelled"
    listed = api.client.get("/v1/admin/rounds", headers=api.admin).json()
    assert [r["id"] for r in listed] == [other["id"], round_id]
    done = api.client.get("/v1/admin/rounds?status=succeeded", headers=api.admin).json()
    assert [r["id"] for r in done] == [round_id]
    assert api.client.get("/v1/admin/rounds/999", headers=api.admin).status_code == 404
    bad = api.client.post(
        f"/v1/admin/rounds/{round_id}/transition", json={"status": "paused"}, headers=api.admin
    )
    assert bad.status_code == 422 and bad.json()["details"][0]["field"] == "status"


def test_ids_with_slashes_work_in_paths(api: Api) -> None:
    problem = {**PROBLEM, "id": "suite/p-1"}
    api.client.post("/v1/admin/problems", json=[problem], headers=api.admin)
    sample = {**SAMPLE, "id": "round-1/s-1", "problem_id": "suite/p-1"}
    api.client.post("/v1/admin/samples", json=[sample], headers=api.admin)
    assert api.client.get("/v1/admin/problems/suite/p-1", headers=api.admin).json()["id"] == (
        "suite/p-1"
    )
    got = api.client.get("/v1/admin/samples/round-1%2Fs-1", headers=api.admin)
    assert got.status_code == 200 and got.json()["id"] == "round-1/s-1"
    consensus = api.client.get("/v1/admin/samples/round-1/s-1/consensus", headers=api.admin)
    assert consensus.status_code == 200 and [c["line"] for c in consensus.json()] == [1, 3]
    alice = api.annotator("alice")
    mine = api.client.get("/v1/samples/round-1/s-1/consensus", headers=alice)
    assert mine.status_code == 409 and mine.json()["code"] == "sample_not_served"
