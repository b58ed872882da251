"""The examples in the quality modules' docstrings run and hold."""

from __future__ import annotations

import doctest
import importlib

import pytest


@pytest.mark.parametrize("name", ["mutations", "agreement", "lazy", "policy"])
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(f"crlhf.quality.{name}")
    result = doctest.testmod(module)
    assert result.attempted > 0
    assert result.failed == 0
