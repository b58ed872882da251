"""LoRA target modules: peft's defaults, the all-linear fallback, and names that match nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from crlhf.errors import InvalidInput
from crlhf.training.targets import ALL_LINEAR, check_targets, choose_targets, skeleton
from tests.tiny_model import build_tiny_family

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def starcoder2(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_family(tmp_path_factory.mktemp("sc2"), "starcoder2", tiny_model_dir)


def test_defaults_where_peft_has_them_else_all_linear(tiny_model_dir, starcoder2) -> None:
    assert check_targets(tiny_model_dir, None) is None  # GPT-2: peft's c_attn
    assert check_targets(starcoder2, None) == ALL_LINEAR  # peft has no StarCoder2 defaults


def test_names_are_checked_against_the_weightless_architecture(starcoder2) -> None:
    model = skeleton(starcoder2)
    assert all(p.device.type == "meta" for p in model.parameters())  # nothing loaded
    assert choose_targets(model, ("q_proj", "model.layers.0.mlp.c_fc")) == [
        "q_proj",
        "model.layers.0.mlp.c_fc",
    ]
    assert choose_targets(model, (ALL_LINEAR,)) == ALL_LINEAR
    with pytest.raises(InvalidInput, match=r"'v_prj', 'gate' match\(es\) no module") as caught:
        check_targets(starcoder2, ("q_proj", "v_prj", "gate"))
    assert caught.value.field == "lora_target_modules"
    # The message offers the architecture's linear layers, not the output head.
    assert "c_fc, c_proj, k_proj, o_proj, q_proj, v_proj (or 'all-linear')" in str(caught.value)
    with pytest.raises(InvalidInput, match="stands alone"):
        choose_targets(model, (ALL_LINEAR, "q_proj"))
