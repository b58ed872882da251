"""``--adapter`` takes a peft folder or an adapter version directory; other paths are one-line
errors, as are train-round options that contradict the server's data rule."""

from __future__ import annotations

from pathlib import Path

import pytest

from crlhf.adapter_dirs import peft_directory
from crlhf.cli import main
from crlhf.errors import InvalidInput


def test_a_version_directory_or_its_peft_folder(tmp_path: Path) -> None:
    peft = tmp_path / "v0002" / "adapter"
    peft.mkdir(parents=True)
    (peft / "adapter_config.json").write_text("{}")
    assert peft_directory(tmp_path / "v0002") == peft
    assert peft_directory(peft) == peft
    with pytest.raises(InvalidInput, match="neither a peft adapter folder"):
        peft_directory(tmp_path)
    with pytest.raises(InvalidInput, match="not found"):
        peft_directory(tmp_path / "v0009")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--from-server", "--parent", "adapters/v0001"], "--parent is for --data"),
        (["--from-server", "--register"], "--register records a --data round"),
    ],
)
def test_train_round_refuses_contradicting_options(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    argv = ["train-round", "--base-model", str(tmp_path), "--out-dir", str(tmp_path), *extra]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
