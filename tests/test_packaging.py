"""The installed import names cannot be shadowed, and the wheel lists every package folder."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from crlhf.extras import missing_extra

REPO_ROOT = Path(__file__).resolve().parent.parent
FOLDER_OF_PACKAGE = {"crlhf_server": "server", "crlhf_tui": "client_tui", "crlhf_lsp": "lsp_server"}


def _run_in(folder: Path, *command: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run(
        command, cwd=folder, env=env, capture_output=True, text=True, timeout=120, check=False
    )


@pytest.mark.e2e
def test_a_users_own_modules_do_not_shadow_ours(tmp_path: Path) -> None:
    for name in ("server", "client_tui", "lsp_server"):
        (tmp_path / f"{name}.py").write_text("raise SystemExit('the user module was imported')\n")
    bin_dir = Path(sys.executable).parent

    serve = _run_in(tmp_path, sys.executable, "-m", "crlhf", "serve", "--help")
    tui = _run_in(tmp_path, str(bin_dir / "crlhf-tui"), "--help")
    lsp = _run_in(tmp_path, sys.executable, "-m", "crlhf_lsp", "--help")

    for result in (serve, tui, lsp):
        assert result.returncode == 0, result.stderr
        assert "usage:" in result.stdout
        assert "user module" not in result.stdout + result.stderr


def test_every_package_folder_is_in_the_wheel() -> None:
    config = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert config["package-dir"] == FOLDER_OF_PACKAGE
    listed = set(config["packages"])
    on_disk = set()
    for init in REPO_ROOT.glob("*/**/__init__.py"):
        parts = init.parent.relative_to(REPO_ROOT).parts
        if parts[0] == "crlhf":
            on_disk.add(".".join(parts))
        for package, folder in FOLDER_OF_PACKAGE.items():
            if parts[0] == folder:
                on_disk.add(".".join((package, *parts[1:])))
    assert on_disk <= listed


def test_only_a_missing_optional_module_blames_an_extra() -> None:
    assert missing_extra(ModuleNotFoundError("no textual", name="textual")) == "tui"
    assert missing_extra(ModuleNotFoundError("x", name="torch.cuda")) == "train"
    assert missing_extra(ImportError("cannot import name 'x' from 'server'", name="server")) is None
    assert missing_extra(ImportError("no name")) is None


def test_a_broken_import_is_not_reported_as_a_missing_extra(capsys, monkeypatch) -> None:
    from crlhf import cli

    monkeypatch.setitem(cli.SUBCOMMANDS, "boom", cli.Subcommand("no_such_module_xyz", "test"))
    with pytest.raises(ModuleNotFoundError):
        cli.main(["boom"])
    monkeypatch.setitem(cli.SUBCOMMANDS, "plot", cli.Subcommand("matplotlib.nope", "test"))
    assert cli.main(["plot"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("crlhf plot: needs the 'bench' extra (missing module matplotlib)")
    assert "[bench]'" in err and err.count("\n") == 1
