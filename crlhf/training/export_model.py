"""Shipping a round: an adapter version as a checkpoint other tools load.

Two forms (docs/training.md, "Shipping a round"):

- **merged** (``--merge``): the LoRA matrices folded into the base weights
  (peft's ``merge_and_unload``) and saved as a safetensors checkpoint with the tokenizer
  beside it, loadable by ``AutoModelForCausalLM.from_pretrained`` and by any server that
  takes a Hugging Face checkpoint;
- **adapter**: the peft files alone, their ``base_model_name_or_path`` naming the base
  the round trained on, with the tokenizer (peft, or vLLM's ``--lora-modules``).

Both are written to a staging folder beside ``out`` and renamed into place, so a failed
export leaves nothing; an ``out`` that exists is refused, never overwritten.
"""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

from crlhf.errors import Conflict, InvalidInput
from crlhf.training.adapters import ADAPTER_DIR, AdapterManifest, read_manifest

logger = logging.getLogger(__name__)

EXPORT_FILE = "crlhf_export.json"
"""What the export is and where it came from: version, base model, round, merged or not."""


@dataclass(frozen=True)
class ExportRequest:
    version_dir: Path
    out: Path
    merge: bool = False
    base_model: str | None = None
    """The base to merge onto; must be the one the version was trained on (None: that one)."""


def _same_base(given: str, trained_on: str) -> bool:
    if given == trained_on:
        return True
    return Path(given).exists() and Path(given).resolve() == Path(trained_on).resolve()


def check(request: ExportRequest) -> AdapterManifest:
    """Every refusal before anything is loaded or written."""
    if request.out.exists():
        raise Conflict(f"{request.out} exists; choose a new --out directory", field="out")
    manifest = read_manifest(request.version_dir)
    if request.base_model is not None and not _same_base(request.base_model, manifest.base_model):
        raise InvalidInput(
            f"adapter {manifest.version} was trained on {manifest.base_model!r}, not "
            f"{request.base_model!r}; a LoRA adapter merged onto another base is meaningless",
            field="base_model",
        )
    return manifest


def export_model(request: ExportRequest) -> Path:
    """Write the export of ``request.version_dir`` to ``request.out``; return ``out``."""
    manifest = check(request)
    base = request.base_model or manifest.base_model
    out = request.out
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = out.parent / f".{out.name}.partial"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        if request.merge:
            _write_merged(request.version_dir, base, staging)
        else:
            _write_adapter(request.version_dir, base, staging)
        info = {
            "version": manifest.version,
            "base_model": base,
            "round_id": manifest.round_id,
            "parent_version": manifest.parent_version,
            "merged": request.merge,
        }
        (staging / EXPORT_FILE).write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
        staging.rename(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    logger.info(
        "exported %s (%s) to %s", manifest.version, "merged" if request.merge else "adapter", out
    )
    return out


def _tokenizer(base: str) -> object:
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(base)
    except OSError as exc:
        raise InvalidInput(f"cannot load base model {base!r}: {exc}", field="base_model") from exc


def _write_merged(version_dir: Path, base: str, staging: Path) -> None:
    import torch
    from peft import PeftModel

    from crlhf.training.policy import load_base

    model, tokenizer = load_base(base, torch.device("cpu"))
    merged = PeftModel.from_pretrained(model, str(version_dir / ADAPTER_DIR)).merge_and_unload()
    merged.save_pretrained(str(staging), safe_serialization=True)
    tokenizer.save_pretrained(str(staging))


def _write_adapter(version_dir: Path, base: str, staging: Path) -> None:
    shutil.copytree(version_dir / ADAPTER_DIR, staging)
    config_path = staging / "adapter_config.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    config["base_model_name_or_path"] = base
    config_path.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    _tokenizer(base).save_pretrained(str(staging))  # type: ignore[attr-defined]
