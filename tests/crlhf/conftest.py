"""Fixtures for the core's tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.tiny_model import build_tiny_model


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny local GPT-2 and tokenizer (see tests/tiny_model.py); built once per session."""
    return build_tiny_model(tmp_path_factory.mktemp("tiny-model"))
