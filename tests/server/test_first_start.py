"""First start: seed once, create the admin once, honour CRLHF_ADMIN_TOKEN."""

from __future__ import annotations

from pathlib import Path

import pytest
from crlhf_server import migrations
from crlhf_server.auth import hash_token
from crlhf_server.db import Store
from crlhf_server.seed import SEED_DIR, first_start
from crlhf_server.settings import Settings, default_db_path

from crlhf.engine.config import EngineConfig
from crlhf.errors import InvalidInput
from tests.server.conftest import FIXTURES


def _store(tmp_path: Path) -> Store:
    store = Store(tmp_path / "crlhf.db")
    migrations.apply(store)
    return store


def test_first_start_seeds_and_creates_the_admin_once(tmp_path: Path) -> None:
    store = _store(tmp_path)
    started = first_start(store, EngineConfig(), seed=True, admin_token=None, seed_dir=FIXTURES)
    assert started is not None and started.problems is not None and started.samples is not None
    assert (started.problems.created, started.samples.created) == (2, 6)
    conn = store.read()
    row = conn.execute("SELECT role, token_hash FROM annotators").fetchone()
    assert row["role"] == "admin" and row["token_hash"] == hash_token(started.admin_token)
    assert conn.execute("SELECT COUNT(*) FROM samples WHERE is_honeypot = 1").fetchone()[0] == 3
    again = first_start(store, EngineConfig(), seed=True, admin_token=None, seed_dir=FIXTURES)
    assert again is None
    assert conn.execute("SELECT COUNT(*) FROM samples").fetchone()[0] == 6
    store.close()


def test_admin_token_from_settings_and_seed_off(tmp_path: Path) -> None:
    store = _store(tmp_path)
    started = first_start(store, EngineConfig(), seed=False, admin_token="fixed-token-123")
    assert started is not None and started.admin_token == "fixed-token-123"
    assert store.read().execute("SELECT COUNT(*) FROM samples").fetchone()[0] == 0
    store.close()


def test_a_broken_seed_file_names_the_line_and_leaves_the_db_empty(tmp_path: Path) -> None:
    seed_dir = tmp_path / "seed"
    seed_dir.mkdir()
    (seed_dir / "problems.jsonl").write_text((FIXTURES / "problems.jsonl").read_text())
    (seed_dir / "samples.jsonl").write_text('{"problem_id": "p-clamp"}\n')
    store = _store(tmp_path)
    with pytest.raises(InvalidInput, match=r"samples.jsonl:1"):
        first_start(store, EngineConfig(), seed=True, admin_token=None, seed_dir=seed_dir)
    assert store.read().execute("SELECT COUNT(*) FROM problems").fetchone()[0] == 0
    store.close()


@pytest.mark.skipif(
    not (SEED_DIR / "samples.jsonl").exists(), reason="the bundled starter set is not there yet"
)
def test_the_bundled_starter_set_loads(tmp_path: Path) -> None:
    store = _store(tmp_path)
    started = first_start(store, EngineConfig(), seed=True, admin_token=None)
    assert started is not None and started.samples is not None and started.problems is not None
    assert started.problems.created >= 20
    honeypots = store.read().execute("SELECT COUNT(*) FROM samples WHERE is_honeypot = 1")
    assert honeypots.fetchone()[0] >= 20
    store.close()


def test_default_db_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("CRLHF_DB", raising=False)
    monkeypatch.setenv("CRLHF_DATA_DIR", str(tmp_path / "data"))
    assert Settings().db == default_db_path() == tmp_path / "data" / "crlhf.db"
    monkeypatch.delenv("CRLHF_DATA_DIR")
    assert default_db_path().name == "crlhf.db" and default_db_path().parent.name == "crlhf"
    monkeypatch.setenv("CRLHF_DB", str(tmp_path / "env.db"))
    assert Settings().db == tmp_path / "env.db"
