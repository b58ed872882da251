from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]
MBPP_PATH = REPO_ROOT / "../shared/data/mbpp/mbpp.jsonl"


@pytest.fixture(scope="session")
def mbpp_path() -> Path:
    if not MBPP_PATH.is_file():
        pytest.skip(f"MBPP data not found at {MBPP_PATH} (the team's shared data folder)")
    return MBPP_PATH
