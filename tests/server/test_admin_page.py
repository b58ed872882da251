"""The admin page through TestClient: login, session, CSRF, CSP, escaping, refused writes.

The real-browser tests (test_admin_page_browser.py) cover the same flows in chromium; these
pin the security properties header by header and run in a second.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from crlhf_server.admin_page import sessions
from crlhf_server.admin_page.sessions import SessionStore
from fastapi.testclient import TestClient

from tests.server.admin_page_seed import SCRIPT_COMMENT, SCRIPT_NAME, Seeded, seed
from tests.server.conftest import ADMIN_TOKEN, HONEYPOTS, Api


@pytest.fixture
def seeded(api: Api) -> Seeded:
    return seed(api.client, ADMIN_TOKEN, tasks_each=3)


def _login(client: TestClient, token: str = ADMIN_TOKEN) -> Any:
    return client.post("/admin/login", data={"token": token}, follow_redirects=False)


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF field on the page"
    return found.group(1)


def test_root_sends_only_a_logged_in_admin_to_the_page(api: Api) -> None:
    anonymous = api.client.get("/", follow_redirects=False)
    assert anonymous.status_code == 200
    assert 'href="/docs"' in anonymous.text and 'href="/v1/health"' in anonymous.text

    assert _login(api.client).status_code == 303
    admin = api.client.get("/", follow_redirects=False)
    assert admin.status_code == 303 and admin.headers["location"] == "/admin"


def test_login_sets_a_strict_httponly_session_cookie_not_the_token(api: Api) -> None:
    response = _login(api.client)
    assert response.status_code == 303 and response.headers["location"] == "/admin"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{sessions.COOKIE}=")
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
    assert ADMIN_TOKEN not in cookie and ADMIN_TOKEN not in response.headers["location"]
    store: SessionStore = api.client.app.state.admin_sessions  # type: ignore[attr-defined]
    session_id = api.client.cookies[sessions.COOKIE]
    assert session_id not in store._sessions  # only its hash is kept
    assert len(store._sessions) == 1


def test_wrong_and_annotator_tokens_are_refused_with_one_message(api: Api) -> None:
    wrong = _login(api.client, "not-a-token")
    assert wrong.status_code == 401
    assert "That token is not valid" in wrong.text
    assert "set-cookie" not in wrong.headers

    annotator = api.annotator("ann")["Authorization"].removeprefix("Bearer ")
    refused = _login(api.client, annotator)
    assert refused.status_code == 403
    assert "annotator&#39;s token" in refused.text
    assert api.client.get("/admin", follow_redirects=False).status_code == 303


def test_pages_need_a_session_and_carry_a_csp(api: Api) -> None:
    for path in ("/admin", "/admin/rounds", "/admin/annotators", "/admin/live"):
        response = api.client.get(path, follow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["location"] == "/admin/login?m=login"
    # The bearer token of the JSON API does not open the page either.
    with_bearer = api.client.get("/admin", headers=api.admin, follow_redirects=False)
    assert with_bearer.status_code == 303

    _login(api.client)
    page = api.client.get("/admin")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "'unsafe-inline'" not in csp
    assert page.headers["x-content-type-options"] == "nosniff"


def test_expired_session_sends_back_to_login_with_a_message(api: Api) -> None:
    now = [1000.0]
    api.client.app.state.admin_sessions = SessionStore(  # type: ignore[attr-defined]
        ttl_s=60, clock=lambda: now[0]
    )
    _login(api.client)
    assert api.client.get("/admin").status_code == 200
    now[0] += 61
    expired = api.client.get("/admin/rounds", follow_redirects=False)
    assert expired.status_code == 303
    assert expired.headers["location"] == "/admin/login?m=expired"
    login = api.client.get(expired.headers["location"])
    assert "Your session expired" in login.text


def test_a_disabled_admin_loses_the_session_at_once(api: Api) -> None:
    _login(api.client)
    second = api.client.post(
        "/v1/admin/annotators", json={"name": "admin2", "role": "admin"}, headers=api.admin
    ).json()
    with api.context.store.write() as conn:
        conn.execute("UPDATE annotators SET active = 0 WHERE name = 'admin'")
    revoked = api.client.get("/admin", follow_redirects=False)
    assert revoked.headers["location"] == "/admin/login?m=revoked"
    assert second["token"]


def test_views_show_the_seeded_data_escaped(api: Api, seeded: Seeded) -> None:
    _login(api.client)
    overview = api.client.get("/admin")
    assert overview.status_code == 200
    assert "r1-lora" in overview.text  # the current adapter
    assert "<svg" in overview.text

    rounds = api.client.get("/admin/rounds").text
    assert "humaneval: pass@k per round" in rounds
    assert f'href="/admin/rounds/{seeded.running_round}/cancel"' in rounds
    assert (
        "training 12/40"
        in api.client.get("/admin/live").json()["rounds"][str(seeded.running_round)]["progress"]
    )

    people = api.client.get("/admin/annotators").text
    assert "carol &lt;b&gt;bold&lt;/b&gt;" in people and SCRIPT_NAME not in people

    sample = api.client.get(f"/admin/samples/{seeded.commented_sample}").text
    assert "&lt;script&gt;window.pwned = 1&lt;/script&gt;" in sample
    assert SCRIPT_COMMENT not in sample
    assert "alice" in sample

    round_page = api.client.get(f"/admin/rounds/{seeded.succeeded_round}").text
    assert "Rewards of the samples the round trained on" in round_page


def test_honeypot_gold_is_on_the_admin_sample_page(api: Api) -> None:
    _login(api.client)
    honeypot = sorted(HONEYPOTS)[0]
    page = api.client.get(f"/admin/samples/{honeypot}").text
    assert "<th>Gold</th>" in page and "honeypot" in page


def test_unknown_things_are_a_page_not_a_json_error(api: Api) -> None:
    _login(api.client)
    missing = api.client.get("/admin/rounds/999")
    assert missing.status_code == 404
    assert "no training round 999" in missing.text
    assert missing.headers["content-type"].startswith("text/html")
    assert api.client.get("/admin/samples/nope").status_code == 404


def test_writes_need_the_csrf_token(api: Api) -> None:
    _login(api.client)
    refused = api.client.post("/admin/rounds", data={"note": "x", "csrf": "forged"})
    assert refused.status_code == 403
    assert "CSRF check failed" in refused.text
    assert api.count("SELECT COUNT(*) FROM training_rounds") == 0


def test_request_and_cancel_a_round_through_the_confirmations(api: Api) -> None:
    _login(api.client)
    csrf = _csrf(api.client.get("/admin/rounds").text)
    form = {"csrf": csrf, "note": "from the page", "params": "min_votes = 2\nalgo = ppo"}
    confirm = api.client.post("/admin/rounds/confirm", data=form)
    assert confirm.status_code == 200 and "Request a training round?" in confirm.text
    assert api.count("SELECT COUNT(*) FROM training_rounds") == 0  # nothing yet

    created = api.client.post("/admin/rounds", data=form, follow_redirects=False)
    assert created.status_code == 303
    listed = api.client.get("/v1/admin/rounds", headers=api.admin).json()
    assert listed[0]["params"] == {"min_votes": 2, "algo": "ppo"}
    assert listed[0]["note"] == "from the page"
    round_id = listed[0]["id"]

    ask = api.client.get(f"/admin/rounds/{round_id}/cancel")
    assert 'name="seen" value="requested"' in ask.text
    api.client.post(f"/admin/rounds/{round_id}/cancel", data={"csrf": csrf, "seen": "requested"})
    after = api.client.get(f"/v1/admin/rounds/{round_id}", headers=api.admin).json()
    assert after["status"] == "cancelled"
    assert "admin page" in after["message"]


def test_a_round_that_moved_since_the_page_loaded_is_not_cancelled(api: Api) -> None:
    _login(api.client)
    csrf = _csrf(api.client.get("/admin/rounds").text)
    round_id = api.client.post("/v1/admin/rounds", json={}, headers=api.admin).json()["id"]
    api.client.get(f"/admin/rounds/{round_id}/cancel")  # the admin sees it requested...
    api.client.post(  # ...a worker claims it before the click
        "/v1/admin/rounds/claim", json={"worker": "w", "lease_s": 60}, headers=api.admin
    )
    refused = api.client.post(
        f"/admin/rounds/{round_id}/cancel", data={"csrf": csrf, "seen": "requested"}
    )
    assert refused.status_code == 409
    assert f"Round {round_id} is running" in refused.text
    assert "nothing was changed" in refused.text
    now = api.client.get(f"/v1/admin/rounds/{round_id}", headers=api.admin).json()
    assert now["status"] == "running"


def test_bad_round_params_are_named(api: Api) -> None:
    _login(api.client)
    csrf = _csrf(api.client.get("/admin/rounds").text)
    bad = api.client.post("/admin/rounds/confirm", data={"csrf": csrf, "params": "oops"})
    assert bad.status_code == 422
    assert "params line 1: write it as key = value" in bad.text


def test_reinstate_a_paused_annotator(api: Api) -> None:
    headers = api.annotator("paula")
    annotator_id = api.client.get("/v1/me", headers=headers).json()["id"]
    with api.context.store.write() as conn:
        conn.execute(
            "UPDATE annotators SET paused_at = '2026-01-01T00:00:00+00:00', "
            "pause_reason = 'too many wrong gold lines' WHERE id = ?",
            (annotator_id,),
        )
    _login(api.client)
    page = api.client.get(f"/admin/annotators/{annotator_id}").text
    assert "too many wrong gold lines" in page
    csrf = _csrf(page)
    done = api.client.post(
        f"/admin/annotators/{annotator_id}/reinstate", data={"csrf": csrf, "reason": "talked"}
    )
    assert "Annotator reinstated." in done.text
    assert api.client.get("/v1/me", headers=headers).status_code == 200
    again = api.client.post(f"/admin/annotators/{annotator_id}/reinstate", data={"csrf": csrf})
    assert again.status_code == 409 and "is not paused" in again.text


def test_the_json_api_is_unchanged(api: Api) -> None:
    paths = api.client.get("/openapi.json").json()["paths"]
    assert all(path.startswith("/v1/") for path in paths)
    assert api.client.get("/v1/admin/rounds").status_code == 401
    assert api.client.get("/v1/admin/rounds").headers["content-type"] == "application/json"


def test_a_cross_site_post_is_refused(api: Api) -> None:
    _login(api.client)
    csrf = _csrf(api.client.get("/admin/rounds").text)
    foreign = api.client.post(
        "/admin/rounds", data={"csrf": csrf}, headers={"Origin": "https://evil.example"}
    )
    assert foreign.status_code == 403 and "sent from another site" in foreign.text
    login = api.client.post(
        "/admin/login", data={"token": ADMIN_TOKEN}, headers={"Origin": "https://evil.example"}
    )
    assert login.status_code == 403
    assert api.count("SELECT COUNT(*) FROM training_rounds") == 0


def test_every_view_renders_on_a_fresh_server(api: Api) -> None:
    _login(api.client)
    round_id = api.client.post("/v1/admin/rounds", json={}, headers=api.admin).json()["id"]
    for path in (
        "/admin",
        "/admin/rounds",
        f"/admin/rounds/{round_id}",
        "/admin/annotators",
        "/admin/annotators/1",
        "/admin/samples/s-p-clamp-0",
        "/admin/quality/evaluate",
        f"/admin/rounds/{round_id}/cancel",
    ):
        response = api.client.get(path)
        assert response.status_code == 200, (path, response.text[:500])
        assert not re.search(r"\bNone\b", response.text), path  # missing: a dash


def test_logout_ends_the_session_on_the_server(api: Api) -> None:
    _login(api.client)
    session_id = api.client.cookies[sessions.COOKIE]
    csrf = _csrf(api.client.get("/admin").text)
    out = api.client.post("/admin/logout", data={"csrf": csrf}, follow_redirects=False)
    assert out.headers["location"] == "/admin/login?m=logout"
    api.client.cookies.set(sessions.COOKIE, session_id)  # a copy kept by someone else
    replayed = api.client.get("/admin", follow_redirects=False)
    assert replayed.headers["location"] == "/admin/login?m=expired"
