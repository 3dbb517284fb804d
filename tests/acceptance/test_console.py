"""Issue 14: the operator console in headless Chromium (Debian's package, driven by
Playwright, as tests/acceptance/test_dashboard.py): every page, screenshots under artifacts/,
and one flow from an uploaded list to the compliance export. One server and one browser serve
the whole module; each test has its own browser context (its own sessionStorage)."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.acceptance.server import OUTDIAL, Server, cli
from tests.acceptance.test_dashboard import ARGS, ARTIFACTS, CHROMIUM, IN_CI, _browser_missing

pytestmark = [pytest.mark.slow, pytest.mark.browser]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


class _Hook(BaseHTTPRequestHandler):
    """A webhook receiver that refuses every delivery (500), so deliveries show failures."""

    received: list[bytes] = []

    def do_POST(self) -> None:
        self.received.append(self.rfile.read(int(self.headers.get("content-length", 0))))
        self.send_response(500)
        self.end_headers()

    def log_message(self, *_: Any) -> None:
        pass


@pytest.fixture(scope="module")
def hook() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    problem = _browser_missing()
    if problem is not None:
        if IN_CI:
            pytest.fail(f"the console tests must run in CI: {problem}")
        pytest.skip(problem)
    from playwright.sync_api import sync_playwright

    tmp = tmp_path_factory.mktemp("console")
    url = f"sqlite:///{tmp / 'console.db'}"
    customer = cli("customers", "create", "--name", "acme", "--database-url", url)
    key = cli("accesskeys", "create", "--customer-id", customer["id"], "--database-url", url)
    server = Server(
        url, tmp / "serve.log", "--telephony", "sim", "--sim-ring-ms", "200",
        "--allow-private-networks", "127.0.0.0/8",
    )  # fmt: skip
    api = httpx.Client(base_url=f"{server.url}/v1.0", params={"token": key["token"]}, timeout=10)
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
            try:
                yield {"server": server, "key": key["token"], "customer": customer, "api": api,
                       "browser": browser, "tmp": tmp, "url": url}  # fmt: skip
            finally:
                browser.close()
    finally:
        api.close()
        assert server.stop() == 0


@pytest.fixture
def page(env: dict[str, Any]) -> Iterator[Any]:
    """A signed-in page at 1280x800; a script error on any page fails the test."""
    context = env["browser"].new_context(viewport=DESKTOP, accept_downloads=True)
    p = context.new_page()
    errors: list[str] = []
    p.on("pageerror", lambda e: errors.append(str(e)))
    p.goto(f"{env['server'].url}/console")
    p.fill("#key-form input[name=key]", env["key"])
    p.keyboard.press("Enter")  # the keyboard signs in
    p.locator("body[data-shown='#/campaigns']").wait_for(state="attached")
    assert p.locator("nav").is_visible()
    p.base = env["server"].url
    yield p
    context.close()
    assert errors == []


def _go(page: Any, hash_: str) -> None:
    page.goto(f"{page.base}/console#{hash_}")
    page.locator(f"body[data-shown='#{hash_}']").wait_for(state="attached")
    assert page.locator("#page-error").count() == 0, page.locator("#page-error").inner_text()


def _shot(page: Any, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"console-{name}.png"), full_page=True)


def _labelled(page: Any) -> None:
    """Every form control of the page has a label (or an aria-label)."""
    unlabelled = page.evaluate(
        """() => [...document.querySelectorAll('main input, main select, main textarea')]
             .filter((el) => el.labels.length === 0 && !el.getAttribute('aria-label'))
             .map((el) => el.name || el.outerHTML)"""
    )
    assert unlabelled == []


def _csv(rows: list[dict[str, str]]) -> bytes:
    out = io.StringIO()
    names = list(dict.fromkeys(k for row in rows for k in row))
    writer = csv.DictWriter(out, fieldnames=names)
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def _upload(page: Any, name: str, body: bytes) -> None:
    page.set_input_files(
        "#upload-form input[name=file]", {"name": name, "mimeType": "text/csv", "buffer": body}
    )
    page.click("#upload")


def test_sign_in_refuses_a_bad_key_and_posts_users_to_login(env: dict[str, Any]) -> None:
    from playwright.sync_api import expect

    context = env["browser"].new_context(viewport=DESKTOP)
    p = context.new_page()
    p.goto(f"{env['server'].url}/console")
    assert not p.locator("nav").is_visible()
    _labelled(p)
    p.fill("#key-form input[name=key]", "not-a-key")
    p.click("#key-signin")
    expect(p.locator("#notice")).to_have_text("That access key does not work.")
    assert p.evaluate("sessionStorage.getItem('outdial-key')") is None
    p.fill("#user-form input[name=username]", "ops@example.com")
    p.fill("#user-form input[name=password]", "hunter2-long")
    with p.expect_request("**/v1.0/login") as request:
        p.click("#user-signin")
    sent = request.value
    assert sent.method == "POST"
    assert sent.headers["content-type"] == "application/json"
    assert json.loads(sent.post_data) == {"username": "ops@example.com", "password": "hunter2-long"}
    expect(p.locator("#notice")).not_to_be_empty()  # no such user: refused
    assert not p.locator("nav").is_visible()
    _shot(p, "signin")
    p.set_viewport_size(PHONE)
    _shot(p, "signin-phone")
    context.close()


def test_a_customer_user_signs_in_writes_with_the_csrf_token_and_signs_out(
    env: dict[str, Any],
) -> None:
    """A user made with `outdial users create` signs in with a password: the session cookie
    and the CSRF token carry a write (a new list), and signing out ends the session."""
    from playwright.sync_api import expect

    made = subprocess.run(
        [OUTDIAL, "users", "create", "--customer-id", env["customer"]["id"], "--username",
         "ops@example.com", "--password-stdin", "--database-url", env["url"]],
        input="correct horse battery\n", capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert json.loads(made.stdout)["username"] == "ops@example.com"
    context = env["browser"].new_context(viewport=DESKTOP)
    p = context.new_page()
    p.goto(f"{env['server'].url}/console")
    p.fill("#user-form input[name=username]", "ops@example.com")
    p.fill("#user-form input[name=password]", "correct horse battery")
    p.click("#user-signin")
    p.locator("body[data-shown='#/campaigns']").wait_for(state="attached")
    assert p.locator("nav").is_visible()
    cookies = {c["name"]: c for c in context.cookies()}
    assert (
        cookies["outdial_session"]["httpOnly"]
        and cookies["outdial_session"]["sameSite"] == "Strict"
    )
    assert p.evaluate("sessionStorage.getItem('outdial-key')") is None
    p.goto(f"{env['server'].url}/console#/lists")
    p.locator("body[data-shown='#/lists']").wait_for(state="attached")
    with p.expect_request("**/v1.0/outdials") as sent:
        p.fill("#outdial-form input[name=name]", "made by a user")
        p.click("#outdial-form button[type=submit]")
    assert sent.value.headers.get("x-csrf-token")
    expect(p.locator("main h1")).to_have_text("List: made by a user")
    names = [o["name"] for o in env["api"].get("/outdials").json()["result"]]
    assert "made by a user" in names
    session = context.request.get(f"{env['server'].url}/v1.0/session")
    assert session.status == 200
    with p.expect_request("**/v1.0/logout"):
        p.click("#signout")
    expect(p.locator("#key-form")).to_be_visible()
    assert context.request.get(f"{env['server'].url}/v1.0/session").status == 401
    context.close()


def test_lists_upload_refuses_bad_rows_then_imports_pages_and_searches(
    page: Any, env: dict[str, Any]
) -> None:
    from playwright.sync_api import expect

    _go(page, "/lists")
    page.fill("#outdial-form input[name=name]", "spring leads")
    page.click("#outdial-form button[type=submit]")
    expect(page.locator("main h1")).to_have_text("List: spring leads")
    outdial_id = page.url.rsplit("/", 1)[1]
    _labelled(page)
    good = [{"name": f"Lead {n}", "destination_0": f"tel:+1555010{n:04d}"} for n in range(30)]
    typo = {"name": "typo", "destination_0": "tel:555"}
    extra = {"name": "extra", "destination_0": "tel:+15550200000", "destination_1": "sip:nohost"}
    bad = [*good[:3], typo, *good[3:5], extra]
    # The streamed import (POST targets_import) names every bad row; nothing is written.
    _upload(page, "bad.csv", _csv(bad))
    expect(page.locator("#upload-errors tr.bad-row")).to_have_count(2)
    rows = page.locator("#upload-errors tr.bad-row")
    expect(rows.nth(0).locator("td").nth(0)).to_have_text("5")  # the line (header is 1)
    expect(rows.nth(0).locator("td").nth(1)).to_have_text("destination_0.target")
    expect(rows.nth(1).locator("td").nth(0)).to_have_text("8")
    expect(page.locator("#upload-status")).to_contain_text("nothing imported")
    _shot(page, "upload-errors")
    assert env["api"].get(f"/outdials/{outdial_id}/targets").json()["result"] == []
    # Chunks of 3 rows through targets_bulk (a server without targets_import): the bad row is
    # in the second chunk, and nothing is written (the first chunk is undone).
    page.evaluate(
        "import('/console/upload.js')"
        ".then((m) => { m.settings.chunk = 3; m.settings.streamed = false; })"
    )
    _upload(page, "bad.csv", _csv(bad))
    expect(page.locator("#upload-errors tr.bad-row")).to_have_count(1)
    row = page.locator("#upload-errors tr.bad-row").first
    expect(row.locator("td").nth(0)).to_have_text("5")
    expect(row.locator("td").nth(1)).to_have_text("destination_0.target")
    expect(page.locator("#upload-status")).to_contain_text("nothing imported")
    listed = env["api"].get(f"/outdials/{outdial_id}/targets").json()["result"]
    assert listed == []
    page.evaluate("import('/console/upload.js').then((m) => { m.settings.streamed = true; })")
    # An unknown column: refused, the column named, nothing written.
    _upload(page, "broken.csv", b"name,phone\nx,+15550100000\n")
    expect(page.locator("#upload-errors tr.bad-row").first).to_contain_text("phone")
    expect(page.locator("#upload-status")).to_contain_text("nothing imported")
    _upload(page, "good.csv", _csv(good))
    expect(page.locator("#upload-status")).to_have_text("Imported 30 targets.")
    expect(page.locator("#upload-progress")).to_have_attribute("value", "100")
    expect(page.locator("#targets tr.target")).to_have_count(25)
    page.click("#next-page")
    expect(page.locator("#targets tr.target")).to_have_count(5)
    page.click("#prev-page")
    expect(page.locator("#targets tr.target")).to_have_count(25)
    # The search runs on the server (?q=): a number on the second page is found from the
    # first, a part of a name finds every match, a status filters.
    page.click("#next-page")
    lead = page.locator("#targets tr.target a").first.inner_text()
    n = int(lead.removeprefix("Lead "))
    page.click("#prev-page")
    page.fill("input[name=search]", f"+1555010{n:04d}")
    expect(page.locator("#targets tr.target")).to_have_count(1)
    expect(page.locator("#targets tr.target")).to_contain_text(lead)
    page.fill("input[name=search]", "lead 1")  # Lead 1, Lead 10..19: 11
    expect(page.locator("#targets tr.target")).to_have_count(11)
    page.select_option("#target-search select[name=status]", "done")
    expect(page.locator("#targets tr.target")).to_have_count(0)
    page.select_option("#target-search select[name=status]", "idle")
    expect(page.locator("#targets tr.target")).to_have_count(11)
    page.fill("input[name=search]", f"+1555010{n:04d}")
    expect(page.locator("#targets tr.target")).to_have_count(1)
    _shot(page, "list")
    page.locator("#targets tr.target a").click()
    expect(page.locator("main h1")).to_have_text(f"Target: {lead}")
    expect(page.locator("main")).to_contain_text(f"tel:+1555010{n:04d}")
    expect(page.locator("#eligibility")).not_to_be_empty()
    _shot(page, "target")
    assert len(env["api"].get(f"/outdials/{outdial_id}/targets").json()["result"]) == 30


def test_outplan_form_saves_every_field_and_previews_the_window(
    page: Any, env: dict[str, Any]
) -> None:
    from playwright.sync_api import expect

    api = env["api"]
    _go(page, "/outplans")
    _labelled(page)
    form = page.locator("#outplan-form")
    form.locator("input[name=name]").fill("weekday mornings")
    form.locator("input[name=source_target]").fill("+15559870000")
    form.locator("input[name=dial_timeout]").fill("15000")
    form.locator("input[name=try_interval]").fill("60000")
    form.locator("input[name=max_try_count_1]").fill("2")
    form.locator("input[name=max_attempts_per_number_24h]").fill("3")
    form.locator("input[name=min_number_gap]").fill("5000")
    form.locator("input[name=window_on]").check()
    form.locator("input[name=day_6]").check()
    form.locator("input[name=window_start]").fill("08:30")
    form.locator("input[name=window_end]").fill("20:00")
    today = datetime.now(UTC).date()
    closed = [str(today + timedelta(days=d)) for d in (-1, 0, 1)]
    form.locator("textarea[name=window_holidays]").fill("\n".join(closed))
    form.locator("input[name=window_timezone]").fill("America/New_York")
    form.locator("#save-outplan").click()
    expect(page.locator("main h1")).to_have_text("Outplan: weekday mornings")
    plan = api.get(f"/outplans/{page.url.rsplit('/', 1)[1]}").json()
    assert plan["source"]["target"] == "+15559870000"
    assert (plan["dial_timeout"], plan["try_interval"]) == (15000, 60000)
    assert [plan[f"max_try_count_{n}"] for n in range(5)] == [3, 2, 0, 0, 0]
    assert (plan["max_attempts_per_number_24h"], plan["min_number_gap"]) == (3, 5000)
    assert plan["call_window"] == {
        "days": [1, 2, 3, 4, 5, 6], "start": "08:30", "end": "20:00", "holidays": closed,
        "timezone": "America/New_York",
    }  # fmt: skip
    expect(page.locator("#outplan-preview")).to_contain_text("No campaign dials with this outplan")
    # A campaign with this outplan: the preview says nothing is dialable now (holidays).
    outdial = api.post("/outdials", json={"name": "preview list"}).json()
    api.post(
        f"/outdials/{outdial['id']}/targets_bulk", json=[{"destination_0": "tel:+15550300000"}]
    )
    api.post(
        "/campaigns",
        json={"name": "preview", "outplan_id": plan["id"], "outdial_id": outdial["id"]},
    )
    page.reload()
    row = page.locator("#outplan-preview tr.preview")
    expect(row).to_have_count(1)
    expect(row.locator("td").nth(2)).to_have_text("0")
    expect(row.locator("td").nth(3)).not_to_have_text("0")
    _shot(page, "outplan")
    # Edit: the window goes, the name changes.
    page.locator("#outplan-form input[name=window_on]").uncheck()
    page.locator("#outplan-form input[name=name]").fill("any time")
    page.click("#save-outplan")
    expect(page.locator("#notice")).to_have_text("Outplan saved.")
    plan = api.get(f"/outplans/{plan['id']}").json()
    assert (plan["name"], plan["call_window"]) == ("any time", None)
    expect(row.locator("td").nth(2)).to_have_text("1")


def test_campaign_actions_are_edited_with_per_type_forms(page: Any, env: dict[str, Any]) -> None:
    from playwright.sync_api import expect

    _go(page, "/campaigns")
    _labelled(page)
    form = page.locator("#campaign-form")
    form.locator("input[name=name]").fill("actions demo")
    form.locator("textarea[name=a0-text]").fill("Hello from the console")
    page.select_option("select[name=add-type]", "amd")
    page.click("#add-action")
    page.select_option("select[name=a2-machine_handle]", "hangup")
    page.locator("input[name=a2-wait_for_beep]").check()
    page.click("button[aria-label='Move action 3 up']")  # amd before hangup
    page.select_option("select[name=add-type]", "sleep")
    page.click("#add-action")
    page.fill("input[name=a3-duration]", "1500")
    _shot(page, "campaign-new")
    page.click("#save-campaign")
    expect(page.locator("main h1")).to_have_text("Campaign: actions demo")
    c = env["api"].get(f"/campaigns/{page.url.rsplit('/', 1)[1]}").json()
    assert [(a["type"], a["option"]) for a in c["actions"]] == [
        ("talk", {"text": "Hello from the console"}),
        ("amd", {"machine_handle": "hangup", "wait_for_beep": True}),
        ("hangup", {}),
        ("sleep", {"duration": 1500}),
    ]
    # Edit: the sleep goes, a bad option is refused with the server's message.
    page.click("button[aria-label='Remove action 4']")
    page.select_option("select[name=add-type]", "digits_send")
    page.click("#add-action")
    page.fill("input[name=a3-digits]", "12x")
    page.click("#save-campaign")
    expect(page.locator("#notice")).to_contain_text("actions[3].option.digits")
    page.fill("input[name=a3-digits]", "12#")
    page.click("#save-campaign")
    expect(page.locator("#notice")).to_have_text("Campaign saved.")
    c = env["api"].get(f"/campaigns/{c['id']}").json()
    assert [a["type"] for a in c["actions"]] == ["talk", "amd", "hangup", "digits_send"]


def test_dnc_lists_add_upload_and_remove(page: Any, env: dict[str, Any]) -> None:
    from playwright.sync_api import expect

    _go(page, "/dnc")
    page.fill("#dnclist-form input[name=name]", "complaints")
    page.click("#dnclist-form button[type=submit]")
    expect(page.locator("main h1")).to_have_text("Do-not-call: complaints")
    _labelled(page)
    page.fill("#dnc-add input[name=number]", "+12125550100")
    page.click("#dnc-add button[type=submit]")
    expect(page.locator("tr.dnc-entry")).to_have_count(1)
    page.set_input_files("#dnc-upload input[name=file]", {"name": "n.csv", "mimeType": "text/csv",
                         "buffer": b"number\n+12125550101\n+12125550102\n"})  # fmt: skip
    page.click("#dnc-upload button[type=submit]")
    expect(page.locator("tr.dnc-entry")).to_have_count(3)
    _shot(page, "dnc")
    page.click("button[aria-label='Remove +12125550101']")
    expect(page.locator("tr.dnc-entry")).to_have_count(2)
    expect(page.locator("tr.dnc-entry[data-number='+12125550101']")).to_have_count(0)


def test_webhooks_url_secret_deliveries_and_replay(
    page: Any, env: dict[str, Any], hook: str
) -> None:
    from playwright.sync_api import expect

    _go(page, "/webhooks")
    _labelled(page)
    expect(page.locator("input[name=customer_id]")).to_have_value(env["customer"]["id"])
    page.fill("input[name=webhook_uri]", hook)
    page.click("#save-webhook")
    expect(page.locator("#notice")).to_have_text("Webhook saved.")
    page.click("#rotate")
    expect(page.locator("#secret")).to_contain_text("New signing secret")
    env["api"].post("/outdials", json={"name": "makes an event"})
    for _ in range(60):  # the worker delivers in the background; the page shows what it did
        page.reload()
        page.locator("main h1").wait_for()
        if page.locator("tr.delivery").count():
            break
        page.wait_for_timeout(500)
    expect(page.locator("tr.delivery").first).to_contain_text("500")
    _shot(page, "webhooks")
    page.locator("tr.delivery button").first.click()
    expect(page.locator("#notice")).to_contain_text("Replay queued")


def test_access_keys_page_creates_shows_once_and_revokes(page: Any, env: dict[str, Any]) -> None:
    """Keys over /v1.0/accesskeys: the token is shown once on the page and works; the list
    shows only its first characters; Revoke stops it at once."""
    from playwright.sync_api import expect

    _go(page, "/keys")
    _labelled(page)
    form = page.locator("#key-create")
    form.locator("input[name=name]").fill("nightly export")
    form.locator("input[name=detail]").fill("reports job")
    page.select_option("#key-create select[name=expire]", "86400")
    form.locator("button[type=submit]").click()
    expect(page.locator("#token-value")).not_to_be_empty()
    token = page.locator("#token-value").inner_text()
    base = f"{env['server'].url}/v1.0"
    assert httpx.get(f"{base}/outdials", params={"token": token}).status_code == 200
    row = page.locator("tr.accesskey", has_text="nightly export")
    expect(row).to_contain_text(token[:8])
    expect(row).not_to_contain_text(token)
    expect(row).not_to_contain_text("never")  # it expires in a day
    listed = env["api"].get("/accesskeys").json()["result"]
    assert token not in json.dumps(listed)
    _shot(page, "keys")
    page.reload()  # the token is not shown again
    page.locator("body[data-shown='#/keys']").wait_for(state="attached")
    expect(page.locator("#token-value")).to_have_count(0)
    page.locator("tr.accesskey", has_text="nightly export").get_by_role(
        "button", name="Revoke"
    ).click()
    expect(page.locator("#notice")).to_contain_text("Key revoked")
    expect(page.locator("tr.accesskey", has_text="nightly export")).to_have_count(0)
    assert httpx.get(f"{base}/outdials", params={"token": token}).status_code == 401


def test_agents_and_queues_page(page: Any, env: dict[str, Any]) -> None:
    """Tags, an agent (addresses, tags, ring method), its live status polled from the API, its
    edit form, a queue with counts; a campaign with that queue shows the agent numbers."""
    from playwright.sync_api import expect

    api = env["api"]
    _go(page, "/team")
    _labelled(page)
    page.fill("#tag-form input[name=name]", "spanish")
    page.click("#tag-form button[type=submit]")
    expect(page.locator("tr.tag", has_text="spanish")).to_have_count(1)
    tag = next(t for t in api.get("/tags").json()["result"] if t["name"] == "spanish")
    form = page.locator("#agent-form")
    form.locator("input[name=username]").fill("ana")
    form.locator("input[name=password]").fill("secret-pass-1")
    form.locator("input[name=name]").fill("Ana Ruiz")
    page.select_option("#agent-form select[name=ring_method]", "linear")
    form.locator("input[name=addresses]").fill("tel:+15550300001, sip:ana@127.0.0.1")
    form.locator(f"input[name=a-tag_{tag['id']}]").check()
    form.locator("button[type=submit]").click()
    row = page.locator("tr.agent", has_text="Ana Ruiz")
    expect(row).to_have_attribute("data-status", "offline")
    agent = next(a for a in api.get("/agents").json()["result"] if a["username"] == "ana")
    assert agent["ring_method"] == "linear" and agent["tag_ids"] == [tag["id"]]
    assert [a["target"] for a in agent["addresses"]] == ["+15550300001", "ana@127.0.0.1"]
    # live status: the agent goes available elsewhere (the API), the page follows by itself
    api.put(f"/agents/{agent['id']}/status", json={"status": "available"}).raise_for_status()
    expect(row).to_have_attribute("data-status", "available", timeout=10_000)
    row.get_by_role("button", name="Set ana away").click()
    expect(row).to_have_attribute("data-status", "away")
    assert api.get(f"/agents/{agent['id']}").json()["status"] == "away"
    page.fill("#queue-form input[name=name]", "sales line")
    page.select_option("#queue-form select[name=routing_method]", "longest-idle")
    page.fill("#queue-form input[name=wait_timeout]", "30000")
    page.locator(f"#queue-form input[name=q-tag_{tag['id']}]").check()
    page.click("#queue-form button[type=submit]")
    expect(page.locator("tr.queue", has_text="sales line")).to_contain_text("longest-idle")
    queue = next(q for q in api.get("/queues").json()["result"] if q["name"] == "sales line")
    assert queue["wait_timeout"] == 30000 and queue["tag_ids"] == [tag["id"]]
    _shot(page, "team")
    # the agent's edit form
    page.locator("tr.agent a", has_text="Ana Ruiz").click()
    expect(page.locator("main h1")).to_have_text("Agent: Ana Ruiz")
    _labelled(page)
    page.fill("#agent-edit input[name=name]", "Ana R.")
    page.fill("#agent-edit input[name=addresses]", "tel:+15550300002")
    page.locator(f"#agent-edit input[name=e-tag_{tag['id']}]").uncheck()
    page.click("#save-agent")
    page.locator("body[data-shown='#/team']").wait_for(state="attached")
    edited = api.get(f"/agents/{agent['id']}").json()
    assert edited["name"] == "Ana R." and edited["tag_ids"] == []
    assert [a["target"] for a in edited["addresses"]] == ["+15550300002"]
    # a campaign with the queue: agent settings saved, its page shows the agent numbers
    _go(page, "/campaigns")
    form = page.locator("#campaign-form")
    form.locator("input[name=name]").fill("agents campaign")
    page.select_option("#campaign-form select[name=queue_id]", queue["id"])
    page.select_option("#campaign-form select[name=dial_mode]", "progressive")
    form.locator("input[name=max_abandon_rate]").fill("2.5")
    form.locator("input[name=abandon_message]").fill("sorry, we will call again")
    form.locator("input[name=dispositions]").fill("sale, callback")
    page.click("#save-campaign")
    expect(page.locator("main h1")).to_have_text("Campaign: agents campaign")
    campaign_id = page.url.rsplit("/", 1)[1]
    made = api.get(f"/campaigns/{campaign_id}").json()
    assert (made["queue_id"], made["dial_mode"]) == (queue["id"], "progressive")
    assert made["max_abandon_rate"] == 2.5 and made["dispositions"] == ["sale", "callback"]
    expect(page.locator("#agent-stats")).to_be_visible()
    expect(page.locator("#abandon-rate")).to_have_text("0.0")
    expect(page.locator("#connected")).to_have_text("0")


def test_pages_fit_a_phone(page: Any) -> None:
    page.set_viewport_size(PHONE)
    for name in ("lists", "outplans", "campaigns", "calls", "dnc", "webhooks", "keys", "team"):
        _go(page, f"/{name}")
        width = page.evaluate("document.scrollingElement.scrollWidth")
        assert width <= PHONE["width"], f"{name} scrolls sideways at phone width ({width}px)"
        _shot(page, f"{name}-phone")


@pytest.mark.timeout(240)
def test_flow_upload_outplan_campaign_run_calls_export(page: Any, env: dict[str, Any]) -> None:
    """The whole flow in the browser: upload a list, make an outplan with a window, make a
    campaign, run it on the simulated telephony, watch the calls, export compliance."""
    from playwright.sync_api import expect

    numbers = [f"+1555070{n:04d}" for n in range(8)] + ["+4865550000", "+4865550001"]
    _go(page, "/lists")
    page.fill("#outdial-form input[name=name]", "flow list")
    page.click("#outdial-form button[type=submit]")
    expect(page.locator("main h1")).to_have_text("List: flow list")
    outdial_id = page.url.rsplit("/", 1)[1]
    body = "\n".join(
        json.dumps({"name": f"P{n}", "destination_0": f"tel:{x}"}) for n, x in enumerate(numbers)
    )
    page.set_input_files(
        "#upload-form input[name=file]",
        {"name": "flow.jsonl", "mimeType": "application/x-ndjson", "buffer": body.encode()},
    )
    page.click("#upload")
    expect(page.locator("#upload-status")).to_have_text(f"Imported {len(numbers)} targets.")

    _go(page, "/outplans")
    form = page.locator("#outplan-form")
    form.locator("input[name=name]").fill("flow plan")
    form.locator("input[name=source_target]").fill("+15559876543")
    form.locator("input[name=dial_timeout]").fill("2000")
    form.locator("input[name=try_interval]").fill("0")
    form.locator("input[name=max_try_count_0]").fill("1")
    form.locator("input[name=window_on]").check()
    for day in (6, 7):
        form.locator(f"input[name=day_{day}]").check()
    form.locator("input[name=window_start]").fill("00:00")
    form.locator("input[name=window_end]").fill("00:00")  # whole days: open now
    form.locator("#save-outplan").click()
    expect(page.locator("main h1")).to_have_text("Outplan: flow plan")
    plan_id = page.url.rsplit("/", 1)[1]

    _go(page, "/campaigns")
    form = page.locator("#campaign-form")
    form.locator("input[name=name]").fill("flow campaign")
    page.select_option("#campaign-form select[name=outplan_id]", plan_id)
    page.select_option("#campaign-form select[name=outdial_id]", outdial_id)
    form.locator("input[name=max_concurrent_calls]").fill("3")
    form.locator("input[name=calls_per_second]").fill("5")
    page.click("#save-campaign")
    expect(page.locator("main h1")).to_have_text("Campaign: flow campaign")
    expect(page.locator("#targets-total")).to_have_text(str(len(numbers)))
    expect(page.locator("#live-state")).to_have_text(" · live")
    page.click("#run")
    expect(page.locator("#campaign-status")).to_have_text("run")
    expect(page.locator("#in-flight")).not_to_have_text("0", timeout=20_000)
    expect(page.locator("#calls tr.campaigncall").first).to_be_visible()  # without a reload
    _shot(page, "campaign-running")
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(ARTIFACTS / "console-readme.png"))  # docs/console.png: the view
    # Every target is done once: end_handle stop stops the campaign by itself.
    expect(page.locator("#targets-done")).to_have_text(str(len(numbers)), timeout=60_000)
    expect(page.locator("#campaign-status")).to_have_text("stop", timeout=30_000)
    page.click("#reload-calls")
    expect(page.locator("#calls tr.campaigncall")).to_have_count(len(numbers))
    page.select_option("#calls-filter select[name=reason]", "busy")
    expect(page.locator("#calls tr.campaigncall")).to_have_count(2)
    page.select_option("#calls-filter select[name=reason]", "")
    page.select_option("#calls-filter select[name=result]", "success")
    expect(page.locator("#calls tr.campaigncall")).to_have_count(8)
    page.locator("#calls tr.campaigncall button").first.click()
    expect(page.locator("#recordings")).to_contain_text("No recording for this call.")
    _shot(page, "campaign")

    with page.expect_download() as got:
        page.click("#export-csv")
    rows = list(csv.DictReader(io.StringIO(Path(got.value.path()).read_text())))
    attempts = [r for r in rows if r.get("kind", "attempt") == "attempt"]
    assert len(attempts) >= len(numbers)
    with page.expect_download() as got:
        page.click("#export-json")
    records = json.loads(Path(got.value.path()).read_text())
    assert len(records) == len(rows)
    assert got.value.suggested_filename.endswith(".json")

    # The global calls page and a target's page after the run.
    _go(page, "/calls")
    page.select_option("#calls-filter select[name=result]", "fail")
    # every failed call of the customer (other tests of this module may have made some)
    listed = env["api"].get("/campaigncalls", params={"page_size": 100}).json()["result"]
    failed = sum(1 for c in listed if c["result"] == "fail")
    assert failed >= 2
    expect(page.locator("#calls tr.campaigncall")).to_have_count(failed)
    _shot(page, "calls")
    page.locator("#calls tr.campaigncall a").first.click()
    expect(page.locator("main h1")).to_contain_text("Target:")
    expect(page.locator("main section").nth(2)).to_contain_text("busy")


def test_the_browser_reads_csv_as_rfc_4180_and_maps_row_errors_to_lines(page: Any) -> None:
    """The fallback uploader's reader (upload.js): quoted cells with commas, doubled quotes
    and line breaks; CRLF; blank lines; each record keeps the line it starts on."""
    text = 'name,destination_0\r\n"Smith, J","tel:+15550100000"\r\n\r\n"say ""hi""\nthere",x\n'
    found = page.evaluate(
        "(t) => import('/console/upload.js').then((m) => [...m.csvRecords(t)])", text
    )
    assert found == [
        {"line": 1, "cells": ["name", "destination_0"]},
        {"line": 2, "cells": ["Smith, J", "tel:+15550100000"]},
        {"line": 4, "cells": ['say "hi"\nthere', "x"]},
    ]
    mapped = page.evaluate(
        "() => import('/console/upload.js').then((m) => ["
        "m.rowError('item 1: destination_0.target must be E.164', (n) => [7, 9][n]),"
        "m.rowError('line 12: at least one of destination_0..destination_4 must be set'),"
        "m.rowError('unknown column(s) phone')])"
    )
    assert mapped == [
        {"line": 9, "field": "destination_0.target", "message": "must be E.164"},
        {
            "line": 12,
            "field": "",
            "message": "at least one of destination_0..destination_4 must be set",
        },
        {"line": "", "field": "", "message": "unknown column(s) phone"},
    ]


def test_the_keyboard_skips_to_the_content_and_navigates(page: Any) -> None:
    _go(page, "/dnc")
    page.locator(".skip").focus()
    page.keyboard.press("Enter")
    assert page.evaluate("[document.activeElement.id, location.hash]") == ["view", "#/dnc"]
    page.locator("nav a[href='#/lists']").focus()
    page.keyboard.press("Enter")
    page.locator("body[data-shown='#/lists']").wait_for(state="attached")
    assert page.locator("nav a[aria-current=page]").inner_text() == "Lists"
    page.keyboard.press("Tab")  # from the page, the first control of its form
    assert page.evaluate("document.activeElement.name") == "name"


def test_run_and_stop_from_the_campaign_page(page: Any, env: dict[str, Any]) -> None:
    from playwright.sync_api import expect

    api = env["api"]
    source = {"type": "tel", "target": "+15559876543"}
    plan = api.post(
        "/outplans", json={"source": source, "dial_timeout": 5000, "max_try_count_0": 1}
    ).json()
    outdial = api.post("/outdials", json={"name": "never answers"}).json()
    rings = [{"destination_0": f"tel:+408555{n:04d}"} for n in range(20)]  # 408: rings on
    api.post(f"/outdials/{outdial['id']}/targets_bulk", json=rings)
    refs = {"outplan_id": plan["id"], "outdial_id": outdial["id"], "max_concurrent_calls": 2}
    campaign = api.post("/campaigns", json={"name": "stoppable", **refs}).json()
    _go(page, f"/campaigns/{campaign['id']}")
    expect(page.locator("#stop")).to_be_disabled()
    page.click("#run")
    expect(page.locator("#campaign-status")).to_have_text("run")
    expect(page.locator("#in-flight")).to_have_text("2", timeout=20_000)
    page.click("#stop")
    expect(page.locator("#campaign-status")).to_have_text(re.compile("^stop"))
    expect(page.locator("#campaign-status")).to_have_text("stop", timeout=30_000)
    expect(page.locator("#run")).to_be_enabled()
    assert api.get(f"/campaigns/{campaign['id']}").json()["status"] == "stop"
