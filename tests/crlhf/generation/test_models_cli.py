"""``crlhf models``: the cache layout and its one-line errors (no download here; the real
fetch runs in ``make pytest`` before tests/crlhf/test_real_model.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from crlhf.cli import main
from crlhf.generation.checkpoints import checkpoint_path, is_complete, resolve_model


def test_list_and_path_say_whether_a_checkpoint_is_fetched(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CRLHF_MODELS_DIR", str(tmp_path))
    assert main(["models", "list"]) == 0
    assert capsys.readouterr().out.startswith(f"smollm2\tnot fetched\t{tmp_path / 'smollm2'}")
    assert main(["models", "path", "smollm2"]) == 1
    assert "run: crlhf models fetch smollm2" in capsys.readouterr().err
    (tmp_path / "smollm2").mkdir()
    (tmp_path / "smollm2" / ".complete").write_text("done\n")
    assert is_complete(checkpoint_path("smollm2"))
    assert main(["models", "path", "smollm2"]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "smollm2")


def test_only_gguf_files_are_converted() -> None:
    assert resolve_model("some/local/dir") == "some/local/dir"
