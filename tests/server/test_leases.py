"""Task leases: an abandoned task gives its slot back; a late judgement still counts, once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from crlhf_server.routers import tasks as tasks_router

from tests.server.conftest import Api, submission_for

LEASE_S = 1800.0


def _served(api: Api, sample_id: str) -> int:
    return api.count("SELECT n_served FROM samples WHERE id = ?", sample_id)


def _later(monkeypatch: pytest.MonkeyPatch, seconds: float) -> None:
    """The task route's clock, ``seconds`` from now."""
    moment = (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()
    monkeypatch.setattr(tasks_router, "now_iso", lambda: moment)


def test_an_abandoned_task_frees_its_slot_and_a_late_judgement_counts_once(
    make_api: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    api: Api = make_api(
        warmup_honeypots=0, honeypot_rate=0.0, max_annotators_per_sample=1, task_lease_s=LEASE_S
    )
    walker, other, newcomer = (api.annotator(n) for n in ("walker", "other", "newcomer"))
    [task] = api.tasks(walker)
    sample = task["sample_id"]

    _later(monkeypatch, LEASE_S - 60)  # within the lease: the slot stays taken
    assert [t["sample_id"] for t in api.tasks(other)] != [sample]
    assert [t["sample_id"] for t in api.tasks(walker)] == [sample]  # still their open task

    _later(monkeypatch, LEASE_S + 60)  # past it: the slot goes to the next annotator
    assert [t["sample_id"] for t in api.tasks(newcomer)] == [sample]
    assert _served(api, sample) == 1
    assert sample not in {t["sample_id"] for t in api.tasks(walker, count=3)}

    late = submission_for(task, wrong={task["lines"][0]["number"]})
    first = api.client.post("/v1/submissions", json=late, headers=walker)
    assert first.status_code == 201, first.text
    replay = api.client.post("/v1/submissions", json=late, headers=walker)  # a client retry
    assert replay.status_code == 200 and replay.json()["replayed"], replay.text
    assert _served(api, sample) == 2  # the newcomer's slot and the late judgement
    assert api.count("SELECT COUNT(*) FROM submissions WHERE sample_id = ?", sample) == 1


def test_without_a_lease_a_served_task_holds_its_slot(
    make_api: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    api: Api = make_api(
        warmup_honeypots=0, honeypot_rate=0.0, max_annotators_per_sample=1, task_lease_s=None
    )
    walker, other = api.annotator("walker"), api.annotator("other")
    [task] = api.tasks(walker)
    _later(monkeypatch, 30 * 24 * 3600)
    api.tasks(other)
    assert _served(api, task["sample_id"]) == 1
    assert [t["sample_id"] for t in api.tasks(walker)] == [task["sample_id"]]


def test_skipping_an_expired_task_does_not_free_its_slot_twice(
    make_api: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    api: Api = make_api(
        warmup_honeypots=0, honeypot_rate=0.0, max_annotators_per_sample=1, task_lease_s=LEASE_S
    )
    walker, other = api.annotator("walker"), api.annotator("other")
    [task] = api.tasks(walker)
    _later(monkeypatch, LEASE_S + 60)
    assert [t["sample_id"] for t in api.tasks(other)] == [task["sample_id"]]
    response = api.client.post(f"/v1/tasks/{task['sample_id']}/skip", headers=walker)
    assert response.status_code < 300, response.text
    assert _served(api, task["sample_id"]) == 1  # the other annotator's slot stays counted
