"""Auth: 401 for a missing, malformed, unknown or disabled token; 403 for the wrong role."""

from __future__ import annotations

import hashlib

import pytest
from crlhf_server import auth

from tests.server.conftest import ADMIN_TOKEN, Api, bearer


def test_missing_malformed_and_unknown_tokens_are_401(api: Api) -> None:
    for headers in (
        {},
        {"Authorization": "Token abc"},
        {"Authorization": "Bearer "},
        bearer("nope"),
    ):
        response = api.client.get("/v1/me", headers=headers)
        assert response.status_code == 401, headers
        assert response.json()["code"] == "authentication_failed"


def test_health_needs_no_token(api: Api) -> None:
    response = api.client.get("/v1/health")
    assert response.status_code == 200 and response.json()["status"] == "ok"


def test_annotator_on_admin_route_is_403_and_admin_may_annotate(api: Api) -> None:
    alice = api.annotator("alice")
    for method, path in (
        ("GET", "/v1/admin/annotators"),
        ("POST", "/v1/admin/refit"),
        ("GET", "/v1/admin/samples"),
        ("GET", "/v1/admin/export"),
    ):
        response = api.client.request(method, path, headers=alice, json={})
        assert response.status_code == 403, path
        assert response.json()["code"] == "permission_denied"
    assert api.client.get("/v1/me", headers=api.admin).json()["role"] == "admin"
    assert api.client.get("/v1/tasks/next", headers=api.admin).status_code == 200


def test_disabled_annotator_is_401_until_enabled(api: Api) -> None:
    alice = api.annotator("alice")
    me = api.client.get("/v1/me", headers=alice).json()
    assert me["name"] == "alice" and me["role"] == "annotator" and me["active"]
    disabled = api.client.post(f"/v1/admin/annotators/{me['id']}/disable", headers=api.admin)
    assert disabled.json()["active"] is False
    assert api.client.get("/v1/me", headers=alice).status_code == 401
    api.client.post(f"/v1/admin/annotators/{me['id']}/enable", headers=api.admin)
    assert api.client.get("/v1/me", headers=alice).status_code == 200


def test_tokens_are_stored_only_as_hashes(api: Api) -> None:
    created = api.client.post("/v1/admin/annotators", json={"name": "bob"}, headers=api.admin)
    token = created.json()["token"]
    assert len(token) >= 40
    dump = "\n".join(api.context.store.read().iterdump())
    assert token not in dump and ADMIN_TOKEN not in dump
    assert hashlib.sha256(token.encode()).hexdigest() in dump
    listed = api.client.get("/v1/admin/annotators", headers=api.admin).text
    assert token not in listed


def test_duplicate_annotator_name_is_409(api: Api) -> None:
    api.annotator("alice")
    response = api.client.post("/v1/admin/annotators", json={"name": "alice"}, headers=api.admin)
    assert response.status_code == 409
    assert response.json()["details"][0]["field"] == "name"


def test_a_new_token_never_starts_with_a_dash(monkeypatch: pytest.MonkeyPatch) -> None:
    drawn = iter(["-looks-like-an-option", "_fine-token"])
    monkeypatch.setattr(auth.secrets, "token_urlsafe", lambda _n: next(drawn))
    assert auth.new_token() == "_fine-token"
