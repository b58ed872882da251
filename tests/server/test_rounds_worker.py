"""The worker's side of training rounds: claims, heartbeats, leases, the current adapter."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.server.conftest import Api

ROUNDS = "/v1/admin/rounds"
ADAPTERS = "/v1/admin/adapters"


def new_round(api: Api) -> int:
    response = api.client.post(ROUNDS, json={"params": {"ppo_epochs": 2}}, headers=api.admin)
    assert response.status_code == 201, response.text
    round_id: int = response.json()["id"]
    return round_id


def claim(api: Api, worker: str, lease_s: float = 60.0) -> Any:
    return api.client.post(
        f"{ROUNDS}/claim", json={"worker": worker, "lease_s": lease_s}, headers=api.admin
    )


def beat(api: Api, round_id: int, worker: str, **progress: Any) -> Any:
    body = {"worker": worker, "progress": {"stage": "training", **progress}}
    return api.client.post(f"{ROUNDS}/{round_id}/heartbeat", json=body, headers=api.admin)


def move(api: Api, round_id: int, status: str, **extra: Any) -> Any:
    return api.client.post(
        f"{ROUNDS}/{round_id}/transition", json={"status": status, **extra}, headers=api.admin
    )


def current(api: Api) -> dict[str, Any]:
    response = api.client.get("/v1/admin/adapters/current", headers=api.admin)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_claims_take_the_oldest_requested_round_once(api: Api) -> None:
    assert claim(api, "w1").status_code == 204  # nothing waiting: no body
    assert claim(api, "w1").content == b""
    first, second = new_round(api), new_round(api)

    got = claim(api, "w1", lease_s=30)
    assert got.status_code == 200
    body = got.json()
    assert (body["id"], body["status"], body["worker"]) == (first, "running", "w1")
    assert body["lease_s"] == 30 and body["started_at"] and body["heartbeat_at"]
    assert body["finished_at"] is None and body["progress"] is None
    assert claim(api, "w2").json()["id"] == second
    assert claim(api, "w2").status_code == 204


def test_concurrent_claims_never_share_a_round(api: Api) -> None:
    made = {new_round(api) for _ in range(3)}
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda i: claim(api, f"w{i}"), range(8)))
    claimed = [a.json()["id"] for a in answers if a.status_code == 200]
    assert sorted(claimed) == sorted(made)
    assert sum(a.status_code == 204 for a in answers) == 5


def test_claim_rejects_bad_leases(api: Api) -> None:
    for lease in (0, 0.5, 7200):
        response = claim(api, "w1", lease_s=lease)
        assert response.status_code == 422
        assert response.json()["details"][0]["field"] == "lease_s"


def test_heartbeat_progress_is_visible_and_owned_by_its_worker(api: Api) -> None:
    round_id = new_round(api)
    assert beat(api, round_id, "w1").status_code == 409  # requested: nobody runs it yet
    claim(api, "w1")
    answer = beat(api, round_id, "w1", step=3, steps=8, detail="PPO step 4 of 8")
    assert answer.status_code == 200 and answer.json()["status"] == "running"

    shown = api.client.get(f"{ROUNDS}/{round_id}", headers=api.admin).json()
    assert shown["progress"] == {
        "stage": "training",
        "step": 3,
        "steps": 8,
        "detail": "PPO step 4 of 8",
    }
    listed = api.client.get(ROUNDS, headers=api.admin).json()
    assert listed[0]["progress"]["step"] == 3

    stranger = beat(api, round_id, "w2")
    assert stranger.status_code == 409 and stranger.json()["code"] == "conflict"
    assert "w1" in stranger.json()["message"]
    bad = api.client.post(
        f"{ROUNDS}/{round_id}/heartbeat",
        json={"worker": "w1", "progress": {"stage": "training", "eta": 3}},
        headers=api.admin,
    )
    assert bad.status_code == 422


def test_an_expired_lease_fails_the_round_and_keeps_the_adapter(api: Api) -> None:
    first = new_round(api)
    claim(api, "w1")
    assert move(api, first, "succeeded", adapter_version="v0001").status_code == 200
    second = new_round(api)
    claim(api, "gpu-7", lease_s=60)
    beat(api, second, "gpu-7")
    # The worker's last heartbeat was two minutes ago (as if it were killed then).
    old = (datetime.now(UTC) - timedelta(minutes=2)).isoformat()
    with api.context.store.write() as conn:
        conn.execute("UPDATE training_rounds SET heartbeat_at = ? WHERE id = ?", (old, second))

    shown = api.client.get(f"{ROUNDS}/{second}", headers=api.admin).json()
    assert shown["status"] == "failed"
    message = shown["message"]
    assert message.startswith("worker gpu-7 stopped reporting: no heartbeat since ")
    assert message.endswith("(lease 60 s); the previous adapter stays current")
    assert shown["finished_at"] is not None
    assert current(api)["version"] == "v0001"
    late = beat(api, second, "gpu-7")
    assert late.status_code == 409 and "stopped reporting" in late.json()["message"]
    assert move(api, second, "succeeded", adapter_version="v0002").status_code == 409


def test_a_live_lease_is_left_alone(api: Api) -> None:
    round_id = new_round(api)
    claim(api, "w1", lease_s=60)
    assert api.client.get(f"{ROUNDS}/{round_id}", headers=api.admin).json()["status"] == "running"
    # train-round moves rounds without a lease: they never expire.
    other = new_round(api)
    assert move(api, other, "running").status_code == 200
    shown = api.client.get(f"{ROUNDS}/{other}", headers=api.admin).json()
    assert (shown["status"], shown["worker"], shown["lease_s"]) == ("running", None, None)
    assert shown["started_at"] is not None
    assert beat(api, other, "w1").status_code == 409  # not a worker's round


def test_current_adapter_is_the_latest_succeeded_round(api: Api) -> None:
    assert current(api) == {"version": None, "round_id": None, "since": None, "pinned": False}
    first = new_round(api)
    claim(api, "w1")
    move(api, first, "succeeded", adapter_version="v0001")
    now = current(api)
    assert (now["version"], now["round_id"]) == ("v0001", first) and now["since"]
    failed = new_round(api)
    claim(api, "w1")
    move(api, failed, "failed", message="stage training: TrainingFailed: nan loss")
    assert current(api)["version"] == "v0001"
    second = new_round(api)
    claim(api, "w1")
    move(api, second, "succeeded", adapter_version="v0002")
    assert current(api)["version"] == "v0002"


def test_succeeded_needs_an_adapter_version(api: Api) -> None:
    round_id = new_round(api)
    claim(api, "w1")
    refused = move(api, round_id, "succeeded", metrics={"score_mean": 0.5})
    assert refused.status_code == 422
    assert refused.json()["details"][0]["field"] == "adapter_version"
    shown = api.client.get(f"{ROUNDS}/{round_id}", headers=api.admin).json()
    assert shown["status"] == "running" and shown["finished_at"] is None


def test_cancel_while_running_tells_the_worker(api: Api) -> None:
    round_id = new_round(api)
    claim(api, "w1")
    cancelled = move(api, round_id, "cancelled", message="wrong data")
    assert cancelled.status_code == 200 and cancelled.json()["finished_at"] is not None
    answer = beat(api, round_id, "w1")
    assert answer.status_code == 200
    assert (answer.json()["status"], answer.json()["message"]) == ("cancelled", "wrong data")
    assert move(api, round_id, "succeeded", adapter_version="v9").status_code == 409
    assert current(api)["version"] is None


def _succeed(api: Api, version: str) -> int:
    round_id = new_round(api)
    claim(api, "w1")
    assert move(api, round_id, "succeeded", adapter_version=version).status_code == 200
    return round_id


def test_adapters_set_and_rollback_choose_among_produced_versions(api: Api) -> None:
    first, second = _succeed(api, "v0001"), _succeed(api, "v0002")
    listed = api.client.get(ADAPTERS, headers=api.admin).json()
    assert [(v["version"], v["round_id"], v["current"]) for v in listed] == [
        ("v0002", second, True),
        ("v0001", first, False),
    ]
    unknown = api.client.post(f"{ADAPTERS}/current", json={"version": "v9999"}, headers=api.admin)
    assert unknown.status_code == 404 and "v9999" in unknown.json()["message"]
    assert current(api)["version"] == "v0002"
    chosen = api.client.post(f"{ADAPTERS}/current", json={"version": "v0001"}, headers=api.admin)
    assert chosen.json() | {"since": None} == {
        "version": "v0001",
        "round_id": first,
        "since": None,
        "pinned": True,
    }
    rolled = api.client.post(f"{ADAPTERS}/rollback", headers=api.admin).json()
    assert rolled["version"] is None and rolled["pinned"]
    again = api.client.post(f"{ADAPTERS}/rollback", headers=api.admin)
    assert again.status_code == 409
    # The next succeeded round is current again; a version cannot be produced twice.
    third = new_round(api)
    claim(api, "w1")
    duplicate = move(api, third, "succeeded", adapter_version="v0002")
    assert duplicate.status_code == 409 and "round" in duplicate.json()["message"]
    assert move(api, third, "succeeded", adapter_version="v0003").status_code == 200
    assert (current(api)["version"], current(api)["pinned"]) == ("v0003", False)


def test_retry_requests_a_failed_round_again_with_its_params(api: Api) -> None:
    created = api.client.post(
        ROUNDS, json={"params": {"ppo_epochs": 2}, "note": "first"}, headers=api.admin
    ).json()
    running = api.client.post(f"{ROUNDS}/{created['id']}/retry", headers=api.admin)
    assert running.status_code == 409  # requested: nothing to retry
    claim(api, "w1")
    move(api, created["id"], "failed", message="stage loading: boom")
    retried = api.client.post(f"{ROUNDS}/{created['id']}/retry", headers=api.admin)
    assert retried.status_code == 201
    body = retried.json()
    assert (body["status"], body["params"]) == ("requested", {"ppo_epochs": 2})
    assert body["note"] == f"retry of round {created['id']}: first"
    missing = api.client.post(f"{ROUNDS}/999/retry", headers=api.admin)
    assert missing.status_code == 404


def test_register_records_an_offline_round_as_succeeded_in_one_step(api: Api) -> None:
    body = {"adapter_version": "v0001", "params": {"seed": 0}, "metrics": {"samples": 4}}
    registered = api.client.post(f"{ROUNDS}/register", json=body, headers=api.admin)
    assert registered.status_code == 201
    shown = registered.json()
    assert (shown["status"], shown["adapter_version"], shown["metrics"]) == (
        "succeeded",
        "v0001",
        {"samples": 4},
    )
    assert shown["finished_at"] is not None and shown["worker"] is None
    assert claim(api, "w1").status_code == 204  # never claimable
    assert current(api)["version"] == "v0001"
    again = api.client.post(f"{ROUNDS}/register", json=body, headers=api.admin)
    assert again.status_code == 409
