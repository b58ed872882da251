"""Honeypots stay secret: no annotator-visible body reveals the flag or the gold."""

from __future__ import annotations

import json
import uuid
from typing import Any

from tests.server.conftest import HONEYPOTS, Api, body_shape, submission_for

# A problem's "tests" are shown (part of the spec, the same for every sample of the problem,
# honeypot or not); its reference solution never is.
FORBIDDEN_KEYS = {"is_honeypot", "honeypot", "gold", "reference_solution", "meta"}


def _keys(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in _keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in _keys(v)}
    return set()


def test_no_annotator_visible_body_reveals_honeypots(make_api: object) -> None:
    api = make_api(warmup_honeypots=2, honeypot_rate=0.5)  # type: ignore[operator]
    alice = api.annotator("alice")
    bodies: list[str] = []

    def see(response: Any) -> Any:
        bodies.append(response.text)
        return response.json()

    tasks = see(api.client.get("/v1/tasks/next?count=20", headers=alice))
    served = {t["sample_id"] for t in tasks}
    assert served >= HONEYPOTS  # the scan below covers honeypots
    task_shapes = {json.dumps(body_shape(t)) for t in tasks}
    assert len(task_shapes) == 1  # honeypot tasks look exactly like the others
    for task in tasks:
        wrong = {line["number"] for line in task["lines"] if line["judged"]}
        see(
            api.client.post(
                "/v1/submissions", json=submission_for(task, wrong=wrong), headers=alice
            )
        )
        see(api.client.get(f"/v1/samples/{task['sample_id']}/consensus", headers=alice))
        bad = submission_for(task)
        bad["labels"] = bad["labels"][:-1]
        see(api.client.post("/v1/submissions", json=bad, headers=alice))
        replay = submission_for(task, submission_id=str(uuid.uuid4()))
        replay["labels"].append({"line": 999, "label": 1})
        see(api.client.post("/v1/submissions", json=replay, headers=alice))
    see(api.client.get("/v1/me", headers=alice))
    see(api.client.get("/v1/me/stats", headers=alice))
    see(api.client.get("/v1/tasks/next?count=5", headers=alice))

    gold_samples = api.client.get("/v1/admin/samples?honeypot=true", headers=api.admin).json()
    assert {s["id"] for s in gold_samples} == HONEYPOTS
    for body in bodies:
        parsed = json.loads(body)
        assert not _keys(parsed) & FORBIDDEN_KEYS, body
        lowered = body.lower()
        assert "honeypot" not in lowered and "gold" not in lowered, body


def test_error_messages_do_not_differ_for_honeypots(api: Api) -> None:
    alice = api.annotator("alice")
    tasks = api.tasks(alice, count=6)
    messages = set()
    for task in tasks:
        bad = submission_for(task)
        bad["labels"] = bad["labels"][1:]
        response = api.client.post("/v1/submissions", json=bad, headers=alice)
        first = bad["labels"][0]["line"] - 1
        messages.add(response.json()["message"].replace(f"[{first}]", "[N]"))
    assert len(messages) == 1


def test_own_reliability_does_not_move_on_honeypot_submissions(make_api: object) -> None:
    """The live estimate moves only on gold lines; the annotator sees the last refit's."""
    api = make_api(warmup_honeypots=3, honeypot_rate=0.0)  # type: ignore[operator]
    alice = api.annotator("alice")
    before = api.client.get("/v1/me", headers=alice).json()["reliability"]
    for task in api.tasks(alice, count=6):
        api.client.post("/v1/submissions", json=submission_for(task), headers=alice)
        assert api.client.get("/v1/me", headers=alice).json()["reliability"] == before
        assert api.client.get("/v1/me/stats", headers=alice).json()["reliability"] == before
    me = api.client.get("/v1/me", headers=alice).json()
    live = api.client.get(f"/v1/admin/annotators/{me['id']}", headers=api.admin).json()
    assert live["reliability"] != before  # the honeypots did move the live estimate
    api.client.post("/v1/admin/refit", json={}, headers=api.admin)
    after = api.client.get("/v1/me", headers=alice).json()["reliability"]
    refitted = api.client.get(f"/v1/admin/annotators/{me['id']}", headers=api.admin).json()
    assert after == refitted["reliability"]


def test_consensus_strength_is_the_same_on_honeypots(make_api: object) -> None:
    """Alone on a sample, an annotator sees the same posterior on honeypots and others."""
    api = make_api(warmup_honeypots=3, honeypot_rate=0.0)  # type: ignore[operator]
    alice = api.annotator("alice")
    seen: dict[str, set[float]] = {"honeypot": set(), "ordinary": set()}
    for task in api.tasks(alice, count=6):
        api.client.post("/v1/submissions", json=submission_for(task), headers=alice)
        consensus = api.client.get(
            f"/v1/samples/{task['sample_id']}/consensus", headers=alice
        ).json()
        kind = "honeypot" if task["sample_id"] in HONEYPOTS else "ordinary"
        seen[kind] |= {round(c["posterior"], 12) for c in consensus}
    assert seen["honeypot"] == seen["ordinary"] and len(seen["ordinary"]) == 1
    live = {
        round(c["posterior"], 12)
        for sample_id in HONEYPOTS
        for c in api.client.get(
            f"/v1/admin/samples/{sample_id}/consensus", headers=api.admin
        ).json()
    }
    assert live != seen["honeypot"]  # admins see the live, gold-informed weights
