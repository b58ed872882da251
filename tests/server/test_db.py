"""The store: pragmas, migrations, and the one write path under concurrency."""

from __future__ import annotations

import math
import sqlite3
import threading
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from crlhf_server import migrations
from crlhf_server.db import Store

from tests.server.conftest import Api, submission_for


def test_pragmas_and_migrations(tmp_path: Path) -> None:
    store = Store(tmp_path / "x.db")
    # later migrations (m004... from other work) may follow: check the known prefix
    assert migrations.apply(store)[:3] == [
        "m001_initial",
        "m002_shown_state",
        "m003_skips_and_benchmarks",
    ]
    assert migrations.apply(store) == []
    conn = store.read()
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"annotators", "samples", "submissions", "votes", "reliability_history"} <= tables
    with pytest.raises(sqlite3.IntegrityError), store.write() as writer:
        writer.execute(
            "INSERT INTO assignments (annotator_id, sample_id, served_at) VALUES (1, 'x', 'now')"
        )
    store.close()


def test_a_failed_write_rolls_back_everything(tmp_path: Path) -> None:
    store = Store(tmp_path / "x.db")
    migrations.apply(store)
    with pytest.raises(RuntimeError), store.write() as conn:
        conn.execute(
            "INSERT INTO problems (id, title, description, created_at) VALUES ('p', 't', 'd', 'n')"
        )
        raise RuntimeError("boom")
    assert store.read().execute("SELECT COUNT(*) FROM problems").fetchone()[0] == 0
    store.close()


def test_concurrent_writers_never_hit_database_is_locked(tmp_path: Path) -> None:
    store = Store(tmp_path / "x.db")
    migrations.apply(store)
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            for i in range(50):
                with store.write() as conn:
                    conn.execute(
                        "INSERT INTO problems (id, title, description, created_at) "
                        "VALUES (?, 't', 'd', 'n')",
                        (f"p-{worker}-{i}",),
                    )
                store.read().execute("SELECT COUNT(*) FROM problems").fetchone()
        except BaseException as exc:  # collected and re-raised in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert store.read().execute("SELECT COUNT(*) FROM problems").fetchone()[0] == 400
    store.close()


def test_parallel_requests_all_land(make_api: Callable[..., Api]) -> None:
    api = make_api(warmup_honeypots=0, honeypot_rate=0.0, max_annotators_per_sample=6)
    people = [api.annotator(f"a{i}") for i in range(6)]
    failures: list[str] = []

    def annotate(headers: dict[str, str]) -> None:
        for task in api.tasks(headers, count=6):
            response = api.client.post(
                "/v1/submissions",
                json=submission_for(task, submission_id=str(uuid.uuid4())),
                headers=headers,
            )
            if response.status_code != 201:
                failures.append(response.text)

    threads = [threading.Thread(target=annotate, args=(h,)) for h in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert api.count("SELECT COUNT(*) FROM submissions") == 36


def test_an_unexpected_failure_is_a_logged_500_with_an_error_body(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    from crlhf_server import annotators
    from fastapi.testclient import TestClient

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(annotators, "stats", broken)
    client = TestClient(api.client.app, raise_server_exceptions=False)
    response = client.get("/v1/me/stats", headers=api.admin)
    assert response.status_code == 500
    assert response.json() == {
        "code": "internal_error",
        "message": "internal server error (logged)",
        "details": [],
    }


def store_before(tmp_path: Path, migration: str) -> Store:
    """A database migrated up to, not including, ``migration``: rows written to it are
    what that migration finds on an existing server."""
    store = Store(tmp_path / "x.db")
    with store.write_lock():
        migrations.migrations.apply(store.utils(), stop_before=migration)
    return store


def test_m002_gives_existing_annotators_their_state_as_shown_state(tmp_path: Path) -> None:
    store = store_before(tmp_path, "m002_shown_state")
    with store.write() as conn:
        conn.execute(
            "INSERT INTO annotators (name, role, token_hash, state, reliability, "
            "shown_reliability, created_at) VALUES ('old', 'annotator', 'h', '{\"a\": 1}', "
            "0.7, 0.7, 'now')"
        )
    assert migrations.apply(store)[0] == "m002_shown_state"
    row = store.read().execute("SELECT state, shown_state FROM annotators").fetchone()
    assert row["shown_state"] == row["state"] == '{"a": 1}'
    store.close()


def test_m018_fills_in_the_confidence_of_existing_samples(tmp_path: Path) -> None:
    store = store_before(tmp_path, "m018_sample_confidence")
    with store.write() as conn:
        conn.execute(
            "INSERT INTO problems (id, title, description, created_at) "
            "VALUES ('p', 'P', 'd', 'now')"
        )
        for sample_id, posteriors in (("voted", '{"1": 0.97, "2": 0.2}'), ("fresh", "{}")):
            conn.execute(
                "INSERT INTO samples (id, problem_id, code, meta, judged_lines, is_honeypot, "
                "posteriors, judged_count, uncertainty, created_at) "
                "VALUES (?, 'p', 'a\nb\n', '{}', '[1, 2]', 0, ?, 2, 9.9, 'now')",
                (sample_id, posteriors),
            )
    assert migrations.apply(store) == ["m018_sample_confidence"]
    rows = {
        r[0]: (r[1], r[2])
        for r in store.read().execute("SELECT id, confidence, uncertainty FROM samples")
    }
    # the old summed entropy (9.9 here) becomes the sd of the reward
    sd = math.sqrt(0.97 * 0.03 + 0.2 * 0.8) / 2
    assert rows == {
        "voted": (pytest.approx((0.97 + 0.8) / 2), pytest.approx(sd)),
        "fresh": (0.5, pytest.approx(math.sqrt(0.5) / 2)),
    }
    store.close()
