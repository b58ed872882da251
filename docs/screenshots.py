"""Regenerate the admin page screenshots in docs/img/ (1280×800, Debian's chromium).

    .venv/bin/python docs/screenshots.py

Starts a real ``crlhf serve`` on a temp database, fills it through the JSON API with the
browser tests' data (tests/server/admin_page_seed.py), logs in and captures the four views.
"""

from __future__ import annotations

import logging
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

from tests.conftest import LiveServer  # noqa: E402
from tests.server.admin_page_seed import seed  # noqa: E402
from tests.server.browser import VIEWPORT, launch, log_in  # noqa: E402

logger = logging.getLogger("screenshots")
OUT = ROOT / "docs" / "img"


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    with tempfile.TemporaryDirectory() as tmp:
        server = LiveServer(db_path=Path(tmp) / "crlhf.db", log_path=Path(tmp) / "serve.log")
        server.start()
        try:
            with httpx.Client(base_url=server.url, timeout=30) as client:
                seeded = seed(client, server.admin_token, tasks_each=12)
            views = {
                "admin-overview.png": "/admin",
                "admin-rounds.png": "/admin/rounds",
                "admin-annotators.png": "/admin/annotators",
                "admin-sample.png": f"/admin/samples/{seeded.commented_sample}",
            }
            with sync_playwright() as playwright:
                browser = launch(playwright)
                page = browser.new_context(viewport=VIEWPORT).new_page()  # type: ignore[arg-type]
                log_in(page, server.url, server.admin_token)
                page.wait_for_url(f"{server.url}/admin")
                OUT.mkdir(parents=True, exist_ok=True)
                for name, path in views.items():
                    page.goto(server.url + path)
                    page.wait_for_load_state("networkidle")
                    page.screenshot(path=str(OUT / name))
                    logger.info("wrote %s", OUT / name)
                browser.close()
        finally:
            server.stop()


if __name__ == "__main__":
    main()
