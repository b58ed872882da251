"""A full refit stores the class prior it learnt; submissions and own views then use it."""

from __future__ import annotations

import json
from typing import Any

import pytest
from crlhf_server import refit as refit_module
from crlhf_server.engine_state import CLASS_PRIOR

from crlhf.engine.config import EngineConfig
from crlhf.engine.estimators import make_estimator
from crlhf.engine.estimators.base import Estimator
from crlhf.engine.incremental import AnnotatorState, SampleVote, sample_consensus
from tests.server.conftest import Api, submission_for


def _stored_prior(api: Api) -> float | None:
    row = (
        api.context.store.read()
        .execute("SELECT value FROM engine_state WHERE key = ?", (CLASS_PRIOR,))
        .fetchone()
    )
    return None if row is None else float(row[0])


def _vote(api: Api, names: list[str]) -> None:
    """Everyone labels every sample they are served, line 1 wrong, the rest correct."""
    for name in names:
        headers = api.annotator(name)
        batch = [submission_for(t, wrong={1}) for t in api.tasks(headers, count=20)]
        response = api.client.post(
            "/v1/submissions/batch", json={"submissions": batch}, headers=headers
        )
        assert response.status_code == 200, response.text


def _expected(api: Api, sample_id: str, prior: float, state_column: str) -> dict[int, float]:
    """The sample's posteriors recomputed by the engine from the stored votes and states."""
    conn = api.context.store.read()
    judged = json.loads(
        conn.execute("SELECT judged_lines FROM samples WHERE id = ?", (sample_id,)).fetchone()[0]
    )
    votes = [
        SampleVote(annotator=int(r[0]), line=int(r[1]), vote=int(r[2]))
        for r in conn.execute(
            "SELECT s.annotator_id, v.line, v.label FROM submissions s JOIN votes v "
            "ON v.submission = s.id WHERE s.is_current = 1 AND s.sample_id = ?",
            (sample_id,),
        )
    ]
    states = {
        int(r[0]): AnnotatorState.from_dict(json.loads(r[1]))
        for r in conn.execute(f"SELECT id, {state_column} FROM annotators")
    }
    config = api.context.engine.model_copy(update={"prior": prior})
    return sample_consensus(config, judged, votes, states).posteriors


def test_refit_stores_the_fitted_class_prior(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    _vote(api, ["alice", "bob", "carol"])
    assert _stored_prior(api) is None
    fitted: list[Estimator] = []

    def capture(name: str, **options: Any) -> Estimator:
        fitted.append(make_estimator(name, **options))
        return fitted[-1]

    monkeypatch.setattr(refit_module, "make_estimator", capture)
    assert api.client.post("/v1/admin/refit", json={}, headers=api.admin).status_code == 200
    learnt = float(fitted[-1].class_prior_)  # type: ignore[attr-defined]
    assert _stored_prior(api) == learnt != EngineConfig().prior
    response = api.client.post(
        "/v1/admin/refit",
        json={"estimator": "em-two-coin", "options": {"prior": 0.8}},
        headers=api.admin,
    )
    assert response.status_code == 200 and _stored_prior(api) == 0.8
    # An estimator without a class prior brings the configured one back.
    majority = api.client.post("/v1/admin/refit", json={"estimator": "majority"}, headers=api.admin)
    assert majority.status_code == 200 and _stored_prior(api) is None


def test_new_submissions_and_own_views_use_the_stored_prior(api: Api) -> None:
    _vote(api, ["alice", "bob"])
    response = api.client.post(
        "/v1/admin/refit",
        json={"estimator": "em-two-coin", "options": {"prior": 0.8}},
        headers=api.admin,
    )
    assert response.status_code == 200
    dave = api.annotator("dave")
    task = api.tasks(dave)[0]
    sample_id = task["sample_id"]
    submitted = api.client.post("/v1/submissions", json=submission_for(task), headers=dave)
    assert submitted.status_code == 201, submitted.text

    live = {
        c["line"]: c["posterior"]
        for c in api.client.get(
            f"/v1/admin/samples/{sample_id}/consensus", headers=api.admin
        ).json()
    }
    assert live == pytest.approx(_expected(api, sample_id, 0.8, "state"))
    assert live != pytest.approx(_expected(api, sample_id, 0.5, "state"))

    shown = {
        c["line"]: c["posterior"]
        for c in api.client.get(f"/v1/samples/{sample_id}/consensus", headers=dave).json()
    }
    assert shown == pytest.approx(_expected(api, sample_id, 0.8, "shown_state"))
    assert shown != pytest.approx(_expected(api, sample_id, 0.5, "shown_state"))
