"""Hints and help that work where printed: help never needs an extra, a missing extra is one
line naming the extra, the command and how to install it, and printed commands are spelled
so that the user's shell finds them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from crlhf.command_hint import install_command, runnable

REPO_ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("torch", "transformers", "peft", "accelerate", "safetensors", "tqdm", "datasets")


def _without(modules: tuple[str, ...], code: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter in which ``modules`` cannot be imported."""
    blocked = "".join(f"sys.modules[{m!r}] = None\n" for m in modules)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run(
        [sys.executable, "-c", f"import sys\n{blocked}{code}"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("command", ["worker", "train-round", "bench", "generate"])
def test_help_needs_no_extra(command: str) -> None:
    result = _without(HEAVY, f"from crlhf.cli import main\nsys.exit(main([{command!r}, '--help']))")
    assert result.returncode == 0, result.stderr
    assert f"usage: crlhf {command}" in result.stdout


def test_running_without_the_extra_is_one_line_naming_it(tmp_path: Path) -> None:
    argv = ["train-round", "--data", str(tmp_path / "x.jsonl"), "--base-model", "m"]
    argv += ["--out-dir", str(tmp_path)]
    result = _without(HEAVY, f"from crlhf.cli import main\nsys.exit(main({argv!r}))")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("crlhf train-round: needs the 'train' extra (missing module ")
    assert "install -e '.[train]'" in result.stderr  # a checkout: the editable install


@pytest.mark.parametrize(
    ("command", "launcher", "blocked", "extra"),
    [
        ("crlhf-tui", "crlhf_tui.launch", "textual", "tui"),
        ("crlhf-lsp", "crlhf_lsp.launch", "pygls", "lsp"),
    ],
)
def test_a_client_without_its_extra_names_it(
    command: str, launcher: str, blocked: str, extra: str
) -> None:
    result = _without((blocked,), f"from {launcher} import main\nsys.exit(main([]))")
    assert result.returncode == 2
    assert result.stderr == (
        f"{command}: needs the '{extra}' extra (missing module {blocked}); "
        f"install it with: {install_command(extra)}\n"
    )


def test_runnable_is_bare_on_path_else_a_path_that_runs(monkeypatch, tmp_path: Path) -> None:
    bin_dir = Path(sys.executable).parent
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}/usr/bin:/bin")
    assert runnable("crlhf") == "crlhf"
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    monkeypatch.chdir(tmp_path)
    assert runnable("crlhf") == str(bin_dir / "crlhf")  # not below the cwd: absolute
    if bin_dir.is_relative_to(REPO_ROOT):
        monkeypatch.chdir(REPO_ROOT)
        printed = runnable("crlhf")
        assert printed == str(bin_dir.relative_to(REPO_ROOT) / "crlhf")  # .venv/bin/crlhf
        result = subprocess.run(
            f"{printed} --version",
            shell=True,
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0 and result.stdout.startswith("crlhf ")
