"""Quality control on the server: pausing, reinstating, the action log, agreement, and
mutation-made honeypots that look like every other task."""

from __future__ import annotations

import json
from typing import Any

from crlhf.quality.honeypots import make_honeypots
from crlhf.sandbox import Executor, Limits
from crlhf.schemas import GenerationMeta, ProblemIn
from tests.crlhf.quality.conftest import REFERENCE, TESTS
from tests.server.conftest import Api, body_shape, submission_for


def _add_samples(api: Api, count: int) -> None:
    samples = [
        {
            "id": f"s-extra-{i}",
            "problem_id": "p-clamp",
            "code": f"def clamp(x, lo, hi):\n    y = x + {i}\n    return max(lo, min(y, hi))\n",
        }
        for i in range(count)
    ]
    response = api.client.post("/v1/admin/samples", json=samples, headers=api.admin)
    assert response.status_code in (200, 201), response.text


def _work(api: Api, who: dict[str, str], count: int, *, lazy: bool) -> list[dict[str, Any]]:
    """Judge ``count`` tasks: a careful annotator flags the first judged line, a lazy one
    flags nothing. Returns the last answers."""
    answers = []
    for task in api.tasks(who, count=count):
        first = next(line["number"] for line in task["lines"] if line["judged"])
        body = submission_for(task, wrong=set() if lazy else {first})
        answers.append(api.client.post("/v1/submissions", json=body, headers=who))
    return answers


def test_lazy_annotator_is_paused_told_why_and_can_be_reinstated(make_api: Any) -> None:
    api: Api = make_api(warmup_honeypots=0, honeypot_rate=0.0)
    _add_samples(api, 14)
    careful = [api.annotator(name) for name in ("ann", "bob", "cy")]
    lazy = api.annotator("lazy")
    for who in careful:
        _work(api, who, 12, lazy=False)
    answers = _work(api, lazy, 12, lazy=True)
    # Paused after the 10th submission (the lazy report's minimum): that one is kept,
    # the next ones are refused.
    assert [a.status_code for a in answers] == [201] * 10 + [403] * 2

    refused = api.client.get("/v1/tasks/next", headers=lazy)
    assert refused.status_code == 403
    body = refused.json()
    assert body["code"] == "annotator_paused"
    assert "unread" in body["message"]
    assert api.client.get("/v1/tasks/next", headers=careful[0]).status_code == 200

    report = api.client.get("/v1/admin/quality/annotators?flagged=true", headers=api.admin)
    flagged = {row["name"]: row for row in report.json()}
    assert set(flagged) == {"lazy"}
    assert flagged["lazy"]["paused"] and flagged["lazy"]["lazy"]
    assert flagged["lazy"]["empty_share"] == 1.0

    lazy_id = api.client.get("/v1/admin/annotators", headers=api.admin).json()[-1]["id"]
    reinstated = api.client.post(
        f"/v1/admin/quality/annotators/{lazy_id}/reinstate",
        json={"reason": "talked to them"},
        headers=api.admin,
    )
    assert reinstated.status_code == 200, reinstated.text
    assert api.client.get("/v1/tasks/next", headers=lazy).status_code == 200
    log = api.client.get(f"/v1/admin/quality/actions?annotator_id={lazy_id}", headers=api.admin)
    entries = [(e["action"], e["actor"]) for e in log.json()]
    assert entries == [("pause", "policy"), ("reinstate", "admin:admin")]
    again = api.client.post(f"/v1/admin/quality/annotators/{lazy_id}/reinstate", headers=api.admin)
    assert again.status_code == 409


def test_pause_needs_the_gold_minimum(make_api: Any) -> None:
    """An annotator who inverts every honeypot line (13 gold lines, 3 of them wrong) is
    paused only where the minimum of gold lines is at most 13."""
    for minimum, paused in ((30, False), (13, True)):
        api: Api = make_api(
            warmup_honeypots=3,
            honeypot_rate=1.0,
            pause_min_gold_lines=minimum,
            pause_min_gold_wrong=3,
            policy_check_every=1,  # the policy's schedule is blind to honeypots
        )
        bad = api.annotator(f"bad-{minimum}")
        for task in api.tasks(bad, count=3):
            [gold] = (
                api.context.store.read()
                .execute("SELECT gold FROM samples WHERE id = ?", (task["sample_id"],))
                .fetchone()
            )
            inverted = {int(n) for n, label in json.loads(gold).items() if label == 1}
            body = submission_for(task, wrong=inverted)
            assert api.client.post("/v1/submissions", json=body, headers=bad).status_code == 201
        report = api.client.get("/v1/admin/quality/annotators", headers=api.admin).json()
        row = next(r for r in report if r["name"] == f"bad-{minimum}")
        assert row["gold_lines"] == 13
        assert row["paused"] is paused, row
        assert (api.client.get("/v1/me", headers=bad).status_code == 403) is paused


