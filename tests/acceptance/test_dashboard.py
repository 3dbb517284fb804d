"""Issue 5: the dashboard end to end in headless Chromium (Debian's package, driven by
Playwright): sign in, open a campaign, run it on the simulated telephony, watch the numbers
change from the event stream, keep a screenshot under artifacts/."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import httpx
import pytest

from tests.acceptance.server import Server, cli

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
IN_CI = os.environ.get("CI", "").lower() == "true"


def _browser_missing() -> str | None:
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        return f"{CHROMIUM} not installed (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright not installed (pip install playwright)"
    return None


@pytest.fixture
def browser_ready() -> None:
    problem = _browser_missing()
    if problem is not None:
        if IN_CI:
            pytest.fail(f"the dashboard test must run in CI: {problem}")
        pytest.skip(problem)


def _number(page: object, selector: str) -> int:
    text = page.locator(selector).inner_text()  # type: ignore[attr-defined]
    return int(text.strip().rstrip("%"))


@pytest.mark.slow
@pytest.mark.browser
def test_dashboard_shows_a_campaign_live(browser_ready: None, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    url = f"sqlite:///{tmp_path / 'dash.db'}"
    customer = cli("customers", "create", "--name", "acme", "--database-url", url)
    key = cli("accesskeys", "create", "--customer-id", customer["id"], "--database-url", url)
    server = Server(url, tmp_path / "serve.log", "--telephony", "sim", "--sim-ring-ms", "300")
    api = httpx.Client(base_url=f"{server.url}/v1.0", params={"token": key["token"]}, timeout=10)
    numbers = [f"+1555000{n:04d}" for n in range(12)] + [f"+486555{n:04d}" for n in range(4)]
    try:
        plan = api.post(
            "/outplans",
            json={"source": {"type": "tel", "target": "+15559876543"}, "dial_timeout": 2000,
                  "max_try_count_0": 1},
        ).json()  # fmt: skip
        outdial = api.post("/outdials", json={"name": "list"}).json()
        r = api.post(
            f"/outdials/{outdial['id']}/targets_bulk",
            json=[{"destination_0": {"type": "tel", "target": n}} for n in numbers],
        )
        assert r.status_code == 200, r.text
        campaign = api.post(
            "/campaigns",
            json={"name": "spring drive", "outplan_id": plan["id"], "outdial_id": outdial["id"],
                  "calls_per_second": 4, "max_concurrent_calls": 3},
        ).json()  # fmt: skip
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
            try:
                page = browser.new_page(viewport={"width": 1280, "height": 800})
                page.goto(f"{server.url}/dashboard")
                page.fill("#key", "not-a-key")
                page.click("#signin")
                expect(page.locator("#error")).not_to_be_empty()
                page.fill("#key", key["token"])
                page.click("#signin")
                row = page.locator(f"tr.campaign[data-id='{campaign['id']}']")
                expect(row).to_contain_text("spring drive")
                row.click()
                expect(page.locator("#targets-total")).to_have_text(str(len(numbers)))
                assert _number(page, "#attempts") == 0
                expect(page.locator("#live")).to_have_text("live")
                page.click("#run")
                expect(page.locator("#campaign-status")).to_have_text("run")
                # The numbers move without a reload: driven by the event stream.
                page.wait_for_function(
                    "Number(document.getElementById('in-flight').textContent) > 0",
                    timeout=15_000,
                )
                page.wait_for_function(
                    "Number(document.getElementById('attempts').textContent) >= 4", timeout=15_000
                )
                middle = _number(page, "#targets-done")
                page.wait_for_function(
                    f"Number(document.getElementById('targets-done').textContent) > {middle}",
                    timeout=15_000,
                )
                expect(page.locator("#reasons tr[data-reason='normal']")).to_be_visible(
                    timeout=15_000
                )
                ARTIFACTS.mkdir(exist_ok=True)
                page.screenshot(path=str(ARTIFACTS / "dashboard-running.png"), full_page=True)
                page.click("#stop")
                expect(page.locator("#campaign-status")).to_have_text("stop", timeout=15_000)
                assert page.locator("#chart").is_visible()
                page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
            finally:
                browser.close()
    finally:
        api.close()
        assert server.stop() == 0
