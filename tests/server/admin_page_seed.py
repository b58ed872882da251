"""Data for the admin page's tests and screenshots, made through the JSON API only.

Works on a ``TestClient`` and on an ``httpx.Client`` pointed at a live server alike: three
annotators (one with markup in its name) vote on served tasks, one comment holds a
``<script>``, one round succeeded with benchmarks before and after it, one is running.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Protocol

SCRIPT_COMMENT = "<script>window.pwned = 1</script> looks off by one"
SCRIPT_NAME = "carol <b>bold</b>"


class Client(Protocol):
    def get(self, url: str, **kwargs: Any) -> Any: ...
    def post(self, url: str, **kwargs: Any) -> Any: ...


@dataclass(frozen=True)
class Seeded:
    annotator_tokens: dict[str, str]
    commented_sample: str
    """The sample (alice's last task) whose first judged line carries :data:`SCRIPT_COMMENT`."""
    succeeded_round: int
    running_round: int


def _ok(response: Any, *codes: int) -> Any:
    assert response.status_code in (codes or (200, 201)), response.text
    return response.json() if response.status_code != 204 else None


def seed(client: Client, admin_token: str, tasks_each: int = 8) -> Seeded:
    admin = {"Authorization": f"Bearer {admin_token}"}
    tokens: dict[str, str] = {}
    commented = ""
    for i, name in enumerate(("alice", "bob", SCRIPT_NAME)):
        created = _ok(client.post("/v1/admin/annotators", json={"name": name}, headers=admin))
        tokens[name] = created["token"]
        headers = {"Authorization": f"Bearer {created['token']}"}
        tasks = _ok(client.get(f"/v1/tasks/next?count={tasks_each}", headers=headers))
        for j, task in enumerate(tasks):
            judged = [line["number"] for line in task["lines"] if line["judged"]]
            labels: list[dict[str, Any]] = [
                {"line": n, "label": -1 if (i == 1 and k == 0) or (j + k) % 7 == 6 else 1}
                for k, n in enumerate(judged)
            ]
            if i == 0 and j == len(tasks) - 1:  # past the warm-up honeypots
                labels[0]["comment"] = SCRIPT_COMMENT
                commented = task["sample_id"]
            body = {
                "submission_id": str(uuid.uuid4()),
                "sample_id": task["sample_id"],
                "labels": labels,
                "duration_ms": 20_000 + 1_000 * j,
            }
            _ok(client.post("/v1/submissions", json=body, headers=headers))

    def benchmark(run_id: str, round_id: int | None, p1: float, p5: float) -> None:
        body = {
            "suite": "humaneval",
            "run_id": run_id,
            "round": round_id,
            "n": 5,
            "pass_at_k": {"1": p1, "5": p5},
            "n_problems": 164,
        }
        _ok(client.post("/v1/admin/benchmarks", json=body, headers=admin))

    benchmark("base", None, 0.31, 0.45)
    first = _ok(
        client.post(
            "/v1/admin/rounds",
            json={"note": "first crowd round", "params": {"min_votes": 1}},
            headers=admin,
        )
    )
    _ok(client.post("/v1/admin/rounds/claim", json={"worker": "w1", "lease_s": 600}, headers=admin))
    done = {"status": "succeeded", "adapter_version": "r1-lora", "metrics": {"ppo_steps": 40}}
    _ok(client.post(f"/v1/admin/rounds/{first['id']}/transition", json=done, headers=admin))
    benchmark("round-1", first["id"], 0.36, 0.52)
    second = _ok(client.post("/v1/admin/rounds", json={"note": "second round"}, headers=admin))
    claim = {"worker": "w1", "lease_s": 3600}
    _ok(client.post("/v1/admin/rounds/claim", json=claim, headers=admin))
    beat = {"worker": "w1", "progress": {"stage": "training", "step": 12, "steps": 40}}
    _ok(client.post(f"/v1/admin/rounds/{second['id']}/heartbeat", json=beat, headers=admin))
    return Seeded(
        annotator_tokens=tokens,
        commented_sample=commented,
        succeeded_round=int(first["id"]),
        running_round=int(second["id"]),
    )
