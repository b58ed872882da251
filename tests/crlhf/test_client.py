"""The HTTP client: requests it sends, answers it parses, errors it raises."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from uuid import uuid4

import httpx
import pytest

from crlhf.client import CrlhfClient
from crlhf.errors import (
    AuthenticationFailed,
    CrlhfError,
    InvalidInput,
    InvalidVote,
    NotServed,
    SampleNotFound,
    ServerUnreachable,
)
from crlhf.schemas import Label, LineLabel, Role, Submission

BASE = "http://crlhf.test"
NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC).isoformat()


def task_json(sample_id: str = "s-1") -> dict[str, object]:
    return {
        "sample_id": sample_id,
        "problem": {"id": "p-1", "title": "Add", "description": "Add two numbers."},
        "lines": [
            {"number": 1, "text": "def add(a, b):", "judged": True},
            {"number": 2, "text": "", "judged": False},
            {"number": 3, "text": "    return a - b", "judged": True},
        ],
        "served_at": NOW,
    }


def make_submission(sample_id: str = "s-1") -> Submission:
    return Submission(
        submission_id=uuid4(),
        sample_id=sample_id,
        labels=[LineLabel(line=1, label=Label.CORRECT), LineLabel(line=3, label=Label.WRONG)],
    )


def client_for(handler) -> CrlhfClient:
    return CrlhfClient(BASE, "tok-123", transport=httpx.MockTransport(handler))


def error_body(code: str, message: str, field: str | None = None) -> dict[str, object]:
    details = [{"field": field, "message": message}] if field else []
    return {"code": code, "message": message, "details": details}


async def test_sends_bearer_token_and_parses_tasks():
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=[task_json("s-1"), task_json("s-2")])

    async with client_for(handler) as client:
        tasks = await client.next_tasks(2)
    assert [t.sample_id for t in tasks] == ["s-1", "s-2"]
    assert tasks[0].judged_numbers == [1, 3]
    assert seen[0].headers["authorization"] == "Bearer tok-123"
    assert seen[0].url.path == "/v1/tasks/next"
    assert seen[0].url.params["count"] == "2"


async def test_submit_posts_the_submission_and_returns_the_receipt():
    submission = make_submission()
    bodies: list[dict[str, object]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        receipt = {
            "submission_id": str(submission.submission_id),
            "sample_id": "s-1",
            "revision": 1,
            "replayed": False,
        }
        return httpx.Response(201, json=receipt)

    async with client_for(handler) as client:
        receipt = await client.submit(submission)
    assert receipt.submission_id == submission.submission_id
    assert bodies[0]["labels"] == [{"line": 1, "label": 1}, {"line": 3, "label": -1}]
    assert Submission.model_validate(bodies[0]) == submission


@pytest.mark.parametrize(
    ("status", "code", "field", "expected"),
    [
        (404, "sample_not_found", "sample_id", SampleNotFound),
        (409, "sample_not_served", "sample_id", NotServed),
        (422, "invalid_vote", "labels", InvalidVote),
        (401, "authentication_failed", None, AuthenticationFailed),
        (418, "some_future_code", None, CrlhfError),
    ],
)
async def test_error_bodies_raise_the_matching_class(status, code, field, expected):
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json=error_body(code, "the server's words", field))

    async with client_for(handler) as client:
        with pytest.raises(expected) as info:
            await client.submit(make_submission())
    assert type(info.value) is expected
    assert info.value.message == "the server's words"
    assert info.value.field == field


async def test_error_reads_like_the_server_message_without_the_field_twice():
    body = {
        "code": "sample_not_found",
        "message": "sample_id: no sample 'nope'",
        "details": [{"field": "sample_id", "message": "no sample 'nope'"}],
    }

    async with client_for(lambda request: httpx.Response(404, json=body)) as client:
        with pytest.raises(SampleNotFound) as info:
            await client.consensus("nope")
    assert info.value.field == "sample_id"
    assert info.value.message == "no sample 'nope'"
    assert str(info.value) == "sample_id: no sample 'nope'"


async def test_validation_errors_keep_the_first_field_and_the_whole_message():
    body = {
        "code": "invalid_input",
        "message": "invalid request: submissions[2].labels[0].label: must be 1 or -1; "
        "submissions[4].duration_ms: must be >= 0",
        "details": [
            {"field": "submissions[2].labels[0].label", "message": "must be 1 or -1"},
            {"field": "submissions[4].duration_ms", "message": "must be >= 0"},
        ],
    }

    async with client_for(lambda request: httpx.Response(422, json=body)) as client:
        with pytest.raises(InvalidInput) as info:
            await client.submit_batch([make_submission()])
    assert info.value.field == "submissions[2].labels[0].label"
    assert "submissions[4].duration_ms: must be >= 0" in info.value.message


async def test_non_crlhf_error_body_names_status_and_path():
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, text="<html>nginx</html>")

    async with client_for(handler) as client:
        with pytest.raises(CrlhfError) as info:
            await client.stats()
    assert type(info.value) is CrlhfError
    assert "404" in str(info.value) and "/v1/me/stats" in str(info.value)


@pytest.mark.parametrize(
    "failure",
    [
        httpx.ConnectError("connection refused"),
        httpx.ReadTimeout("timed out"),
        httpx.RemoteProtocolError("server disconnected"),
    ],
)
async def test_network_failures_raise_server_unreachable(failure):
    def handler(request: httpx.Request) -> httpx.Response:
        raise failure

    async with client_for(handler) as client:
        with pytest.raises(ServerUnreachable) as info:
            await client.next_tasks()
    assert BASE in str(info.value)


@pytest.mark.parametrize("status", [502, 503, 504])
async def test_gateway_statuses_raise_server_unreachable(status):
    async with client_for(lambda request: httpx.Response(status, text="bad gateway")) as client:
        with pytest.raises(ServerUnreachable, match=str(status)):
            await client.health()


async def test_unreachable_real_port_raises_server_unreachable(unused_tcp_port):
    async with CrlhfClient(f"http://127.0.0.1:{unused_tcp_port}", "t", timeout=2) as client:
        with pytest.raises(ServerUnreachable, match="cannot reach"):
            await client.health()


async def test_an_answer_of_the_wrong_shape_is_a_clear_error():
    async with client_for(lambda request: httpx.Response(200, json={"nope": 1})) as client:
        with pytest.raises(CrlhfError, match="unexpected answer to GET /v1/me"):
            await client.me()


def test_bad_base_url_is_invalid_input():
    with pytest.raises(InvalidInput, match="server URL"):
        CrlhfClient("localhost:8000", "t")


async def test_ids_are_quoted_as_one_path_segment():
    paths: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        paths.append(request.url.raw_path.decode())
        return httpx.Response(200, json=[])

    async with client_for(handler) as client:
        await client.consensus("humaneval/12 #3")
    assert paths == ["/v1/samples/humaneval%2F12%20%233/consensus"]


async def test_admin_create_annotator_and_filters_drop_none():
    requests: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        if request.method == "POST":
            annotator = {
                "id": 7,
                "name": "ada",
                "role": "admin",
                "active": True,
                "reliability": 0.7,
            }
            return httpx.Response(201, json={"annotator": annotator, "token": "secret"})
        return httpx.Response(200, json=[])

    async with client_for(handler) as client:
        created = await client.create_annotator("ada", Role.ADMIN)
        await client.list_samples(problem_id="p-1", honeypot=False)
    assert created.token == "secret" and created.annotator.role is Role.ADMIN
    assert json.loads(requests[0].content) == {"name": "ada", "role": "admin"}
    assert dict(requests[1].url.params) == {"problem_id": "p-1", "honeypot": "false"}


async def test_export_parses_jsonl_lines():
    row = {
        "sample_id": "s-1",
        "problem_id": "p-1",
        "problem_title": "Add",
        "prompt": "Add two numbers.",
        "code": "def add(a, b):\n    return a + b\n",
        "reward": 1.0,
        "correct_lines": 2,
        "judged_lines": 2,
        "n_votes": 4,
        "n_annotators": 2,
        "meta": {"model": "tiny"},
    }
    text = json.dumps(row) + "\n\n" + json.dumps({**row, "sample_id": "s-2"}) + "\n"

    async with client_for(lambda request: httpx.Response(200, text=text)) as client:
        rows = await client.export(min_votes=2)
    assert [r.sample_id for r in rows] == ["s-1", "s-2"]
    assert rows[0].meta.model == "tiny"


async def test_skip_posts_to_the_quoted_task_path_and_raises_not_served():
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if len(seen) == 1:
            return httpx.Response(204)
        return httpx.Response(409, json=error_body("sample_not_served", "not open", "sample_id"))

    async with client_for(handler) as client:
        assert await client.skip("round-1/s 7") is None
        with pytest.raises(NotServed):
            await client.skip("s-1")
    assert seen[0].method == "POST"
    assert seen[0].url.raw_path == b"/v1/tasks/round-1%2Fs%207/skip"


def test_the_error_modules_docstring_draws_the_current_tree() -> None:
    import crlhf.errors

    assert crlhf.errors.exception_tree() in (crlhf.errors.__doc__ or ""), (
        "crlhf/errors.py's docstring is out of date: paste crlhf.errors.exception_tree()"
    )
