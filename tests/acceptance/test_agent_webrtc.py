"""Issue 14 stretch: the browser as the agent's phone (telephony/webrtc.py, console/phone.js).

Through `outdial serve --telephony sip` and headless Chromium with its fake microphone (a beep
every second): the agent's page opens its browser phone (`startPhone`, WebRTC to outdial's
aiortc); a campaign with a queue dials a callee on the local answering peer (777: a voicemail
greeting of 4-8 s, talking while the bridge starts even on a loaded machine), and the answered
callee is connected to the browser, not to a SIP address.
Audio flows both ways: the callee receives non-silent G.711 (the browser's beep, relayed by
outdial) and the browser's `getStats()` counts audio packets and energy received (the callee's
voice; the silence outdial sends between calls has none).
Hanging the phone up (DELETE) ends the call; a page that closes makes the agent `offline`."""

from __future__ import annotations

import asyncio
import math
import threading
import time
from array import array
from pathlib import Path
from typing import Any

import httpx
import pytest

from outdial.telephony.sip import SipAnsweringPeer
from outdial.telephony.sip.g711 import decode
from tests.acceptance.server import Server, cli
from tests.acceptance.test_dashboard import ARGS, CHROMIUM, IN_CI, _browser_missing

pytestmark = [pytest.mark.slow, pytest.mark.browser]
FAKE_MEDIA = [
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
    "--allow-loopback-in-peer-connection",
    "--disable-features=WebRtcHideLocalIpsWithMdns",
]


def _missing() -> str | None:
    problem = _browser_missing()
    if problem is not None:
        return problem
    try:
        import aiortc  # noqa: F401
    except ImportError:
        return "aiortc not installed (pip install 'outdial[webrtc]')"
    return None


class HearingPeer(SipAnsweringPeer):
    """The trunk's answering peer, keeping the loudest 20 ms of audio it received (RMS)."""

    def __init__(self) -> None:
        super().__init__(ring_ms=100)
        self.audio_packets = 0
        self.loudest = 0.0

    def _heard(self, call: Any, data: bytes) -> None:
        pt = data[1] & 0x7F if len(data) >= 12 else -1
        if pt in (0, 8) and data[0] == 0x80:
            self.audio_packets += 1
            pcm = array("h")
            pcm.frombytes(decode(data[12:], pt))
            if pcm:
                rms = math.sqrt(sum(s * s for s in pcm) / len(pcm))
                self.loudest = max(self.loudest, rms)
        super()._heard(call, data)


class Trunk:
    def __init__(self) -> None:
        self.peer = HearingPeer()
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=asyncio.run, args=(self._main(),), daemon=True)
        self._thread.start()
        if not self._ready.wait(30):
            raise RuntimeError("the SIP peer did not start")

    async def _main(self) -> None:
        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        try:
            await self.peer.start()
            self._ready.set()
            await self._stop.wait()
        finally:
            await self.peer.stop()

    def close(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)


def _until(check: Any, seconds: float, what: str) -> Any:
    deadline = time.monotonic() + seconds  # a wait for progress, not a bound on speed
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        time.sleep(0.2)
    raise AssertionError(f"not within {seconds} s: {what}")


def _heard(page: Any, before: dict[str, float]) -> dict[str, float] | None:
    now: dict[str, float] = page.evaluate("async () => (await window.__phone.stats())")
    more = now["packetsReceived"] - before["packetsReceived"]
    louder = now["totalAudioEnergy"] - before["totalAudioEnergy"]
    return now if more > 25 and louder > 1e-4 else None


# The agent page's control, in a section like the one the agent page has (`agent-phone`)
MOUNT = """async ([agentId, key]) => {
  sessionStorage.setItem("outdial-key", key);
  const { mountPhoneControl } = await import("/console/phone.js");
  const section = document.createElement("section");
  section.id = "agent-phone";
  document.body.append(section);
  window.__control = mountPhoneControl(section, agentId);
}"""


def _open_phone(page: Any, agent_id: str, key: str) -> None:
    page.evaluate(MOUNT, [agent_id, key])
    page.click("#agent-phone button")
    page.wait_for_function("() => window.__control.phone !== null", timeout=15000)
    page.evaluate("() => { window.__phone = window.__control.phone; }")
    _until(
        lambda: page.evaluate("() => window.__phone.state()") == "connected",
        15,
        "the browser phone connected",
    )