def test_agreement_endpoint(api: Api) -> None:
    ann, bob = api.annotator("ann"), api.annotator("bob")
    tasks = api.tasks(ann, count=3)
    for task in tasks:
        api.client.post("/v1/submissions", json=submission_for(task), headers=ann)
    for task in api.tasks(bob, count=3):
        api.client.post("/v1/submissions", json=submission_for(task), headers=bob)
    report = api.client.get("/v1/admin/quality/agreement", headers=api.admin).json()
    assert report["n_votes"] > 0
    assert [p["agreement"] for p in report["pairwise"]] == [1.0, 1.0]
    # Every vote says correct: chance-corrected agreement is undefined, not a number.
    assert report["krippendorff_alpha"] is None
    scoped = api.client.get(
        "/v1/admin/quality/agreement?problem_id=no-such-problem", headers=api.admin
    ).json()
    assert scoped["n_votes"] == 0


def test_mutation_honeypot_is_indistinguishable_from_a_normal_sample(make_api: Any) -> None:
    api: Api = make_api(warmup_honeypots=0, honeypot_rate=0.0)
    problem = ProblemIn(
        id="window-sums",
        title="Window sums",
        description="Sums of windows, a search and a ratio.",
        tests=TESTS,
        reference_solution=REFERENCE,
    )
    meta = GenerationMeta(model="m", round=0, temperature=0.8)
    [pot] = make_honeypots(
        [problem], Executor(Limits(timeout_s=3.0), workers=1), per_problem=1, meta=meta
    )
    api.client.post(
        "/v1/admin/problems", json=[problem.model_dump(exclude_none=True)], headers=api.admin
    )
    normal = {
        "problem_id": problem.id,
        "code": problem.reference_solution,
        "meta": meta.model_dump(),
    }
    imported = api.client.post(
        "/v1/admin/samples",
        json=[json.loads(pot.sample.model_dump_json(exclude_none=True)), normal],
        headers=api.admin,
    )
    assert imported.status_code in (200, 201), imported.text
    ids = imported.json()["ids"]
    who = api.annotator("ann")
    served = [t for t in api.tasks(who, count=20) if t["sample_id"] in ids]
    assert len(served) == 2
    assert body_shape(served[0]) == body_shape(served[1])
    assert served[0].keys() == served[1].keys()
    assert all(len(i) == len(ids[0]) and i.startswith("s-") for i in ids)


def test_honeypots_rotate_out_after_their_cap(make_api: Any) -> None:
    """With a cap of 2, the third annotator gets no honeypot even when asking for one."""
    api: Api = make_api(warmup_honeypots=3, honeypot_rate=1.0, honeypot_max_annotators=2)
    honeypots = {
        row[0]
        for row in api.context.store.read().execute("SELECT id FROM samples WHERE is_honeypot")
    }
    served = []
    for name in ("ann", "bob", "cy"):
        tasks = api.tasks(api.annotator(name), count=3)
        served.append({t["sample_id"] for t in tasks} & honeypots)
    assert served[0] == served[1] == honeypots
    assert served[2] == set()


def test_authors_never_judge_their_own_samples(make_api: Any) -> None:
    api: Api = make_api(warmup_honeypots=0, honeypot_rate=0.0)
    ann, bob = api.annotator("ann"), api.annotator("bob")
    ann_id = next(
        a["id"]
        for a in api.client.get("/v1/admin/annotators", headers=api.admin).json()
        if a["name"] == "ann"
    )
    own = {
        "id": "s-own",
        "problem_id": "p-clamp",
        "code": "def clamp(x, lo, hi):\n    return min(max(x, lo), hi)\n",
        "author_id": ann_id,
    }
    imported = api.client.post("/v1/admin/samples", json=[own], headers=api.admin)
    assert imported.status_code in (200, 201), imported.text
    assert (
        api.client.get("/v1/admin/samples/s-own", headers=api.admin).json()["author_id"] == ann_id
    )
    assert "s-own" not in {t["sample_id"] for t in api.tasks(ann, count=20)}
    assert "s-own" in {t["sample_id"] for t in api.tasks(bob, count=20)}
    refused = api.client.post(
        "/v1/submissions",
        json=submission_for(
            {
                "sample_id": "s-own",
                "lines": [{"number": 1, "judged": True}, {"number": 2, "judged": True}],
            }
        ),
        headers=ann,
    )
    assert refused.status_code == 409
    assert refused.json()["code"] == "self_annotation"
