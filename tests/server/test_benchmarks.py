"""Admin benchmark results: post, replace by run id, list by round and suite, round detail."""

from __future__ import annotations

from typing import Any

from tests.server.conftest import Api


def result(run_id: str, round_id: int | None, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "suite": "humaneval",
        "model": "tiny",
        "adapter_version": None if round_id is None else f"r{round_id}",
        "round": round_id,
        "run_id": run_id,
        "n": 10,
        "temperature": 0.8,
        "pass_at_k": {"1": 0.1, "10": 0.4},
        "n_problems": 164,
    }
    return {**body, **overrides}


def new_round(api: Api) -> int:
    response = api.client.post("/v1/admin/rounds", json={}, headers=api.admin)
    assert response.status_code == 201, response.text
    round_id: int = response.json()["id"]
    return round_id


def test_post_list_and_round_detail(api: Api) -> None:
    round_id = new_round(api)
    post = api.client.post(
        "/v1/admin/benchmarks", json=result("after", round_id), headers=api.admin
    )
    assert post.status_code == 201, post.text
    assert post.json()["pass_at_k"] == {"1": 0.1, "10": 0.4}
    base = api.client.post(
        "/v1/admin/benchmarks",
        json=result("before", None, suite="mbpp", pass_at_k={"1": 0.05}),
        headers=api.admin,
    )
    assert base.status_code == 201

    listed = api.client.get("/v1/admin/benchmarks", headers=api.admin).json()
    assert [r["run_id"] for r in listed] == ["before", "after"]  # the baseline first
    assert listed[0]["round"] is None
    only = api.client.get(f"/v1/admin/benchmarks?round={round_id}", headers=api.admin).json()
    assert [r["run_id"] for r in only] == ["after"]
    mbpp = api.client.get("/v1/admin/benchmarks?suite=mbpp", headers=api.admin).json()
    assert [r["run_id"] for r in mbpp] == ["before"]

    detail = api.client.get(f"/v1/admin/rounds/{round_id}", headers=api.admin).json()
    assert [r["run_id"] for r in detail["benchmarks"]] == ["after"]
    rounds = api.client.get("/v1/admin/rounds", headers=api.admin).json()
    assert rounds[0]["benchmarks"] is None  # lists leave results out


def test_same_run_id_replaces_the_result(api: Api) -> None:
    first = api.client.post("/v1/admin/benchmarks", json=result("run", None), headers=api.admin)
    again = api.client.post(
        "/v1/admin/benchmarks",
        json=result("run", None, pass_at_k={"1": 0.2, "10": 0.5}),
        headers=api.admin,
    )
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert api.count("SELECT COUNT(*) FROM benchmark_results") == 1
    listed = api.client.get("/v1/admin/benchmarks", headers=api.admin).json()
    assert listed[0]["pass_at_k"] == {"1": 0.2, "10": 0.5}


def test_bad_results_are_refused_and_nothing_is_written(api: Api) -> None:
    cases = [
        (result("x", 99), 404, "round"),
        (result("x", None, pass_at_k={"1": 1.5}), 422, "pass_at_k.1"),
        (result("x", None, pass_at_k={}), 422, "pass_at_k"),
        (result("x", None, n=0), 422, "n"),
        (result("x", None, extra=1), 422, "extra"),
    ]
    for body, code, field in cases:
        response = api.client.post("/v1/admin/benchmarks", json=body, headers=api.admin)
        assert response.status_code == code, response.text
        assert response.json()["details"][0]["field"] == field
    assert api.count("SELECT COUNT(*) FROM benchmark_results") == 0


def test_annotators_cannot_post_or_read_results(api: Api) -> None:
    alice = api.annotator("alice")
    post = api.client.post("/v1/admin/benchmarks", json=result("x", None), headers=alice)
    assert post.status_code == 403
    assert api.client.get("/v1/admin/benchmarks", headers=alice).status_code == 403