@pytest.mark.timeout(240)  # about 30 s; Chromium starts slowly on a loaded machine
def test_the_browser_is_the_agents_phone(
    sqlite_database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    problem = _missing()
    if problem is not None:
        if IN_CI:
            pytest.fail(f"the browser phone test must run in CI: {problem}")
        pytest.skip(problem)
    from playwright.sync_api import sync_playwright

    url = sqlite_database_url
    trunk = Trunk()
    monkeypatch.setenv("OUTDIAL_SIP_TRUNK", f"127.0.0.1:{trunk.peer.port}")
    monkeypatch.setenv("OUTDIAL_SIP_BIND", "127.0.0.1:0")
    monkeypatch.setenv("OUTDIAL_WEBRTC_ADDRESSES", "127.0.0.1")  # ICE on loopback only
    customer = cli("customers", "create", "--name", "acme", "--database-url", url)
    key = cli("accesskeys", "create", "--customer-id", customer["id"], "--database-url", url)
    server = Server(
        url, tmp_path / "serve.log", "--telephony", "sip",
        "--allow-private-networks", "127.0.0.0/8",
    )  # fmt: skip
    api = httpx.Client(base_url=f"{server.url}/v1.0", params={"token": key["token"]}, timeout=10)
    try:
        tag = api.post("/tags", json={"name": "sales", "detail": ""}).json()
        r = api.post(
            "/agents",
            json={"username": "ann@example.com", "password": "long enough secret",
                  "name": "Ann", "detail": "", "ring_method": "ringall", "permission": 0,
                  "tag_ids": [tag["id"]], "addresses": []},
        )  # fmt: skip
        assert r.status_code == 200, r.text
        agent = r.json()
        # no phone yet; an offer that is not SDP is refused
        assert api.get(f"/agents/{agent['id']}/phone").json()["state"] == "closed"
        r = api.post(f"/agents/{agent['id']}/phone", json={"type": "offer", "sdp": "v=0"})
        assert r.status_code == 400, r.text
        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=CHROMIUM, args=[*ARGS, *FAKE_MEDIA], headless=True
            )
            try:
                page = browser.new_page()
                page.goto(f"{server.url}/console")
                _open_phone(page, agent["id"], key["token"])
                assert api.get(f"/agents/{agent['id']}/phone").json()["state"] == "connected"
                r = api.put(f"/agents/{agent['id']}/status", json={"status": "available"})
                assert r.status_code == 200, r.text
                campaign = _campaign(api, tag["id"])

                # the callee hears the browser's microphone (the fake device's beep) ...
                _until(lambda: trunk.peer.loudest > 1000, 40, "the callee heard the browser")
                # ... and the browser receives the callee's audio: packets, and energy (the
                # silence sent between calls has none)
                before = page.evaluate("async () => (await window.__phone.stats())")
                got = _until(
                    lambda: _heard(page, before), 30, "the browser heard the callee's voice"
                )
                assert got["packetsReceived"] > before["packetsReceived"]
                calls = api.get(f"/campaigns/{campaign}/campaigncalls").json()["result"]
                assert calls and calls[0]["status"] != "done", calls
                assert (
                    api.get(f"/agents/{agent['id']}").json()["status"] == "busy"
                )  # talking (desk2: busy from the answer)

                assert page.text_content("#agent-phone [role=status]") == "Phone: connected"
                page.click("#agent-phone button")  # the agent hangs up

                def ended() -> Any:
                    found = api.get(f"/campaigns/{campaign}/campaigncalls").json()["result"]
                    done = [c for c in found if c["status"] == "done"]
                    return done[0] if done else None

                call = _until(ended, 30, "the campaigncall ended")
                assert call["agent_id"] == agent["id"], call
                assert call["abandoned"] is False and call["tm_connect"] != "", call
                stats = api.get(f"/campaigns/{campaign}/stats").json()
                assert (stats["connected"], stats["abandoned"]) == (1, 0), stats
                assert api.get(f"/agents/{agent['id']}/phone").json()["state"] == "closed"

                # a page that closes drops the phone: the agent goes offline
                page = browser.new_page()
                page.goto(f"{server.url}/console")
                _open_phone(page, agent["id"], key["token"])
                page.close()
                _until(
                    lambda: api.get(f"/agents/{agent['id']}").json()["status"] == "offline",
                    40,
                    "the agent offline after the page closed",
                )
                assert api.get(f"/agents/{agent['id']}/phone").json()["state"] == "closed"
            finally:
                browser.close()
    finally:
        api.close()
        assert server.stop() == 0
        trunk.close()


def _campaign(api: httpx.Client, tag_id: str) -> str:
    queue = api.post(
        "/queues",
        json={"name": "q", "detail": "", "routing_method": "random", "tag_ids": [tag_id],
              "wait_actions": [], "wait_timeout": 60000, "service_timeout": 600000},
    ).json()  # fmt: skip
    plan = api.post(
        "/outplans",
        json={"name": "p", "source": {"type": "tel", "target": "+15559876543"},
              "dial_timeout": 10000, "try_interval": 1000, "max_try_count_0": 1},
    ).json()  # fmt: skip
    outdial = api.post("/outdials", json={"name": "l", "detail": "", "data": ""}).json()
    r = api.post(
        f"/outdials/{outdial['id']}/targets",
        json={"name": "bob", "destination_0": {"type": "tel", "target": "+7775550001"}},
    )
    assert r.status_code == 200, r.text
    campaign = api.post(
        "/campaigns",
        json={"name": "c", "type": "call", "end_handle": "stop", "outplan_id": plan["id"],
              "outdial_id": outdial["id"], "actions": [], "queue_id": queue["id"],
              "service_level": 100, "dial_mode": "progressive"},
    ).json()  # fmt: skip
    r = api.put(f"/campaigns/{campaign['id']}/status", json={"status": "run"})
    assert r.status_code == 200, r.text
    return str(campaign["id"])
