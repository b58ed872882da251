"""What a newcomer reads off the server: the tasks left, an agreement that means something,
and the problem's tests beside its description."""

from __future__ import annotations

from tests.server.conftest import Api, submission_for


def test_tasks_left_counts_down_and_includes_open_tasks(api: Api) -> None:
    alice = api.annotator("alice")
    total = api.count("SELECT COUNT(*) FROM samples")
    assert api.client.get("/v1/me/stats", headers=alice).json()["tasks_left"] == total
    task = api.tasks(alice)[0]
    # Served but not submitted: still left (it comes back first).
    assert api.client.get("/v1/me/stats", headers=alice).json()["tasks_left"] == total
    api.client.post("/v1/submissions", json=submission_for(task), headers=alice)
    assert api.client.get("/v1/me/stats", headers=alice).json()["tasks_left"] == total - 1


def test_agreement_needs_another_voter_on_the_same_lines(make_api) -> None:
    api = make_api(warmup_honeypots=0, honeypot_rate=0.0, max_annotators_per_sample=2)
    alice, bob = api.annotator("alice"), api.annotator("bob")
    task = api.tasks(alice)[0]
    judged = [line["number"] for line in task["lines"] if line["judged"]]
    api.client.post("/v1/submissions", json=submission_for(task), headers=alice)
    alone = api.client.get("/v1/me/stats", headers=alice).json()
    assert alone["votes"] == len(judged) and alone["agreement"] is None  # not "100 %"
    bobs = next(t for t in api.tasks(bob, count=20) if t["sample_id"] == task["sample_id"])
    wrong = set(judged[:1])
    api.client.post("/v1/submissions", json=submission_for(bobs, wrong=wrong), headers=bob)
    shared = api.client.get("/v1/me/stats", headers=alice).json()["agreement"]
    assert shared is not None and 0.0 < shared <= 1.0


def test_tasks_carry_the_problems_tests(api: Api) -> None:
    alice = api.annotator("alice")
    tasks = api.tasks(alice, count=20)
    store = api.context.store.read()
    for task in tasks:
        row = store.execute(
            "SELECT tests FROM problems WHERE id = ?", (task["problem"]["id"],)
        ).fetchone()
        assert task["problem"]["tests"] == (row[0] or "")
    assert any(task["problem"]["tests"] for task in tasks)  # the fixtures have some
