"""The admin page in a real browser (Debian's chromium via Playwright) on a real ``crlhf serve``.

Log in, read the overview, open a round and a sample, request and cancel a round, see the
annotator token refused, a ``<script>`` comment shown as text, an expired session and a round
that moved between load and click each answered by one message. About half a minute.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.conftest import LiveServer
from tests.server.admin_page_seed import SCRIPT_COMMENT, Seeded, seed
from tests.server.browser import VIEWPORT, launch, log_in

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = launch(playwright)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport=VIEWPORT)  # type: ignore[arg-type]
    opened = context.new_page()
    errors: list[str] = []
    opened.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    opened.on("pageerror", lambda e: errors.append(str(e)))
    yield opened
    context.close()
    # A CSP violation (an inline style or script that slipped in) shows up here.
    assert not [e for e in errors if "Content Security Policy" in e], errors


@pytest.fixture
def seeded(live_server: LiveServer) -> Seeded:
    with httpx.Client(base_url=live_server.url, timeout=30) as client:
        return seed(client, live_server.admin_token)


def _api(server: LiveServer) -> httpx.Client:
    return httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {server.admin_token}"}, timeout=30
    )


def test_log_in_and_read_overview_round_and_sample(
    live_server: LiveServer, seeded: Seeded, page: Page
) -> None:
    page.goto(live_server.url + "/")
    expect(page.locator("main a[href='/v1/health']")).to_be_visible()
    log_in(page, live_server.url, "wrong-token")
    expect(page.locator("p.error")).to_contain_text("That token is not valid")

    log_in(page, live_server.url, live_server.admin_token)
    expect(page).to_have_url(live_server.url + "/admin")
    expect(page.locator("h1")).to_have_text("Overview")
    expect(page.locator("#active-today")).to_have_text("3")
    expect(page.locator(".cards")).to_contain_text("r1-lora")
    expect(page.locator("svg.chart")).to_have_count(1)
    page.goto(live_server.url + "/")  # the root sends a logged-in admin to the page
    expect(page).to_have_url(live_server.url + "/admin")

    page.click("nav >> text=Rounds")
    expect(page.locator("svg.chart")).to_have_count(1)  # humaneval pass@k
    page.click(f"a[href='/admin/rounds/{seeded.succeeded_round}']")
    expect(page.locator("h1")).to_contain_text(f"Round {seeded.succeeded_round}")
    expect(page.locator("body")).to_contain_text("Rewards of the samples the round trained on")

    page.fill("nav input[name=id]", seeded.commented_sample)
    page.press("nav input[name=id]", "Enter")
    expect(page.locator("h1")).to_contain_text(seeded.commented_sample)
    comment = page.locator("q.comment").first
    expect(comment).to_have_text(SCRIPT_COMMENT)  # shown as text...
    assert page.evaluate("() => window.pwned") is None  # ...never run
    expect(page.locator("table.code")).to_contain_text("alice")


def test_request_and_cancel_a_round(live_server: LiveServer, seeded: Seeded, page: Page) -> None:
    log_in(page, live_server.url, live_server.admin_token)
    page.goto(live_server.url + "/admin/rounds")
    page.fill("form.request input[name=note]", "from the browser")
    page.fill("form.request textarea[name=params]", "min_votes = 2")
    page.click("form.request button")
    expect(page.locator("h1")).to_have_text("Request a training round?")
    page.click("form.confirm button")
    expect(page.locator(".notice")).to_have_text("Round requested: a worker will claim it.")
    expect(page.locator("h1 .status")).to_have_text("requested")

    page.click("text=Cancel this round…")
    page.click("form.confirm button")
    expect(page.locator(".notice")).to_have_text("Round cancelled.")
    expect(page.locator("h1 .status")).to_have_text("cancelled")
    with _api(live_server) as api:
        newest = api.get("/v1/admin/rounds").json()[0]
    assert newest["note"] == "from the browser" and newest["status"] == "cancelled"
    assert newest["params"] == {"min_votes": 2}


def test_a_round_that_moved_is_refused_and_the_live_state_follows(
    live_server: LiveServer, seeded: Seeded, page: Page
) -> None:
    log_in(page, live_server.url, live_server.admin_token)
    page.goto(f"{live_server.url}/admin/rounds/{seeded.running_round}/cancel")
    expect(page.locator("h1")).to_have_text(f"Cancel round {seeded.running_round}?")
    done = {"status": "succeeded", "adapter_version": "r2-lora"}
    with _api(live_server) as api:  # the worker finishes before the admin clicks
        moved = api.post(f"/v1/admin/rounds/{seeded.running_round}/transition", json=done)
        assert moved.status_code == 200, moved.text
    page.click("form.confirm button")
    expect(page.locator("p.error")).to_contain_text(
        f"Round {seeded.running_round} is succeeded, not running as when you loaded the page"
    )
    with _api(live_server) as api:
        assert api.get(f"/v1/admin/rounds/{seeded.running_round}").json()["status"] == "succeeded"

    # The live part: a status changed elsewhere shows up without a reload.
    page.goto(f"{live_server.url}/admin/rounds")
    with _api(live_server) as api:
        created = api.post("/v1/admin/rounds", json={"note": "live"}).json()
    page.reload()
    status = page.locator(f"[data-round-status='{created['id']}']")
    expect(status).to_have_text("requested")
    with _api(live_server) as api:
        api.post("/v1/admin/rounds/claim", json={"worker": "w2", "lease_s": 600})
    expect(status).to_have_text("running", timeout=12_000)


def test_annotator_token_and_expired_session_are_refused(
    live_server_factory: Callable[..., LiveServer], page: Page
) -> None:
    server = live_server_factory(env={"CRLHF_ADMIN_SESSION_TTL_S": "3"})
    with _api(server) as api:
        token = api.post("/v1/admin/annotators", json={"name": "ann"}).json()["token"]
    log_in(page, server.url, token)
    expect(page.locator("p.error")).to_have_text(
        "This is an annotator's token: the admin page needs an admin token."
    )
    assert page.context.cookies() == []

    log_in(page, server.url, server.admin_token)
    expect(page.locator("h1")).to_have_text("Overview")
    page.wait_for_timeout(3_200)
    page.click("nav >> text=Rounds")
    expect(page.locator(".notice")).to_have_text(
        "Your session expired or the server restarted; log in again."
    )
