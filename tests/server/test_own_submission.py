"""GET /v1/samples/{id}/mine: the caller's current revision, for editors reopening a task."""

from __future__ import annotations

from tests.server.conftest import Api, submission_for


def test_own_submission_shows_the_current_revision_and_its_votes(api: Api) -> None:
    alice, bob = api.annotator("alice"), api.annotator("bob")
    [task] = api.tasks(alice)
    sample_id = task["sample_id"]
    url = f"/v1/samples/{sample_id}/mine"
    none_yet = api.client.get(url, headers=alice)
    assert none_yet.status_code == 404
    assert "not submitted" in none_yet.json()["message"]

    first_line = next(line["number"] for line in task["lines"] if line["judged"])
    for wrong in (set(), {first_line}):
        sent = api.client.post("/v1/submissions", json=submission_for(task, wrong), headers=alice)
        assert sent.status_code == 201
    mine = api.client.get(url, headers=alice).json()
    assert mine["revision"] == 2
    assert mine["submitted_at"]
    labels = {item["line"]: item["label"] for item in mine["labels"]}
    assert labels == {n: -1 if n == first_line else 1 for n in api.sample_lines(sample_id)}
    assert api.client.get(url, headers=bob).status_code == 404  # only the caller's own
