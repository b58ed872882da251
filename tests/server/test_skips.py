"""POST /v1/tasks/{id}/skip: not served again, cap slot and warm-up place given back, 409s."""

from __future__ import annotations

from tests.server.conftest import HONEYPOTS, Api, submission_for


def _skip(api: Api, headers: dict[str, str], sample_id: str) -> int:
    return api.client.post(f"/v1/tasks/{sample_id}/skip", headers=headers).status_code


def test_skipped_task_is_not_served_again(api: Api) -> None:
    alice = api.annotator("alice")
    [first] = api.tasks(alice)
    assert _skip(api, alice, first["sample_id"]) == 204
    rest = [t["sample_id"] for t in api.tasks(alice, count=20)]
    assert first["sample_id"] not in rest
    assert len(rest) == 5  # every other sample of the fixture set, honeypots included


def test_skip_is_idempotent_and_frees_the_slot_once(api: Api) -> None:
    alice = api.annotator("alice")
    [task] = api.tasks(alice)
    n_served = "SELECT n_served FROM samples WHERE id = ?"
    assert api.count(n_served, task["sample_id"]) == 1
    assert _skip(api, alice, task["sample_id"]) == 204
    assert _skip(api, alice, task["sample_id"]) == 204
    assert api.count(n_served, task["sample_id"]) == 0
    skipped = "SELECT COUNT(*) FROM assignments WHERE skipped_at IS NOT NULL"
    assert api.count(skipped) == 1


def test_skip_frees_the_cap_slot(make_api: object) -> None:
    api = make_api(warmup_honeypots=0, honeypot_rate=0.0, max_annotators_per_sample=1)  # type: ignore[operator]
    a, b = api.annotator("a"), api.annotator("b")
    got_a = [t["sample_id"] for t in api.tasks(a, count=3)]
    assert not set(got_a) & HONEYPOTS
    assert _skip(api, a, got_a[0]) == 204
    got_b = [t["sample_id"] for t in api.tasks(b, count=4)]
    assert got_b[0] == got_a[0]  # the only ordinary sample below the cap again
    assert set(got_b[1:]) == HONEYPOTS


def test_skipped_warmup_honeypot_does_not_count_toward_q(make_api: object) -> None:
    api = make_api(warmup_honeypots=2, honeypot_rate=0.0)  # type: ignore[operator]
    alice = api.annotator("alice")
    [first] = api.tasks(alice)
    assert first["sample_id"] in HONEYPOTS
    assert _skip(api, alice, first["sample_id"]) == 204
    nxt = [t["sample_id"] for t in api.tasks(alice, count=3)]
    assert set(nxt[:2]) == HONEYPOTS - {first["sample_id"]}  # still two warm-up honeypots
    assert nxt[2] not in HONEYPOTS


def test_only_open_tasks_can_be_skipped(api: Api) -> None:
    alice, bob = api.annotator("alice"), api.annotator("bob")
    [task] = api.tasks(alice)
    never = api.client.post(f"/v1/tasks/{task['sample_id']}/skip", headers=bob)
    assert never.status_code == 409
    assert never.json()["code"] == "sample_not_served"
    assert never.json()["details"][0]["field"] == "sample_id"
    api.client.post("/v1/submissions", json=submission_for(task), headers=alice)
    assert _skip(api, alice, task["sample_id"]) == 409  # already submitted
    unknown = api.client.post("/v1/tasks/no-such-sample/skip", headers=alice)
    assert unknown.status_code == 404
    assert unknown.json()["code"] == "sample_not_found"
    assert api.client.post(f"/v1/tasks/{task['sample_id']}/skip").status_code == 401


def test_a_skipped_task_takes_no_submission(api: Api) -> None:
    alice = api.annotator("alice")
    [task] = api.tasks(alice)
    assert _skip(api, alice, task["sample_id"]) == 204
    response = api.client.post("/v1/submissions", json=submission_for(task), headers=alice)
    assert response.status_code == 409
    assert response.json()["code"] == "sample_not_served"
    assert api.count("SELECT COUNT(*) FROM submissions") == 0


def test_skip_answers_alike_for_honeypots_and_ordinary_samples(make_api: object) -> None:
    api = make_api(warmup_honeypots=1, honeypot_rate=0.0)  # type: ignore[operator]
    alice, bob = api.annotator("alice"), api.annotator("bob")
    honeypot, ordinary = api.tasks(alice, count=2)
    assert honeypot["sample_id"] in HONEYPOTS and ordinary["sample_id"] not in HONEYPOTS
    answers = set()
    for task in (honeypot, ordinary):
        done = api.client.post(f"/v1/tasks/{task['sample_id']}/skip", headers=alice)
        refused = api.client.post(f"/v1/tasks/{task['sample_id']}/skip", headers=bob)
        answers.add(
            (
                done.status_code,
                done.content,
                refused.status_code,
                refused.text.replace(task["sample_id"], "ID"),
            )
        )
    assert len(answers) == 1


def test_skip_accepts_ids_with_slashes(api: Api) -> None:
    api.client.post(
        "/v1/admin/samples",
        json=[{"id": "round-1/s-7", "problem_id": "p-clamp", "code": "x = 1\n"}],
        headers=api.admin,
    )
    alice = api.annotator("alice")
    served = [t["sample_id"] for t in api.tasks(alice, count=20)]
    assert "round-1/s-7" in served
    assert _skip(api, alice, "round-1/s-7") == 204
    assert _skip(api, alice, "round-1%2Fs-7") == 204


def test_skips_are_limited_in_the_warmup_window_only(make_api: object) -> None:
    api = make_api(warmup_honeypots=2, warmup_window=4, warmup_max_skips=1, honeypot_rate=0.0)  # type: ignore[operator]
    alice = api.annotator("alice")
    first, second = api.tasks(alice, count=2)
    assert _skip(api, alice, first["sample_id"]) == 204
    refused = api.client.post(f"/v1/tasks/{second['sample_id']}/skip", headers=alice)
    assert refused.status_code == 409
    assert refused.json()["code"] == "skip_refused"
    assert refused.json()["details"][0]["field"] == "sample_id"
    free = make_api(warmup_honeypots=0, warmup_window=4, warmup_max_skips=1)  # type: ignore[operator]
    bob = free.annotator("bob")
    assert [_skip(free, bob, t["sample_id"]) for t in free.tasks(bob, count=3)] == [204] * 3
