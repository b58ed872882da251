"""Machine annotators on the server: tokens kept apart, partial votes, exclusions, routing."""

from __future__ import annotations

import json
import uuid
from typing import Any

from crlhf_server import machines
from crlhf_server.task_routing import RoutingPolicy, human_target

from tests.server.conftest import HONEYPOTS, Api, bearer, submission_for


def _machine(api: Api, name: str = "tests-bot", checker: str = "tests") -> dict[str, str]:
    response = api.client.post(
        "/v1/admin/annotators",
        json={"name": name, "kind": "machine", "checker": checker, "checker_version": "1"},
        headers=api.admin,
    )
    assert response.status_code == 201, response.text
    body = response.json()["annotator"]
    assert (body["kind"], body["checker"], body["checker_version"]) == ("machine", checker, "1")
    return bearer(response.json()["token"])


def _machine_tasks(api: Api, headers: dict[str, str], count: int = 20) -> list[dict[str, Any]]:
    response = api.client.get(f"/v1/machines/tasks/next?count={count}", headers=headers)
    assert response.status_code == 200, response.text
    tasks: list[dict[str, Any]] = response.json()
    return tasks


def _submit(
    api: Api, headers: dict[str, str], sample_id: str, labels: dict[int, int]
) -> dict[str, Any]:
    response = api.client.post(
        "/v1/machines/submissions",
        json={
            "submission_id": str(uuid.uuid4()),
            "sample_id": sample_id,
            "labels": [{"line": n, "label": v} for n, v in labels.items()],
        },
        headers=headers,
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def test_a_machine_annotator_needs_a_checker_and_cannot_be_admin(api: Api) -> None:
    for body in (
        {"name": "m", "kind": "machine"},
        {"name": "m", "kind": "machine", "checker": "tests", "role": "admin"},
        {"name": "m", "checker": "tests"},
    ):
        response = api.client.post("/v1/admin/annotators", json=body, headers=api.admin)
        assert response.status_code == 422, body


def test_tokens_are_refused_on_the_other_kinds_routes(api: Api) -> None:
    machine = _machine(api)
    person = api.annotator("ann")
    for method, path in (
        ("GET", "/v1/tasks/next"),
        ("POST", "/v1/submissions"),
        ("GET", "/v1/samples/x/consensus"),
    ):
        response = api.client.request(method, path, headers=machine, json={})
        assert response.status_code == 403, path
        assert "machine annotator's token" in response.json()["message"]
    response = api.client.get("/v1/machines/tasks/next", headers=person)
    assert response.status_code == 403
    assert "machine annotators only" in response.json()["message"]


def test_machines_get_tests_no_honeypots_and_take_no_human_slot(api: Api) -> None:
    machine = _machine(api)
    tasks = _machine_tasks(api, machine)
    ids = {t["sample_id"] for t in tasks}
    assert ids and not ids & HONEYPOTS
    first = tasks[0]
    assert first["problem"]["tests"] and first["problem"]["entry_point"]
    assert "is_honeypot" not in json.dumps(first) and "gold" not in first
    assert api.count("SELECT COALESCE(SUM(n_served), 0) FROM samples") == 0
    # Served but unsubmitted tasks come back first; nothing new is served twice.
    again = _machine_tasks(api, machine)
    assert [t["sample_id"] for t in again] == [t["sample_id"] for t in tasks]


def test_partial_votes_and_whole_abstentions_are_recorded(api: Api) -> None:
    machine = _machine(api)
    tasks = _machine_tasks(api, machine, count=2)
    one, two = tasks
    judged = [line["number"] for line in one["lines"] if line["judged"]]
    _submit(api, machine, one["sample_id"], {judged[0]: -1})
    _submit(api, machine, two["sample_id"], {})
    assert api.count("SELECT COUNT(*) FROM votes") == 1
    assert api.count("SELECT COUNT(*) FROM submissions") == 2
    # Both are done: neither is served to this machine again.
    assert not {t["sample_id"] for t in _machine_tasks(api, machine)} & {
        one["sample_id"],
        two["sample_id"],
    }
    bad = api.client.post(
        "/v1/machines/submissions",
        json={
            "submission_id": str(uuid.uuid4()),
            "sample_id": one["sample_id"],
            "labels": [{"line": 999, "label": 1}],
        },
        headers=machine,
    )
    assert bad.status_code == 422 and "not judged [999]" in bad.json()["message"]


def test_machine_votes_move_the_posterior_and_are_shown_as_machine(api: Api) -> None:
    machine = _machine(api)
    task = _machine_tasks(api, machine, count=1)[0]
    sample_id = task["sample_id"]
    judged = [line["number"] for line in task["lines"] if line["judged"]]
    _submit(api, machine, sample_id, {judged[0]: -1})
    person = api.annotator("ann")
    served = api.tasks(person, count=20)
    mine = next(t for t in served if t["sample_id"] == sample_id)
    response = api.client.post("/v1/submissions", json=submission_for(mine), headers=person)
    assert response.status_code == 201
    consensus = api.client.get(f"/v1/samples/{sample_id}/consensus", headers=person).json()
    first = next(c for c in consensus if c["line"] == judged[0])
    assert (first["n_votes"], first["n_machine_votes"]) == (2, 1)
    assert all(c["n_machine_votes"] == 0 for c in consensus if c["line"] != judged[0])
    provenance = api.client.get(
        f"/v1/admin/provenance/samples/{sample_id}", headers=api.admin
    ).json()
    kinds = {a["name"]: a["kind"] for a in provenance["annotators"]}
    assert kinds == {"tests-bot": "machine", "ann": "human"}
    assert {v["machine"] for v in provenance["votes"] if v["line"] == judged[0]} == {True, False}


def test_machines_are_left_out_of_quality_and_agreement(api: Api) -> None:
    machine = _machine(api)
    for task in _machine_tasks(api, machine):
        judged = [line["number"] for line in task["lines"] if line["judged"]]
        _submit(api, machine, task["sample_id"], dict.fromkeys(judged, -1))
    quality = api.client.get("/v1/admin/quality/annotators", headers=api.admin).json()
    assert "tests-bot" not in {q["name"] for q in quality}
    agreement = api.client.get("/v1/admin/quality/agreement", headers=api.admin).json()
    assert agreement["n_votes"] == 0


def test_human_target_rule() -> None:
    policy = RoutingPolicy(
        warmup_honeypots=0,
        honeypot_rate=0.0,
        max_annotators_per_sample=5,
        machine_confident_humans=1,
        machine_disagreement_humans=1,
        target_confidence=0.95,
    )
    assert human_target([0.99, 0.02], False, policy) == 1
    assert human_target([0.99, 0.7], False, policy) is None
    assert human_target([0.99, 0.99], True, policy) == 6
    assert human_target([], False, policy) is None


def test_confident_machine_votes_lower_the_samples_human_cap(api: Api) -> None:
    machine = _machine(api)
    task = _machine_tasks(api, machine, count=1)[0]
    sample_id = task["sample_id"]
    judged = [line["number"] for line in task["lines"] if line["judged"]]
    # A machine whose reliability a refit put at 0.99 settles every line it votes on.
    with api.context.store.write() as conn:
        state = json.dumps(
            {"good_right": 99.0, "good_wrong": 1.0, "bad_right": 99.0, "bad_wrong": 1.0}
        )
        conn.execute("UPDATE annotators SET state = ? WHERE kind = 'machine'", (state,))
    _submit(api, machine, sample_id, dict.fromkeys(judged, 1))
    assert api.count("SELECT human_target FROM samples WHERE id = ?", sample_id) == 1
    first, second = api.annotator("a1"), api.annotator("a2")
    assert sample_id in {t["sample_id"] for t in api.tasks(first, count=20)}
    assert sample_id not in {t["sample_id"] for t in api.tasks(second, count=20)}
    # A refit recomputes targets from the machines' refitted reliabilities.
    with api.context.store.write() as conn:
        policy = RoutingPolicy.from_settings(api.context.settings)
        assert machines.refresh_all_targets(conn, api.context.engine, policy) == 1


def test_a_refit_calibrates_machines_on_people_and_keeps_people_apart(api: Api) -> None:
    machine = _machine(api)
    for name in ("a1", "a2", "a3"):
        person = api.annotator(name)
        for task in api.tasks(person, count=20):
            body = submission_for(task, wrong={2})
            answer = api.client.post("/v1/submissions", json=body, headers=person)
            assert answer.status_code == 201
    for task in _machine_tasks(api, machine):
        judged = [line["number"] for line in task["lines"] if line["judged"]]
        _submit(api, machine, task["sample_id"], dict.fromkeys(judged, -1))
    response = api.client.post("/v1/admin/refit", json={}, headers=api.admin)
    assert response.status_code == 200, response.text
    rows = api.context.store.read().execute(
        "SELECT a.kind, h.reliability FROM reliability_history h "
        "JOIN annotators a ON a.id = h.annotator_id WHERE h.source LIKE 'refit:%'"
    )
    refitted = {r[0]: float(r[1]) for r in rows}
    # The machine disagreed with three agreeing people on every line: well below ν.
    assert refitted["machine"] < 0.5 < refitted["human"]
