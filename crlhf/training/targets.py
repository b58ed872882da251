"""Which modules of the base get LoRA adapters, decided (and checked) before weights load.

peft knows default target modules for many architectures (``c_attn`` for GPT-2 and
GPT-BigCode, ``q_proj``/``v_proj`` for Llama, Qwen2, Mistral and Gemma,
``query_key_value`` for GPT-NeoX) but not for every one a code team uses: StarCoder2 and
Phi-3 have none, and ``get_peft_model`` then fails with "Please specify target_modules".
There the adapter goes on every linear projection of the attention and MLP blocks
(peft's ``all-linear``: all ``Linear``/``Conv1D`` layers but the output head), the
QLoRA paper's choice. Names given by the user are checked against the modules of a
weightless (meta-device) copy of the architecture, so a typo fails in a second rather
than after the weights load.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from crlhf.errors import InvalidInput

ALL_LINEAR = "all-linear"

Targets = str | list[str] | None
"""What ``LoraConfig(target_modules=...)`` gets: names, ``all-linear``, or None (peft's
defaults for the architecture)."""

_LINEAR_TYPES = ("Linear", "Conv1D")


def peft_has_defaults(model_type: str) -> bool:
    """Whether peft knows the LoRA target modules of this ``config.model_type``."""
    from peft.utils import TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING

    return model_type in TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING


def linear_layer_names(model: Any) -> list[str]:
    """Distinct last name parts of the linear layers, output head excluded (sorted)."""
    head = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    return sorted(
        {
            name.rsplit(".", 1)[-1]
            for name, module in model.named_modules()
            if type(module).__name__ in _LINEAR_TYPES and module is not head
        }
    )


def _matches(name: str, target: str) -> bool:
    """peft's rule for a list entry: the module's dotted path is, or ends in, the entry."""
    return name == target or name.endswith("." + target)


def choose_targets(model: Any, requested: Iterable[str] | None) -> Targets:
    """The ``target_modules`` for ``model`` (real or meta-device), checked.

    Raises :class:`InvalidInput` on ``lora_target_modules`` naming every entry that
    matches no module, with the architecture's linear layers as the choices.
    """
    wanted = tuple(requested) if requested is not None else None
    if wanted is None:
        return None if peft_has_defaults(str(model.config.model_type)) else ALL_LINEAR
    if wanted == (ALL_LINEAR,):
        return ALL_LINEAR
    if ALL_LINEAR in wanted:
        raise InvalidInput(
            f"{ALL_LINEAR!r} stands alone; it cannot be combined with module names",
            field="lora_target_modules",
        )
    names = [name for name, _ in model.named_modules()]
    missing = [t for t in wanted if not any(_matches(name, t) for name in names)]
    if missing:
        raise InvalidInput(
            f"{', '.join(map(repr, missing))} match(es) no module of this "
            f"{model.config.model_type} model; its linear layers: "
            f"{', '.join(linear_layer_names(model))} (or {ALL_LINEAR!r})",
            field="lora_target_modules",
        )
    return list(wanted)


def _config(base_model: str | Path) -> Any:
    from transformers import AutoConfig

    try:
        return AutoConfig.from_pretrained(str(base_model))
    except OSError as exc:
        raise InvalidInput(
            f"cannot load base model {str(base_model)!r}: {exc}", field="base_model"
        ) from exc


def skeleton(base_model: str | Path) -> Any:
    """The architecture of ``base_model`` on the meta device: module names and types, no
    weights (a second for a 15B model)."""
    import torch
    from transformers import AutoModelForCausalLM

    config = _config(base_model)
    with torch.device("meta"):
        return AutoModelForCausalLM.from_config(config)  # type: ignore[no-untyped-call]


def check_targets(base_model: str | Path, requested: Iterable[str] | None) -> Targets:
    """:func:`choose_targets` on the weightless architecture of ``base_model``."""
    if requested is None:  # no names to check: the model type decides
        return None if peft_has_defaults(str(_config(base_model).model_type)) else ALL_LINEAR
    return choose_targets(skeleton(base_model), requested)
