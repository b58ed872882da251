"""What a reliability probe broke (issue 19): integers past SQLite's range, foreign keys,
coerced types, undecodable bodies, undeclared statuses and an admin locking everyone out."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from crlhf_server import annotators

from crlhf.errors import Conflict
from tests.server.conftest import Api, submission_for

BIG = 2**63
"""One past SQLite's largest INTEGER: binding it raised OverflowError (a 500)."""


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", f"/v1/admin/problems?offset={BIG}"),
        ("GET", f"/v1/admin/samples?offset={BIG}"),
        ("GET", f"/v1/admin/samples?round={BIG}"),
        ("GET", f"/v1/admin/quality/agreement?round={BIG}"),
        ("GET", f"/v1/admin/rounds/{BIG}"),
        ("GET", f"/v1/admin/annotators/{BIG}"),
        ("GET", f"/v1/admin/provenance/rounds/{BIG}"),
        ("GET", f"/v1/admin/quality/actions?annotator_id={BIG}"),
        ("GET", f"/v1/admin/export?min_votes={BIG}"),
        ("GET", f"/v1/admin/webhooks/deliveries?webhook_id={BIG}"),
        ("GET", f"/v1/admin/benchmarks?round={BIG}"),
        ("POST", f"/v1/admin/annotators/{BIG}/disable"),
        ("POST", f"/v1/admin/rounds/{-BIG - 1}/transition"),
    ],
)
def test_integers_past_the_sqlite_range_are_422(api: Api, method: str, path: str) -> None:
    body = {"status": "cancelled"} if path.endswith("transition") else None
    response = api.client.request(method, path, headers=api.admin, json=body)
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "invalid_input"


def test_an_annotator_cannot_overflow_duration(api: Api) -> None:
    alice = api.annotator("alice")
    [task] = api.tasks(alice)
    body = submission_for(task) | {"duration_ms": 2**80}
    response = api.client.post("/v1/submissions", json=body, headers=alice)
    assert response.status_code == 422
    assert response.json()["details"][0]["field"] == "duration_ms"
    assert api.client.post("/v1/submissions", json=submission_for(task), headers=alice).is_success


def test_an_unknown_author_is_named(api: Api) -> None:
    sample = {"problem_id": "p-clamp", "code": "x = 1\n", "author_id": 999}
    response = api.client.post("/v1/admin/samples", json=[sample], headers=api.admin)
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "unknown_annotator"
    assert body["details"][0]["field"] == "[0].author_id"


@pytest.mark.parametrize(
    ("field", "value"),
    [("label", True), ("label", 1.0), ("label", "1"), ("line", "1"), ("line", 1.0)],
)
def test_vote_types_are_not_coerced(api: Api, field: str, value: Any) -> None:
    alice = api.annotator("alice")
    [task] = api.tasks(alice)
    body = submission_for(task)
    body["labels"][0][field] = value
    response = api.client.post("/v1/submissions", json=body, headers=alice)
    assert response.status_code == 422, response.text
    assert response.json()["details"][0]["field"] == f"labels[0].{field}"


@pytest.mark.parametrize(
    "raw", [b'{"submissions": "\xff\xfe"}', b"[" * 100_000 + b"]" * 100_000, b"{nope"]
)
def test_undecodable_bodies_are_malformed_json(api: Api, raw: bytes) -> None:
    alice = api.annotator("alice")
    response = api.client.post(
        "/v1/submissions/batch",
        content=raw,
        headers=alice | {"Content-Type": "application/json"},
    )
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "invalid_input"
    assert body["message"].startswith("malformed JSON")


def test_every_operation_declares_the_error_statuses(api: Api) -> None:
    spec = api.client.get("/openapi.json").json()
    error_body = {"$ref": "#/components/schemas/ErrorBody"}
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            for status in ("401", "403", "409", "413", "422", "429"):
                declared = operation["responses"].get(status)
                assert declared is not None, (method, path, status)
                schema = declared["content"]["application/json"]["schema"]
                assert schema == error_body, (method, path, status)


def test_an_admin_cannot_lock_everyone_out(api: Api) -> None:
    me = api.client.get("/v1/me", headers=api.admin).json()
    own = api.client.post(f"/v1/admin/annotators/{me['id']}/disable", headers=api.admin)
    assert own.status_code == 409
    assert "your own account" in own.json()["message"]
    created = api.client.post(
        "/v1/admin/annotators", json={"name": "second", "role": "admin"}, headers=api.admin
    ).json()
    second_id = created["annotator"]["id"]
    # With two admins, one may disable the other.
    moved = api.client.post(f"/v1/admin/annotators/{second_id}/disable", headers=api.admin)
    assert moved.status_code == 200 and not moved.json()["active"]
    assert api.client.get("/v1/admin/annotators", headers=api.admin).status_code == 200


def test_the_last_active_admin_stays(api: Api) -> None:
    """Two admins disabling each other at once: the requests pass authentication together,
    the writes are serialised, and the second finds its target the last active admin."""
    me = api.client.get("/v1/me", headers=api.admin).json()
    created = api.client.post(
        "/v1/admin/annotators", json={"name": "second", "role": "admin"}, headers=api.admin
    ).json()
    second_id = created["annotator"]["id"]
    with api.context.store.write() as conn:
        annotators.set_active(conn, second_id, active=False, actor_id=me["id"])
    with pytest.raises(Conflict, match="last active admin"), api.context.store.write() as conn:
        annotators.set_active(conn, me["id"], active=False, actor_id=second_id)
    assert api.client.get("/v1/admin/annotators", headers=api.admin).status_code == 200


def test_replays_still_answer_the_same(api: Api) -> None:
    """Strict types do not change what a well-formed client sends."""
    alice = api.annotator("alice")
    [task] = api.tasks(alice)
    body = submission_for(task, submission_id=str(uuid.uuid4())) | {"duration_ms": 1200}
    first = api.client.post("/v1/submissions", json=body, headers=alice)
    again = api.client.post("/v1/submissions", json=body, headers=alice)
    assert first.status_code == 201 and again.status_code in (200, 201)
    assert again.json()["replayed"] is True
