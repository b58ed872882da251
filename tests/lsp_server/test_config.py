"""Settings: workspace configuration over initializationOptions over env / config file."""

from __future__ import annotations

from pathlib import Path

import pytest
from crlhf_lsp.config import LspSettings, default_tasks_dir

from crlhf.errors import InvalidInput


def test_workspace_settings_override_init_options_key_by_key() -> None:
    init = LspSettings.from_options({"server": "http://a:1", "token": "t-init"})
    workspace = LspSettings.from_options({"token": "t-ws", "server": ""})
    merged = init.overlay(workspace)
    assert merged.server == "http://a:1"  # empty means "not set", not "set to nothing"
    assert merged.token == "t-ws"


def test_env_fills_what_the_editor_left_out(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRLHF_SERVER", "http://from-env:8000/")
    monkeypatch.setenv("CRLHF_TOKEN", "t-env")
    config = LspSettings.from_options({"token": "t-editor"}).client_config()
    assert (config.server, config.token) == ("http://from-env:8000", "t-editor")


def test_nothing_configured_names_every_place_to_look() -> None:
    with pytest.raises(InvalidInput, match="CRLHF_SERVER") as caught:
        LspSettings.from_options(None).client_config()
    assert "CRLHF_TOKEN" in str(caught.value)


def test_wrong_types_are_refused_and_non_objects_ignored() -> None:
    with pytest.raises(InvalidInput, match=r"crlhf\.token must be a string"):
        LspSettings.from_options({"token": 12})
    assert LspSettings.from_options(["server"]) == LspSettings()


def test_tasks_dir_from_options_or_cache_dir(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CRLHF_CACHE_DIR", str(tmp_path))
    assert default_tasks_dir() == tmp_path / "tasks"
    assert LspSettings().resolved_tasks_dir() == tmp_path / "tasks"
    chosen = LspSettings.from_options({"tasksDir": str(tmp_path / "mine")})
    assert chosen.resolved_tasks_dir() == tmp_path / "mine"
