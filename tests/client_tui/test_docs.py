"""The key map in docs/tui.md matches the keys the app binds."""

from __future__ import annotations

import re

from crlhf_tui.keymap import MAIN_KEYS

from tests.conftest import REPO_ROOT


def test_docs_key_map_lists_exactly_the_bound_keys():
    text = (REPO_ROOT / "docs" / "tui.md").read_text(encoding="utf-8")
    section = text.split("## Key map", 1)[1].split("\n\n", 2)[1]
    rows = re.findall(r"^\| `([^`]+)` \| (.+?) \|$", section, flags=re.MULTILINE)
    assert rows == [(key.shown, key.description) for key in MAIN_KEYS]


def test_docs_screenshot_exists():
    svg = (REPO_ROOT / "docs" / "tui-main.svg").read_text(encoding="utf-8")
    assert svg.startswith("<svg") and "running_max" in svg
