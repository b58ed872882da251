"""Where a LoRA adapter's peft files are, given what a user passes as ``--adapter``.

A round saves a *version directory* (``adapters/v0002/``: manifest, value head, and the
peft files in its ``adapter/`` subfolder; see :mod:`crlhf.training.adapters`), while peft
loads the folder that holds ``adapter_config.json``. Both are accepted everywhere an
adapter is named, so ``--adapter adapters/v0002`` works as well as its ``adapter/``.
"""

from __future__ import annotations

from pathlib import Path

from crlhf.errors import InvalidInput

PEFT_CONFIG = "adapter_config.json"
VERSION_SUBDIR = "adapter"
"""The peft folder inside a version directory (``crlhf.training.adapters.ADAPTER_DIR``)."""


def peft_directory(adapter: str | Path) -> Path:
    """The folder peft loads for ``adapter`` (a peft folder or a version directory)."""
    path = Path(adapter)
    if not path.is_dir():
        raise InvalidInput(f"adapter directory {str(adapter)!r} not found", field="adapter")
    if (path / PEFT_CONFIG).is_file():
        return path
    if (path / VERSION_SUBDIR / PEFT_CONFIG).is_file():
        return path / VERSION_SUBDIR
    raise InvalidInput(
        f"{str(adapter)!r} is neither a peft adapter folder nor an adapter version "
        f"directory (no {PEFT_CONFIG} in it or in its {VERSION_SUBDIR}/)",
        field="adapter",
    )
