"""Submissions: acceptance, idempotent replays, revisions, atomic batches, every bad input."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

from tests.server.conftest import Api, submission_for

VOTES = "SELECT COUNT(*) FROM votes"
SUBMISSIONS = "SELECT COUNT(*) FROM submissions"


def test_submission_is_stored_and_updates_consensus(api: Api) -> None:
    alice = api.annotator("alice")
    [task] = api.tasks(alice)
    body = submission_for(task, wrong={2})
    response = api.client.post("/v1/submissions", json=body, headers=alice)
    assert response.status_code == 201, response.text
    receipt = response.json()
    assert receipt == {
        "submission_id": body["submission_id"],
        "sample_id": task["sample_id"],
        "revision": 1,
        "replayed": False,
    }
    consensus = api.client.get(f"/v1/samples/{task['sample_id']}/consensus", headers=alice).json()
    by_line = {c["line"]: c for c in consensus}
    assert by_line[2]["n_wrong"] == 1 and by_line[2]["posterior"] < 0.5
    assert by_line[1]["n_correct"] == 1 and by_line[1]["posterior"] > 0.5
    reward = api.client.get("/v1/admin/rewards", headers=api.admin).json()
    mine = next(r for r in reward if r["sample_id"] == task["sample_id"])
    assert mine["n_votes"] == len(body["labels"]) and mine["n_annotators"] == 1
    assert mine["reward"] == (len(body["labels"]) - 1) / len(body["labels"])


def test_replayed_id_changes_nothing(api: Api) -> None:
    alice = api.annotator("alice")
    [task] = api.tasks(alice)
    body = submission_for(task)
    first = api.client.post("/v1/submissions", json=body, headers=alice)
    votes, history = api.count(VOTES), api.count("SELECT COUNT(*) FROM reliability_history")
    again = api.client.post("/v1/submissions", json=body, headers=alice)
    assert again.status_code == 200
    assert again.json() == {**first.json(), "replayed": True}
    batch = api.client.post("/v1/submissions/batch", json={"submissions": [body]}, headers=alice)
    assert batch.status_code == 200 and batch.json()["receipts"][0]["replayed"] is True
    assert api.count(VOTES) == votes
    assert api.count("SELECT COUNT(*) FROM reliability_history") == history
    stats = api.client.get("/v1/me/stats", headers=alice).json()
    assert stats["samples_done"] == 1 and stats["votes"] == len(body["labels"])


def test_same_id_with_other_content_or_other_annotator_is_a_conflict(api: Api) -> None:
    alice, bob = api.annotator("alice"), api.annotator("bob")
    [task] = api.tasks(alice)
    api.tasks(bob)
    body = submission_for(task)
    api.client.post("/v1/submissions", json=body, headers=alice)
    changed = submission_for(task, wrong={1}, submission_id=body["submission_id"])
    response = api.client.post("/v1/submissions", json=changed, headers=alice)
    assert response.status_code == 409 and response.json()["code"] == "conflict"
    stolen = api.client.post("/v1/submissions", json=body, headers=bob)
    assert stolen.status_code == 409


def test_revision_replaces_votes_and_keeps_history(api: Api) -> None:
    alice = api.annotator("alice")
    [task] = api.tasks(alice)
    api.client.post("/v1/submissions", json=submission_for(task), headers=alice)
    second = api.client.post("/v1/submissions", json=submission_for(task, wrong={1}), headers=alice)
    assert second.status_code == 201 and second.json()["revision"] == 2
    consensus = api.client.get(f"/v1/samples/{task['sample_id']}/consensus", headers=alice).json()
    line1 = next(c for c in consensus if c["line"] == 1)
    assert (line1["n_correct"], line1["n_wrong"]) == (0, 1)
    assert api.count(SUBMISSIONS) == 2
    assert api.count("SELECT COUNT(*) FROM submissions WHERE is_current = 1") == 1


def test_batch_with_one_bad_submission_writes_nothing(api: Api) -> None:
    alice = api.annotator("alice")
    tasks = api.tasks(alice, count=3)
    good = [submission_for(t) for t in tasks[:2]]
    bad = submission_for(tasks[2])
    bad["labels"] = bad["labels"][:-1]
    before = (
        api.count(VOTES),
        api.count(SUBMISSIONS),
        api.count("SELECT COUNT(*) FROM reward_history"),
    )
    response = api.client.post(
        "/v1/submissions/batch", json={"submissions": [*good, bad]}, headers=alice
    )
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "invalid_vote"
    assert body["details"][0]["field"] == "submissions[2].labels"
    after = (
        api.count(VOTES),
        api.count(SUBMISSIONS),
        api.count("SELECT COUNT(*) FROM reward_history"),
    )
    assert after == before
    ok = api.client.post("/v1/submissions/batch", json={"submissions": good}, headers=alice)
    assert ok.status_code == 200
    assert [r["sample_id"] for r in ok.json()["receipts"]] == [t["sample_id"] for t in tasks[:2]]


def test_repeated_id_inside_a_batch_is_rejected(api: Api) -> None:
    alice = api.annotator("alice")
    [task] = api.tasks(alice)
    body = submission_for(task)
    response = api.client.post(
        "/v1/submissions/batch", json={"submissions": [body, body]}, headers=alice
    )
    assert response.status_code == 422
    assert response.json()["details"][0]["field"] == "submissions[1].submission_id"
    assert api.count(VOTES) == 0


def _post_raw(api: Api, headers: dict[str, str], content: bytes) -> dict[str, object]:
    response = api.client.post(
        "/v1/submissions", content=content, headers={**headers, "Content-Type": "application/json"}
    )
    assert 400 <= response.status_code < 500, response.text
    return {"status": response.status_code, **response.json()}


def test_bad_inputs_get_clear_4xx_and_write_nothing(api: Api) -> None:
    alice = api.annotator("alice")
    [task] = api.tasks(alice)
    good = submission_for(task)

    def variant(**changes: object) -> bytes:
        return json.dumps({**good, **changes}).encode()

    labels = good["labels"]
    cases = {
        "malformed json": (b'{"submission_id": ', 422, "invalid_input", "body"),
        "unknown sample": (variant(sample_id="s-nope"), 404, "sample_not_found", "sample_id"),
        "line not judged": (
            variant(labels=[*labels[:-1], {"line": 99, "label": 1}]),
            422,
            "invalid_vote",
            "labels",
        ),
        "missing line": (variant(labels=labels[:-1]), 422, "invalid_vote", "labels"),
        "label outside +-1": (
            variant(labels=[{**labels[0], "label": 0}, *labels[1:]]),
            422,
            "invalid_input",
            "labels[0].label",
        ),
        "duplicate line": (
            variant(labels=[*labels, labels[0]]),
            422,
            "invalid_input",
            "labels",
        ),
        "unknown field": (variant(extra=1), 422, "invalid_input", "extra"),
        "bad uuid": (variant(submission_id="nope"), 422, "invalid_input", "submission_id"),
    }
    for name, (content, status, code, field) in cases.items():
        body = _post_raw(api, alice, content)
        assert (body["status"], body["code"]) == (status, code), name
        details = body["details"]
        assert isinstance(details, list) and details, name
        assert details[0]["field"] == field, (name, details)
        assert body["message"], name
    assert api.count(VOTES) == 0 and api.count(SUBMISSIONS) == 0


def test_sample_never_served_is_refused(api: Api) -> None:
    alice, bob = api.annotator("alice"), api.annotator("bob")
    [task] = api.tasks(alice)
    response = api.client.post("/v1/submissions", json=submission_for(task), headers=bob)
    assert response.status_code == 409
    assert response.json()["code"] == "sample_not_served"
    assert response.json()["details"][0]["field"] == "sample_id"
    assert api.count(VOTES) == 0


def test_field_names_in_batches_point_at_the_submission(api: Api) -> None:
    alice = api.annotator("alice")
    tasks = api.tasks(alice, count=3)
    subs = [submission_for(t) for t in tasks]
    subs[2]["labels"][0]["label"] = 2
    response = api.client.post("/v1/submissions/batch", json={"submissions": subs}, headers=alice)
    assert response.status_code == 422
    assert response.json()["details"][0]["field"] == "submissions[2].labels[0].label"
    subs[2]["labels"][0]["label"] = 1
    subs[1]["sample_id"] = "s-missing"
    response = api.client.post("/v1/submissions/batch", json={"submissions": subs}, headers=alice)
    assert response.status_code == 404
    assert response.json()["details"][0]["field"] == "submissions[1].sample_id"
    assert api.count(VOTES) == 0


def test_oversized_body_is_413(make_api: object) -> None:
    api = make_api(max_body_bytes=2048, warmup_honeypots=0, honeypot_rate=0.0)  # type: ignore[operator]
    alice = api.annotator("alice")
    [task] = api.tasks(alice)
    body = submission_for(task)
    body["labels"][0]["comment"] = "x" * 400
    big = {"submissions": [{**body, "submission_id": str(uuid.uuid4())} for _ in range(10)]}
    response = api.client.post("/v1/submissions/batch", json=big, headers=alice)
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"

    def chunks() -> Iterator[bytes]:  # a body without Content-Length is counted as it streams
        data = json.dumps(big).encode()
        for i in range(0, len(data), 512):
            yield data[i : i + 512]

    response = api.client.post(
        "/v1/submissions/batch",
        content=chunks(),
        headers={**alice, "Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert api.count(VOTES) == 0


def test_unknown_routes_and_methods_get_an_error_body(api: Api) -> None:
    missing = api.client.get("/v1/nope")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    wrong = api.client.delete("/v1/submissions")
    assert wrong.status_code == 405 and wrong.json()["code"] == "method_not_allowed"


def test_openapi_documents_every_route(api: Api) -> None:
    paths = api.client.get("/openapi.json").json()["paths"]
    for path in (
        "/v1/health",
        "/v1/me/stats",
        "/v1/tasks/next",
        "/v1/submissions/batch",
        "/v1/samples/{sample_id}/consensus",
        "/v1/admin/export",
        "/v1/admin/rounds/{round_id}/transition",
    ):
        assert path in paths, path
