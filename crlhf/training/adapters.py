"""Adapter versions on disk: what a round produces and the next round (or sampler) loads.

A version is one directory::

    <root>/<version>/
        adapter/                 peft ``save_pretrained``: adapter_config.json,
                                 adapter_model.safetensors (the LoRA matrices)
        value_head.safetensors   the value head's weight and bias
        manifest.json            :class:`AdapterManifest`: base model, parent version,
                                 PPO config, adapted modules, seeds, data summary
                                 and metrics

Everything is safetensors or JSON (no pickles, so a version loads in any process and
cannot run code), written to a temporary directory and renamed into place, so a killed
round never leaves a half-written version behind.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from safetensors.torch import load_file, save_file

from crlhf.errors import AdapterNotFound, Conflict, InvalidFile
from crlhf.training.config import PPOConfig
from crlhf.training.policy import PolicyWithValue

logger = logging.getLogger(__name__)

ADAPTER_DIR = "adapter"
VALUE_HEAD_FILE = "value_head.safetensors"
MANIFEST_FILE = "manifest.json"

Metric = float | int | str | bool | None
VERSION_PATTERN = re.compile(r"^v(\d+)$")


def next_version(root: Path) -> str:
    """``v0001`` for an empty root, else one past the highest ``vNNNN`` there."""
    numbers = [
        int(match.group(1))
        for child in (root.iterdir() if root.is_dir() else [])
        if (match := VERSION_PATTERN.match(child.name))
    ]
    return f"v{max(numbers, default=0) + 1:04d}"


class AdapterManifest(BaseModel):
    """What a version is and how it was made: enough to rerun the round."""

    model_config = ConfigDict(extra="forbid")

    version: str
    base_model: str
    parent_version: str | None = None
    round_id: int | None = None
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    config: PPOConfig
    adapted_modules: list[str] = Field(default_factory=list)
    """Modules that carry the LoRA matrices (last name parts), as resolved for this base:
    peft's defaults, all-linear where peft has none, or ``lora_target_modules``."""
    data: dict[str, Metric] = Field(default_factory=dict)
    """Data set summary: samples, tokens, sample-id digest, generation settings seen."""
    metrics: dict[str, Metric] = Field(default_factory=dict)
    versions: dict[str, str] = Field(default_factory=dict)
    """Library versions (crlhf, torch, transformers, peft) that produced it."""


def library_versions() -> dict[str, str]:
    import peft
    import transformers

    from crlhf import __version__

    return {
        "crlhf": __version__,
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "peft": peft.__version__,
    }


def save_version(policy: PolicyWithValue, root: Path, manifest: AdapterManifest) -> Path:
    """Write ``policy``'s adapter and value head as version ``manifest.version`` under ``root``.

    Raises :class:`Conflict` if that version exists: versions are immutable.
    """
    target = root / manifest.version
    if target.exists():
        raise Conflict(f"adapter version {manifest.version!r} already exists in {root}")
    root.mkdir(parents=True, exist_ok=True)
    staging = root / f".{manifest.version}.partial"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        policy.model.save_pretrained(str(staging / ADAPTER_DIR))
        head = policy.value_head
        save_file(
            {
                "weight": head.weight.detach().cpu().contiguous(),
                "bias": head.bias.detach().cpu().contiguous(),
            },
            str(staging / VALUE_HEAD_FILE),
        )
        (staging / MANIFEST_FILE).write_text(manifest.model_dump_json(indent=2) + "\n")
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    logger.info("saved adapter version %s to %s", manifest.version, target)
    return target


def read_manifest(directory: Path) -> AdapterManifest:
    path = directory / MANIFEST_FILE
    if not path.is_file():
        raise AdapterNotFound(f"{directory} is not an adapter version (no {MANIFEST_FILE})")
    try:
        return AdapterManifest.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (json.JSONDecodeError, ValidationError) as exc:
        raise InvalidFile(f"{path}: not a valid adapter manifest: {exc}") from exc


def load_version(base: Any, directory: Path) -> PolicyWithValue:
    """The policy of the version in ``directory`` on top of the freshly loaded ``base``.

    The adapter is loaded trainable, so a round can continue from it.
    """
    from peft import PeftModel

    read_manifest(directory)
    for needed in (directory / ADAPTER_DIR, directory / VALUE_HEAD_FILE):
        if not needed.exists():
            raise AdapterNotFound(f"adapter version {directory} lacks {needed.name}")
    model = PeftModel.from_pretrained(base, str(directory / ADAPTER_DIR), is_trainable=True)
    tensors = load_file(str(directory / VALUE_HEAD_FILE))
    weight = tensors["weight"]
    head = torch.nn.Linear(weight.shape[1], 1)
    with torch.no_grad():
        head.weight.copy_(weight)
        head.bias.copy_(tensors["bias"])
    return PolicyWithValue(model, head.to(base.device))
