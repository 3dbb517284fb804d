"""Issue 14, the agent page (`/console/agent`) in headless Chromium (Debian's package, driven
by Playwright, as tests/acceptance/test_console.py): an agent signs in with its own password,
sets itself available with the keyboard, a campaign with a queue runs on the simulated
telephony (`serve --telephony sim`; the agent's phone is a simulated agent that answers and
talks by itself), the page shows the connected call's target, the agent disposes it with a
code and a callback time, and the API shows the disposition and the target scheduled again.
Screenshots under artifacts/ at 1280x800 and phone size; labels, keyboard and contrast are
checked."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.acceptance.server import Server, cli
from tests.acceptance.test_dashboard import ARGS, ARTIFACTS, CHROMIUM, IN_CI, _browser_missing

pytestmark = [pytest.mark.slow, pytest.mark.browser]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
PASSWORD = "agent secret 123"
WAIT_MS = 30_000  # a wait for progress, not a bound on speed

# WCAG 2 contrast of every visible text against the background it is drawn on (the first
# ancestor with an opaque background); the failures as [ratio, text].
CONTRAST = """() => {
  const rgb = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const bg = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const c = rgb(getComputedStyle(e).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] === 1)) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const bad = [];
  for (const el of document.querySelectorAll('body *')) {
    const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    if (!own || !el.getClientRects().length) continue;
    const style = getComputedStyle(el);
    if (style.visibility === 'hidden' || el.closest('[hidden]')) continue;
    const a = lum(rgb(style.color)), b = lum(bg(el));
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    const large = parseFloat(style.fontSize) >= 24 ||
      (parseFloat(style.fontSize) >= 18.66 && Number(style.fontWeight) >= 700);
    if (ratio < (large ? 3 : 4.5)) bad.push([ratio.toFixed(2), el.textContent.trim().slice(0, 40)]);
  }
  return bad;
}"""

UNLABELLED = """() => [...document.querySelectorAll('main input, main select, main textarea')]
  .filter((el) => !el.closest('[hidden]'))
  .filter((el) => el.labels.length === 0 && !el.getAttribute('aria-label'))
  .map((el) => el.name || el.outerHTML)"""


@pytest.fixture
def env(tmp_path: Path) -> Iterator[dict[str, Any]]:
    problem = _browser_missing()
    if problem is not None:
        if IN_CI:
            pytest.fail(f"the agent page test must run in CI: {problem}")
        pytest.skip(problem)
    url = f"sqlite:///{tmp_path / 'agent.db'}"
    customer = cli("customers", "create", "--name", "acme", "--database-url", url)
    key = cli("accesskeys", "create", "--customer-id", customer["id"], "--database-url", url)
    server = Server(url, tmp_path / "serve.log", "--telephony", "sim", "--sim-ring-ms", "100")
    api = httpx.Client(base_url=f"{server.url}/v1.0", params={"token": key["token"]}, timeout=10)
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        yield {"server": server, "api": api}
    finally:
        api.close()
        assert server.stop() == 0


def _ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    return response.json()


def _campaign(api: httpx.Client) -> dict[str, Any]:
    """A queue campaign that calls Carol (a person, SPEC 5) and connects her to agent Ann, a
    simulated agent who talks about 1 s and wraps up for a minute."""
    tag = _ok(api.post("/tags", json={"name": "sales"}))
    agent = _ok(
        api.post(
            "/agents",
            json={"username": "ann", "password": PASSWORD, "name": "Ann", "tag_ids": [tag["id"]],
                  "addresses": [{"type": "sip", "target": "sim:agent?aht=1&wrap=60",
                                 "target_name": "Ann's desk phone"}]},
        )
    )  # fmt: skip
    queue = _ok(api.post("/queues", json={"name": "renewals", "tag_ids": [tag["id"]]}))
    plan = _ok(
        api.post(
            "/outplans",
            json={"name": "p", "source": {"type": "tel", "target": "+15559876543"},
                  "dial_timeout": 10000, "try_interval": 1000, "max_try_count_0": 3},
        )
    )  # fmt: skip
    outdial = _ok(api.post("/outdials", json={"name": "renewals"}))
    target = _ok(
        api.post(
            f"/outdials/{outdial['id']}/targets",
            json={"name": "Carol Jones", "detail": "Renewal due in March",
                  "data": '{"plan": "gold", "since": 2019}',
                  "destination_0": {"type": "tel", "target": "+7785550001"}},
        )
    )  # fmt: skip
    campaign = _ok(
        api.post(
            "/campaigns",
            json={"name": "Renewals", "type": "call", "end_handle": "stop",
                  "outplan_id": plan["id"], "outdial_id": outdial["id"], "actions": [],
                  "queue_id": queue["id"], "service_level": 100, "dial_mode": "progressive",
                  "dispositions": ["sale", "no_sale", "callback"]},
        )
    )  # fmt: skip
    return {"agent": agent, "target": target, "campaign": campaign, "outdial": outdial}


def _shot(page: Any, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"agent-{name}.png"), full_page=True)


def _accessible(page: Any) -> None:
    assert page.evaluate(UNLABELLED) == []
    assert page.evaluate(CONTRAST) == []
    overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0  # nothing wider than the screen


def test_an_agent_signs_in_takes_a_call_and_disposes_it(env: dict[str, Any]) -> None:
    from playwright.sync_api import sync_playwright

    api, base = env["api"], env["server"].url
    made = _campaign(api)
    agent_id = made["agent"]["id"]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            context = browser.new_context(viewport=DESKTOP, timezone_id="UTC")
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.set_default_timeout(WAIT_MS)
            # a poll of a minute: what the page shows in time came by the agent's event stream
            page.goto(f"{base}/console/agent?poll_ms=60000")
            page.locator("body[data-state='signin']").wait_for(state="attached")
            _accessible(page)
            _shot(page, "signin")
            # a wrong password is refused in words; then the keyboard signs in
            page.fill("#signin-username", "ann")
            page.fill("#signin-password", "not the password")
            page.keyboard.press("Enter")
            page.locator("#notice.error").wait_for()
            assert "wrong" in page.locator("#notice").inner_text()
            page.fill("#signin-password", PASSWORD)
            page.keyboard.press("Enter")
            page.locator("body[data-state='waiting']").wait_for(state="attached")
            page.wait_for_function(
                "() => document.getElementById('status').textContent === 'offline'"
            )
            page.locator("body[data-live='stream']").wait_for(state="attached")
            assert "Ann's desk phone" in page.locator("#phone-addresses").inner_text()
            assert page.locator("#agent-phone").count() == 1  # where a browser phone goes
            # the keyboard reaches the status buttons and sets "available"
            page.locator("button[data-status='available']").focus()
            page.keyboard.press("Enter")
            page.wait_for_function(
                "() => document.getElementById('status').textContent === 'available'"
            )
            assert (
                page.locator("button[data-status='available']").get_attribute("aria-pressed")
                == "true"
            )
            assert _ok(api.get(f"/agents/{agent_id}"))["status"] == "available"
            _accessible(page)
            _shot(page, "waiting")

            # the campaign runs: Carol answers and is connected to Ann
            campaign = made["campaign"]
            _ok(api.put(f"/campaigns/{campaign['id']}/status", json={"status": "run"}))
            page.locator("body[data-state='call']").wait_for(state="attached")
            assert page.locator("#target-name").inner_text() == "Carol Jones"
            assert page.locator("#target-detail").inner_text() == "Renewal due in March"
            assert '"plan": "gold"' in page.locator("#target-data").inner_text()
            assert "+7785550001" in page.locator("#target-destinations").inner_text()
            assert "No earlier calls" in page.locator("#history").inner_text()
            codes = page.locator("#dispose-code option").all_inner_texts()
            assert codes == ["sale", "no_sale", "callback"]
            page.wait_for_function(
                "() => document.getElementById('call-status').textContent === 'done'"
            )
            _accessible(page)
            _shot(page, "call")
            page.set_viewport_size(PHONE)
            _accessible(page)
            _shot(page, "call-phone")
            page.set_viewport_size(DESKTOP)

            # wrap-up: a code, a note and a callback tomorrow at 10:30 (the browser is in UTC)
            at = (datetime.now(UTC) + timedelta(days=1)).replace(
                hour=10, minute=30, second=0, microsecond=0
            )
            page.select_option("#dispose-code", "callback")
            page.fill("#dispose-note", "wants the family plan")
            page.fill("#dispose-callback", at.strftime("%Y-%m-%dT%H:%M"))
            page.click("#dispose-submit")
            page.locator("body[data-state='waiting']").wait_for(state="attached")
            assert "Saved: callback" in page.locator("#notice").inner_text()
            _shot(page, "after-wrapup")

            call_id = page.locator("#call").get_attribute("data-call-id")
            call = _ok(api.get(f"/campaigncalls/{call_id}"))
            assert call["agent_id"] == agent_id
            assert (call["disposition"], call["disposition_note"]) == (
                "callback",
                "wants the family plan",
            )
            assert call["callback_at"] == at.strftime("%Y-%m-%d %H:%M:%S.%f")
            outdial_id, target_id = made["outdial"]["id"], made["target"]["id"]
            target = _ok(api.get(f"/outdials/{outdial_id}/targets/{target_id}"))
            assert target["status"] == "idle"  # answered, and waiting for its callback

            # sign out: the page asks for credentials again and the cookie no longer works
            page.click("#signout")
            page.locator("body[data-state='signin']").wait_for(state="attached")
            gone = page.evaluate("() => fetch('/v1.0/session').then((r) => r.status)")
            assert gone == 401
            context.close()
            assert errors == []
        finally:
            browser.close()
