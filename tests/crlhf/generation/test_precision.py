"""Dtype names, the checkpoint's own dtype, and devices that cannot compute in one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from crlhf.errors import InvalidInput, UnsupportedDType
from crlhf.generation.precision import (
    base_dtype,
    check_device_dtype,
    checkpoint_dtype,
    parse_dtype,
    resolve_dtype,
)


def test_unknown_names_are_refused_naming_the_option() -> None:
    assert parse_dtype("bfloat16") == "bfloat16"
    with pytest.raises(InvalidInput, match="unknown dtype 'float64'") as caught:
        parse_dtype("float64")
    assert caught.value.field == "dtype"


def test_auto_is_the_checkpoints_dtype_read_from_its_config(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "llama", "dtype": "bfloat16"}))
    assert checkpoint_dtype(tmp_path) == "bfloat16"
    assert resolve_dtype("auto", tmp_path) == torch.bfloat16
    assert resolve_dtype("float16", tmp_path) == torch.float16
    (tmp_path / "config.json").write_text(json.dumps({"torch_dtype": "torch.float16"}))
    assert resolve_dtype("auto", tmp_path) == torch.float16
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "llama"}))
    assert resolve_dtype("auto", tmp_path) == torch.float32  # transformers' assumption
    (tmp_path / "config.json").write_text(json.dumps({"dtype": "int8"}))
    with pytest.raises(InvalidInput, match="not a float type"):
        resolve_dtype("auto", tmp_path)


def test_the_cpu_computes_in_every_offered_dtype() -> None:
    for dtype in (torch.float32, torch.bfloat16, torch.float16):
        check_device_dtype(dtype, torch.device("cpu"))


def test_a_dtype_without_kernels_on_the_device_is_refused() -> None:
    # float8 tensors exist on the CPU, but there is no matmul for them: the probe fails.
    with pytest.raises(UnsupportedDType, match="cannot compute in float8_e4m3fn") as caught:
        check_device_dtype(torch.float8_e4m3fn, torch.device("cpu"))
    assert caught.value.field == "dtype" and caught.value.code == "unsupported_dtype"


def test_bfloat16_on_a_pre_ampere_gpu_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda including_emulation=True: False)
    with pytest.raises(UnsupportedDType, match="no native bfloat16"):
        check_device_dtype(torch.bfloat16, torch.device("cuda"))
    check_device_dtype(torch.float16, torch.device("cuda"))  # fp16 runs on any CUDA card
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda including_emulation=True: True)
    check_device_dtype(torch.bfloat16, torch.device("cuda:0"))


def test_a_missing_gpu_is_named_as_the_device(tmp_path: Path) -> None:
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(InvalidInput, match="CUDA is not available") as caught:
        base_dtype("float32", tmp_path, torch.device("cuda"))
    assert caught.value.field == "device"
