"""Provenance: a reward's votes and reliabilities at the time, and a round's training data."""

from __future__ import annotations

import math
from typing import Any

from tests.server.conftest import HONEYPOTS, Api, submission_for


def test_sample_provenance_keeps_the_past(make_api: Any) -> None:
    api: Api = make_api(warmup_honeypots=0, honeypot_rate=0.0)
    ann = api.annotator("ann")
    [task] = api.tasks(ann)
    sid = task["sample_id"]
    first = submission_for(task)
    api.client.post("/v1/submissions", json=first, headers=ann)
    before = api.client.get(f"/v1/admin/provenance/samples/{sid}", headers=api.admin).json()
    first_line = next(line["number"] for line in task["lines"] if line["judged"])
    second = submission_for(task, wrong={first_line})
    api.client.post("/v1/submissions", json=second, headers=ann)

    now = api.client.get(f"/v1/admin/provenance/samples/{sid}", headers=api.admin).json()
    assert {v["revision"] for v in now["votes"]} == {2}
    assert [v["label"] for v in now["votes"] if v["line"] == first_line] == [-1]
    [weight] = now["annotators"]
    p = weight["reliability"]
    assert weight["weight"] == math.log(p / (1 - p))
    assert weight["votes"] == len(now["votes"])

    # Asked as of the first answer's time, the first revision and its reward come back.
    then = api.client.get(
        f"/v1/admin/provenance/samples/{sid}",
        params={"at": before["as_of"]},
        headers=api.admin,
    ).json()
    assert {v["revision"] for v in then["votes"]} == {1}
    assert then["reward"] == before["reward"]
    assert then["reward"] != now["reward"]
    missing = api.client.get("/v1/admin/provenance/samples/nope", headers=api.admin)
    assert missing.status_code == 404


def test_round_provenance_lists_rewarded_samples_and_weights(make_api: Any) -> None:
    api: Api = make_api(warmup_honeypots=3, honeypot_rate=0.0)
    ann, bob = api.annotator("ann"), api.annotator("bob")
    for who in (ann, bob):
        for task in api.tasks(who, count=5):
            api.client.post("/v1/submissions", json=submission_for(task), headers=who)
    created = api.client.post("/v1/admin/rounds", json={}, headers=api.admin).json()
    late = api.annotator("late")
    for task in api.tasks(late, count=5):  # after the round was requested: not in it
        api.client.post("/v1/submissions", json=submission_for(task), headers=late)

    report = api.client.get(
        f"/v1/admin/provenance/rounds/{created['id']}", headers=api.admin
    ).json()
    ids = {s["sample_id"] for s in report["samples"]}
    assert ids and not ids & HONEYPOTS, "honeypots are never training data"
    assert {a["name"] for a in report["annotators"]} == {"ann", "bob"}
    assert report["n_votes"] == sum(s["n_votes"] for s in report["samples"])
    assert report["n_votes"] == sum(a["votes"] for a in report["annotators"])
    assert api.client.get("/v1/admin/provenance/rounds/99", headers=api.admin).status_code == 404
