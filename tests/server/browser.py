"""Debian's chromium driven by Playwright (its own browser download cannot work offline).

``make install-dev`` installs the ``chromium`` package; ``CRLHF_CHROMIUM`` points elsewhere.
Used by the admin page's browser tests and by docs/screenshots.py.
"""

from __future__ import annotations

import os
from pathlib import Path

from playwright.sync_api import Browser, Page, Playwright

CHROMIUM = Path(os.environ.get("CRLHF_CHROMIUM", "/usr/bin/chromium"))
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 800}


def launch(playwright: Playwright) -> Browser:
    if not CHROMIUM.exists():
        raise RuntimeError(f"no chromium at {CHROMIUM}: run `make install-dev` (apt chromium)")
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)


def log_in(page: Page, base_url: str, token: str) -> None:
    page.goto(f"{base_url}/admin/login")
    page.fill("input[name=token]", token)
    page.click("form.login button")
