"""Fixtures for server tests: an app on a temp database, seeded from a small fixture set."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator, Set
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from crlhf_server.app import create_app, engine_config, open_store
from crlhf_server.deps import Context
from crlhf_server.seed import first_start
from crlhf_server.settings import Settings
from fastapi.testclient import TestClient

FIXTURES = Path(__file__).parent / "fixtures"
ADMIN_TOKEN = "test-admin-token-0123456789"
HONEYPOTS = {"s-p-clamp-1", "s-p-chunks-0", "s-p-chunks-2"}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class Api:
    """A TestClient with the admin's headers and helpers to make annotators and votes."""

    client: TestClient
    context: Context
    admin: dict[str, str]

    def annotator(self, name: str) -> dict[str, str]:
        response = self.client.post("/v1/admin/annotators", json={"name": name}, headers=self.admin)
        assert response.status_code == 201, response.text
        return bearer(response.json()["token"])

    def tasks(self, headers: dict[str, str], count: int = 1) -> list[dict[str, Any]]:
        response = self.client.get(f"/v1/tasks/next?count={count}", headers=headers)
        assert response.status_code == 200, response.text
        tasks: list[dict[str, Any]] = response.json()
        return tasks

    def sample_lines(self, sample_id: str) -> list[int]:
        response = self.client.get(f"/v1/admin/samples/{sample_id}", headers=self.admin)
        assert response.status_code == 200, response.text
        return [line["number"] for line in response.json()["lines"] if line["judged"]]

    def count(self, sql: str, *params: object) -> int:
        value = self.context.store.read().execute(sql, params).fetchone()[0]
        return int(value)


def submission_for(
    task: dict[str, Any], wrong: Set[int] = frozenset(), submission_id: str | None = None
) -> dict[str, Any]:
    """A full submission of a served task: every judged line, ``wrong`` ones labelled -1."""
    return {
        "submission_id": submission_id or str(uuid.uuid4()),
        "sample_id": task["sample_id"],
        "labels": [
            {"line": line["number"], "label": -1 if line["number"] in wrong else 1}
            for line in task["lines"]
            if line["judged"]
        ],
    }


def build_api(tmp_path: Path, **overrides: Any) -> tuple[Api, TestClient]:
    # Tests submit faster than any sensible spacing of quality-policy runs.
    overrides.setdefault("policy_min_interval_s", 0.0)
    # Most tests want the warm-up honeypots first (W = q) to know what is served when;
    # the tests of the spread-out window (tests/server/test_probes.py) set their own.
    overrides.setdefault("warmup_window", max(1, overrides.get("warmup_honeypots", 5)))
    # The fixture's honeypots are close variants of ordinary samples (s-p-clamp-0/1,
    # s-p-chunks-0/1); tests that count on every sample being served turn separation off.
    overrides.setdefault("honeypot_variant_lines", 0)
    settings = Settings(db=tmp_path / "crlhf.db", **overrides)
    store = open_store(settings)
    engine = engine_config(settings)
    first_start(store, engine, seed=True, admin_token=ADMIN_TOKEN, seed_dir=FIXTURES)
    context = Context(settings=settings, store=store, engine=engine, rng=random.Random(0))
    client = TestClient(create_app(settings, context))
    return Api(client=client, context=context, admin=bearer(ADMIN_TOKEN)), client


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    """Default routing: no warm-up, no steady honeypots (tests that need them set them)."""
    built, client = build_api(tmp_path, warmup_honeypots=0, honeypot_rate=0.0)
    with client:
        yield built


@pytest.fixture
def make_api(tmp_path: Path) -> Iterator[Any]:
    clients: list[TestClient] = []

    def make(**overrides: Any) -> Api:
        built, client = build_api(tmp_path, **overrides)
        client.__enter__()
        clients.append(client)
        return built

    yield make
    for client in clients:
        client.__exit__(None, None, None)


def body_shape(value: Any) -> Any:
    """The structure of a body with values erased (keys and types only)."""
    if isinstance(value, dict):
        return {k: body_shape(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        return [body_shape(value[0])] if value else []
    return type(value).__name__
