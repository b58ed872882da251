"""Admin recovery on the server's machine: ``crlhf admin reset-token --db`` and the lock
that tells it (and a second server) that a server holds the database."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.conftest import REPO_ROOT, LiveServer


def _reset(db: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRLHF_")}
    return subprocess.run(
        [sys.executable, "-m", "crlhf", "admin", "reset-token", "--db", str(db), *extra],
        cwd=REPO_ROOT,
        env=env,
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.e2e
def test_reset_token_is_refused_beside_a_server_and_recovers_after(
    live_server: LiveServer,
) -> None:
    refused = _reset(live_server.db_path)
    assert refused.returncode == 1
    assert refused.stdout == ""
    [line] = refused.stderr.strip().splitlines()
    assert (
        "held by a running crlhf server" in line
        and "reset a token" in line
        and "Traceback" not in refused.stderr
    )

    live_server.stop()
    reset = _reset(live_server.db_path)
    assert reset.returncode == 0, reset.stderr
    token = reset.stdout.strip().splitlines()[-1].strip()
    assert "admin 'admin'" in reset.stdout

    live_server.start()
    me = httpx.get(f"{live_server.url}/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.json()["role"] == "admin"
    old = {"Authorization": f"Bearer {live_server.admin_token}"}
    assert httpx.get(f"{live_server.url}/v1/me", headers=old).status_code == 401


def test_reset_token_names_a_missing_file_or_admin(tmp_path: Path) -> None:
    missing = _reset(tmp_path / "nope.db")
    assert missing.returncode == 1 and "does not exist" in missing.stderr
