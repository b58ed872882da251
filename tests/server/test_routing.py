"""Task routing: warm-up honeypots, steady honeypots, uncertainty first, cap, no repeats."""

from __future__ import annotations

import math

import pytest
from crlhf_server.task_routing import expected_accuracy, reward_sd, sample_uncertainty

from tests.server.conftest import HONEYPOTS, Api, submission_for


def test_first_q_tasks_are_honeypots(make_api: object) -> None:
    api = make_api(warmup_honeypots=2, honeypot_rate=0.0)  # type: ignore[operator]
    alice = api.annotator("alice")
    tasks = api.tasks(alice, count=6)
    ids = [t["sample_id"] for t in tasks]
    assert set(ids[:2]) <= HONEYPOTS
    assert not set(ids[2:5]) & HONEYPOTS  # the 3 ordinary samples come before the last honeypot
    assert ids[5] in HONEYPOTS
    assert len(set(ids)) == 6


def test_steady_rate_one_serves_honeypots_first(make_api: object) -> None:
    api = make_api(warmup_honeypots=0, honeypot_rate=1.0)  # type: ignore[operator]
    ids = [t["sample_id"] for t in api.tasks(api.annotator("alice"), count=3)]
    assert set(ids) == HONEYPOTS


def test_uncertain_samples_first_and_each_sample_once(api: Api) -> None:
    alice, bob = api.annotator("alice"), api.annotator("bob")
    # all ordinary samples are unvoted (every line at 1/2): the sd of s is 1 / (2 sqrt(k)),
    # so the shortest (least certain reward) goes first
    first = api.tasks(alice, count=3)
    lengths = [sum(line["judged"] for line in t["lines"]) for t in first]
    assert lengths == sorted(lengths) and lengths[0] < lengths[-1]
    for task in first:
        api.client.post("/v1/submissions", json=submission_for(task), headers=alice)
    # alice's votes made her samples more certain; bob starts with unvoted ones (none left
    # among ordinary samples, so he gets alice's, most uncertain first), then honeypots.
    bob_ids = [t["sample_id"] for t in api.tasks(bob, count=6)]
    assert len(set(bob_ids)) == 6
    assert set(bob_ids[3:]) == HONEYPOTS
    # nothing is served to alice twice: only the 3 honeypots are left for her
    rest = [t["sample_id"] for t in api.tasks(alice, count=20)]
    assert set(rest) == HONEYPOTS
    assert api.tasks(alice, count=5) == api.tasks(alice, count=5)  # pending are re-served


def test_unsubmitted_tasks_come_back_first(api: Api) -> None:
    alice = api.annotator("alice")
    [first] = api.tasks(alice)
    [again] = api.tasks(alice)
    assert again == first
    api.client.post("/v1/submissions", json=submission_for(first), headers=alice)
    [nxt] = api.tasks(alice)
    assert nxt["sample_id"] != first["sample_id"]


def test_cap_on_annotators_per_sample(make_api: object) -> None:
    api = make_api(warmup_honeypots=0, honeypot_rate=0.0, max_annotators_per_sample=1)  # type: ignore[operator]
    a, b = api.annotator("a"), api.annotator("b")
    got_a = {t["sample_id"] for t in api.tasks(a, count=3)}
    got_b = {t["sample_id"] for t in api.tasks(b, count=3)}
    assert not got_a & got_b - HONEYPOTS
    assert got_b == HONEYPOTS  # the ordinary samples are all at their cap


def test_count_is_validated(api: Api) -> None:
    alice = api.annotator("alice")
    for count in (0, 21, "x"):
        response = api.client.get(f"/v1/tasks/next?count={count}", headers=alice)
        assert response.status_code == 422
        assert response.json()["details"][0]["field"] == "count"


def test_ranking_is_the_reward_sd_so_long_samples_do_not_come_first() -> None:
    long_mostly_settled = [0.99] * 19 + [0.6]
    short_unsure = [0.6, 0.9]
    assert sample_uncertainty(short_unsure) > sample_uncertainty(long_mostly_settled)
    # sd of s = sqrt(sum p(1 - p)) / k
    assert abs(reward_sd([0.5, 0.9]) - math.sqrt(0.25 + 0.09) / 2) < 1e-12
    assert sample_uncertainty([0.5] * 4) == reward_sd([0.5] * 4) == 0.25
    assert reward_sd([]) == 0.0 and reward_sd([1.0, 0.0]) == 0.0


def test_expected_accuracy_is_the_mean_line_confidence() -> None:
    assert abs(expected_accuracy([0.99, 0.02, 0.7]) - (0.99 + 0.98 + 0.7) / 3) < 1e-12
    assert expected_accuracy([0.1]) == 0.9
    assert expected_accuracy([]) == 0.5


def _judge_one(api: Api, alice: dict[str, str]) -> str:
    [task] = api.tasks(alice)
    response = api.client.post("/v1/submissions", json=submission_for(task), headers=alice)
    assert response.status_code == 201, response.text
    return str(task["sample_id"])


def test_a_settled_sample_is_served_to_nobody_more(make_api: object) -> None:
    # one vote at ν = 0.7 puts every line at 0.7: expected accuracy 0.7 >= 0.65, settled
    api = make_api(  # type: ignore[operator]
        warmup_honeypots=0, honeypot_rate=0.0, settled_min_annotators=1, settled_accuracy=0.65
    )
    alice, bob = api.annotator("alice"), api.annotator("bob")
    judged = _judge_one(api, alice)
    assert api.count("SELECT confidence BETWEEN 0.69 AND 0.71 FROM samples WHERE id = ?", judged)
    left = api.client.get("/v1/me/stats", headers=bob).json()["tasks_left"]
    served = {t["sample_id"] for t in api.tasks(bob, count=20)}
    assert judged not in served
    assert left == len(served)  # tasks left does not count the settled sample either


@pytest.mark.parametrize(
    ("min_annotators", "accuracy"),
    [
        (1, 0.95),  # unsure: the same vote, but 0.7 is short of 0.95
        (2, 0.65),  # confident, but judged by too few people
    ],
)
def test_a_sample_short_of_settled_is_still_served(
    make_api: object, min_annotators: int, accuracy: float
) -> None:
    api = make_api(  # type: ignore[operator]
        warmup_honeypots=0,
        honeypot_rate=0.0,
        settled_min_annotators=min_annotators,
        settled_accuracy=accuracy,
    )
    alice, bob = api.annotator("alice"), api.annotator("bob")
    judged = _judge_one(api, alice)
    assert judged in {t["sample_id"] for t in api.tasks(bob, count=20)}
