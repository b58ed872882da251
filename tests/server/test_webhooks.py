"""Webhooks against a receiver on loopback: signed, retried with backoff, logged."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from crlhf_server.app import open_store

from crlhf.webhooks import EVENT_HEADER, SIGNATURE_HEADER, verify
from tests.server.conftest import Api, build_api, submission_for

SECRET = "receiver-secret-0123456789"


@dataclass
class Receiver:
    url: str
    fail_first: int = 0
    calls: int = 0
    received: list[tuple[str, str, bytes]] = field(default_factory=list)
    """(event header, signature header, body) of every accepted delivery."""


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.calls += 1
            if state.calls <= state.fail_first:
                self.send_response(503)
            else:
                state.received.append(
                    (self.headers[EVENT_HEADER], self.headers[SIGNATURE_HEADER], body)
                )
                self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:  # keep test output clean
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}/hook"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield state
    httpd.shutdown()
    httpd.server_close()


def _register(api: Api, url: str, events: list[str] | None = None) -> int:
    response = api.client.post(
        "/v1/admin/webhooks",
        json={"url": url, "secret": SECRET, "events": events or []},
        headers=api.admin,
    )
    assert response.status_code == 201, response.text
    assert "secret" not in response.json()
    return int(response.json()["id"])


def _settle(api: Api) -> None:
    assert api.context.webhooks.wait_idle(10.0)


def test_submission_event_is_signed_and_verifies(make_api: Any, receiver: Receiver) -> None:
    api: Api = make_api(warmup_honeypots=0, honeypot_rate=0.0, webhook_backoff_s=0.01)
    _register(api, receiver.url, ["submission.accepted"])
    ann = api.annotator("ann")
    [task] = api.tasks(ann)
    body = submission_for(task)
    api.client.post("/v1/submissions", json=body, headers=ann)
    api.client.post("/v1/submissions", json=body, headers=ann)  # a replay sends nothing
    _settle(api)
    [(event, signature, raw)] = receiver.received
    assert event == "submission.accepted"
    verify(SECRET, signature, raw)
    payload = json.loads(raw)
    assert payload["data"]["submission_id"] == body["submission_id"]
    assert payload["data"]["sample_id"] == task["sample_id"]


def test_failed_deliveries_are_retried_and_logged(make_api: Any, receiver: Receiver) -> None:
    api: Api = make_api(webhook_backoff_s=0.01, webhook_max_attempts=4)
    hook = _register(api, receiver.url)
    receiver.fail_first = 2
    created = api.client.post("/v1/admin/rounds", json={}, headers=api.admin).json()
    api.client.post(
        f"/v1/admin/rounds/{created['id']}/transition",
        json={"status": "running"},
        headers=api.admin,
    )
    _settle(api)
    log = api.client.get(f"/v1/admin/webhooks/deliveries?webhook_id={hook}", headers=api.admin)
    attempts = [(d["attempt"], d["status_code"], d["delivered"]) for d in log.json()]
    assert attempts == [(1, 503, False), (2, 503, False), (3, 204, True)]
    assert len({d["delivery_id"] for d in log.json()}) == 1
    [(event, signature, raw)] = receiver.received
    assert event == "round.changed"
    verify(SECRET, signature, raw)
    assert json.loads(raw)["data"]["status"] == "running"


def test_delivery_gives_up_after_the_last_attempt(make_api: Any) -> None:
    api: Api = make_api(webhook_backoff_s=0.0, webhook_max_attempts=2, webhook_timeout_s=1.0)
    _register(api, "http://127.0.0.1:9/unreachable")  # discard port: connection refused
    api.client.post("/v1/admin/rounds", json={}, headers=api.admin)
    created = api.client.get("/v1/admin/rounds", headers=api.admin).json()[0]
    api.client.post(
        f"/v1/admin/rounds/{created['id']}/transition",
        json={"status": "cancelled"},
        headers=api.admin,
    )
    _settle(api)
    log = api.client.get("/v1/admin/webhooks/deliveries", headers=api.admin).json()
    assert [(d["attempt"], d["delivered"]) for d in log] == [(1, False), (2, False)]
    assert all(d["error"] for d in log)


def test_deactivated_webhook_gets_nothing(make_api: Any, receiver: Receiver) -> None:
    api: Api = make_api(webhook_backoff_s=0.01)
    hook = _register(api, receiver.url)
    assert (
        api.client.delete(f"/v1/admin/webhooks/{hook}", headers=api.admin).json()["active"] is False
    )
    api.client.post("/v1/admin/rounds", json={}, headers=api.admin)
    created = api.client.get("/v1/admin/rounds", headers=api.admin).json()[0]
    api.client.post(
        f"/v1/admin/rounds/{created['id']}/transition",
        json={"status": "cancelled"},
        headers=api.admin,
    )
    _settle(api)
    assert receiver.calls == 0
    assert api.client.delete("/v1/admin/webhooks/999", headers=api.admin).status_code == 404


def test_confidence_and_pause_events(make_api: Any, receiver: Receiver) -> None:
    """One first vote at ν = 0.7 makes every line 0.7 or 0.3: confident at a 0.6 target. An
    annotator who inverts the 13 gold lines is paused at a minimum of 13."""
    api: Api = make_api(
        warmup_honeypots=3,
        honeypot_rate=1.0,
        webhook_backoff_s=0.01,
        target_confidence=0.6,
        pause_min_gold_lines=13,
        pause_min_gold_wrong=3,
        policy_check_every=1,  # the policy's schedule is blind to honeypots
    )
    _register(api, receiver.url, ["sample.confident", "annotator.paused"])
    bad = api.annotator("bad")
    for task in api.tasks(bad, count=3):
        [gold] = (
            api.context.store.read()
            .execute("SELECT gold FROM samples WHERE id = ?", (task["sample_id"],))
            .fetchone()
        )
        inverted = {int(n) for n, label in json.loads(gold).items() if label == 1}
        api.client.post("/v1/submissions", json=submission_for(task, wrong=inverted), headers=bad)
    _settle(api)
    events = [json.loads(raw) for _, _, raw in receiver.received]
    kinds = [e["event"] for e in events]
    # Later samples are less confident: the live estimate of this annotator has dropped.
    assert kinds[0] == "sample.confident"
    assert kinds[-1] == "annotator.paused"
    assert set(kinds) == {"sample.confident", "annotator.paused"}
    assert "balanced accuracy" in events[-1]["data"]["reason"]
    assert events[-1]["data"]["by"] == "policy"


def test_pending_deliveries_survive_a_shutdown(tmp_path, receiver: Receiver) -> None:
    """A retry still waiting for its backoff at shutdown is kept and sent at the next start."""
    api, client = build_api(
        tmp_path, webhook_backoff_s=60.0, webhook_max_attempts=3, webhook_shutdown_grace_s=0.5
    )
    with client:
        _register(api, receiver.url, ["round.changed"])
        receiver.fail_first = 1
        api.client.post("/v1/admin/rounds", json={}, headers=api.admin)
        created = api.client.get("/v1/admin/rounds", headers=api.admin).json()[0]
        api.client.post(
            f"/v1/admin/rounds/{created['id']}/transition",
            json={"status": "running"},
            headers=api.admin,
        )
        deadline = time.monotonic() + 10
        while receiver.calls < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
    # The first attempt failed; the retry (due in 60 s) was written to the outbox at shutdown.
    assert receiver.received == []

    store = open_store(api.context.settings)
    [kept] = store.read().execute("SELECT * FROM webhook_outbox").fetchall()
    assert kept["attempt"] == 2 and kept["due_at"] > time.time() + 30
    # Time passes while the server is down: the retry is due when it starts again.
    with store.write() as conn:
        conn.execute("UPDATE webhook_outbox SET due_at = ?", (time.time() - 1,))
    store.close()
    again, client = build_api(tmp_path)
    with client:
        assert again.context.webhooks.wait_idle(10.0)
        assert again.context.store.read().execute("SELECT * FROM webhook_outbox").fetchall() == []
    [(event, _, raw)] = receiver.received
    assert event == "round.changed" and json.loads(raw)["delivery_id"] == kept["delivery_id"]
