"""The base model's precision: one name shared by sampling and training, checked early.

Sampling and training must run the base in the same dtype, or the log-probs stored at
sampling time are not the ones the training forward recomputes (the drift check,
docs/training.md). Names, not torch dtypes, travel through configs and manifests, so
this module imports torch only inside its functions: ``PPOConfig`` can name a dtype
without loading torch.

Every check here runs before any model weight is read: an unknown name, or a dtype the
device cannot compute in, fails in a second instead of after minutes of loading.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Literal, get_args

from crlhf.errors import InvalidInput, UnsupportedDType

if TYPE_CHECKING:
    import torch

DTypeName = Literal["float32", "bfloat16", "float16", "auto"]
"""``auto`` is the checkpoint's own dtype (its config's ``dtype`` / ``torch_dtype``)."""

DTYPE_NAMES: tuple[str, ...] = get_args(DTypeName)
DEFAULT_DTYPE: DTypeName = "float32"
"""float32 unless asked: CPU rounds and the tiny test models stay bit-reproducible."""

DRIFT_TOLERANCE: dict[str, float] = {"float32": 1e-4, "float16": 2e-3, "bfloat16": 1e-2}
"""Mean |stored − recomputed| sampling log-prob per token that samples drawn in this
dtype by this policy stay under (``PPOConfig.max_logprob_drift``). Measured on CPU by
benchmarks/precision_drift.py (trained 4-layer model: float32 3e-7, float16 1.2e-4,
bfloat16 6.7e-4 nats, against 2.7e-2 for samples drawn at temperature 0.7 recorded as
0.8); the limits leave 15-300x room for deeper models and GPU kernels, and stay below
that mistake. docs/training.md, "Precision"."""


def parse_dtype(name: str) -> DTypeName:
    """``name`` if it is one of :data:`DTYPE_NAMES`, else :class:`InvalidInput` on ``dtype``."""
    for known in get_args(DTypeName):
        if name == known:
            return known  # type: ignore[no-any-return]
    raise InvalidInput(
        f"unknown dtype {name!r}; expected one of {', '.join(DTYPE_NAMES)}", field="dtype"
    )


def checkpoint_dtype(model: str | Path) -> str:
    """The dtype a local checkpoint was saved in, from its config.json ("float32" if it
    does not say, as transformers assumes)."""
    path = Path(model) / "config.json"
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        from transformers import AutoConfig

        try:
            loaded = AutoConfig.from_pretrained(str(model))
        except OSError as exc:
            raise InvalidInput(f"cannot load model {str(model)!r}: {exc}", field="model") from exc
        config = loaded.to_dict()
    saved = config.get("dtype") or config.get("torch_dtype") or "float32"
    return str(saved).removeprefix("torch.")


def resolve_dtype(name: str, model: str | Path) -> torch.dtype:
    """The torch dtype for ``name``, ``auto`` read from ``model``'s config (no weights)."""
    import torch

    wanted = parse_dtype(name)
    if wanted == "auto":
        saved = checkpoint_dtype(model)
        dtype = getattr(torch, saved, None)
        if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
            raise InvalidInput(
                f"dtype 'auto': the checkpoint's dtype {saved!r} is not a float type; "
                "name one of float32, bfloat16, float16",
                field="dtype",
            )
        return dtype
    result: torch.dtype = getattr(torch, wanted)
    return result


def check_device_dtype(dtype: torch.dtype, device: torch.device) -> None:
    """Raise :class:`UnsupportedDType` if ``device`` cannot run a model in ``dtype``
    (:class:`InvalidInput` on ``device`` if it is a CUDA device and there is none).

    CUDA: bfloat16 needs compute capability 8 (Ampere) or later; emulated bf16 on older
    cards is refused rather than run at a fraction of the speed. Elsewhere (CPU, MPS) a
    small matmul and log-softmax in that dtype is tried: torch raises where a kernel is
    missing.
    """
    import torch

    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise InvalidInput(f"{device} requested but CUDA is not available", field="device")
        if dtype == torch.bfloat16 and not torch.cuda.is_bf16_supported(including_emulation=False):
            raise UnsupportedDType(
                f"{device} has no native bfloat16 (compute capability < 8.0); use float16",
                field="dtype",
            )
        return
    try:
        probe = torch.ones((2, 2), dtype=dtype, device=device)
        torch.log_softmax(probe @ probe, dim=-1).sum().item()
    except (RuntimeError, TypeError) as exc:
        raise UnsupportedDType(
            f"{device} cannot compute in {str(dtype).removeprefix('torch.')}: {exc}",
            field="dtype",
        ) from exc


def base_dtype(name: str, model: str | Path, device: torch.device) -> torch.dtype:
    """:func:`resolve_dtype` then :func:`check_device_dtype`: what model loaders call."""
    dtype = resolve_dtype(name, model)
    check_device_dtype(dtype, device)
    return dtype
