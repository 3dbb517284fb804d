"""`/v1.0/agents/{id}/phone` (the browser as the agent's phone, docs/agents.md): authenticated
and per customer like every agent route; without browser phones in the process (the sim
telephony, no engine, no aiortc) a clear 409 WEBRTC_UNAVAILABLE; with them, the offer goes to
the process's `PhoneBook` (a fake here; the real one is in tests/sip/test_webrtc_phone.py)."""

from __future__ import annotations

import sys
import uuid
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.api.helpers import error
from tests.conftest import Tenant

OFFER = {"type": "offer", "sdp": "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\n"}


@dataclass
class FakePhone:
    state: str = "connected"


@dataclass
class FakePhones:
    opened: list[tuple[uuid.UUID, uuid.UUID, str]] = field(default_factory=list)
    closed: list[tuple[uuid.UUID, uuid.UUID]] = field(default_factory=list)
    phones: dict[uuid.UUID, FakePhone] = field(default_factory=dict)

    async def open(self, customer_id: uuid.UUID, agent_id: uuid.UUID, offer: str) -> str:
        self.opened.append((customer_id, agent_id, offer))
        self.phones[agent_id] = FakePhone()
        return "v=0 the answer"

    def get(self, customer_id: uuid.UUID, agent_id: uuid.UUID) -> FakePhone | None:
        return self.phones.get(agent_id)

    async def close(self, customer_id: uuid.UUID, agent_id: uuid.UUID) -> bool:
        self.closed.append((customer_id, agent_id))
        return self.phones.pop(agent_id, None) is not None


async def _agent(tenant: Tenant) -> dict[str, Any]:
    body = {"username": "ann@example.com", "password": "long enough secret", "name": "Ann"}
    agent: dict[str, Any] = await tenant.ok("POST", "/v1.0/agents", json=body)
    return agent


async def test_without_browser_phones_a_clear_409(tenant: Tenant) -> None:
    agent = await _agent(tenant)
    path = f"/v1.0/agents/{agent['id']}/phone"
    r = await tenant.call("POST", path, json=OFFER)
    error(r, 409, "FAILED_PRECONDITION", "WEBRTC_UNAVAILABLE")
    assert "--telephony sip" in r.json()["error"]["message"]
    closed = {"agent_id": agent["id"], "type": "", "sdp": "", "state": "closed"}
    assert await tenant.ok("GET", path) == closed
    assert await tenant.ok("DELETE", path) == closed


async def test_the_offer_goes_to_the_phone_book(tenant: Tenant, other_tenant: Tenant) -> None:
    phones = FakePhones()
    tenant.client._transport.app.state.phones = phones  # type: ignore[attr-defined]
    agent = await _agent(tenant)
    path = f"/v1.0/agents/{agent['id']}/phone"
    got = await tenant.ok("POST", path, json=OFFER)
    assert got == {"agent_id": agent["id"], "type": "answer", "sdp": "v=0 the answer",
                   "state": "connected"}  # fmt: skip
    assert phones.opened == [(tenant.customer_id, uuid.UUID(agent["id"]), OFFER["sdp"])]
    assert (await tenant.ok("GET", path))["state"] == "connected"
    # another customer cannot reach the agent, nor an unknown one; a body without sdp is a 400
    missing = ("NOT_FOUND", "AGENT_NOT_FOUND")
    error(await other_tenant.call("POST", path, json=OFFER), 404, *missing)
    error(await other_tenant.call("DELETE", path), 404, *missing)
    error(await other_tenant.call("GET", path), 404, *missing)
    error(
        await tenant.call("POST", f"/v1.0/agents/{uuid.uuid4()}/phone", json=OFFER), 404, *missing
    )
    error(await tenant.call("POST", path, json={"type": "offer"}), 400, "INVALID_ARGUMENT")
    bad = {"type": "answer", "sdp": "v=0"}
    error(await tenant.call("POST", path, json=bad), 400, "INVALID_ARGUMENT")
    assert len(phones.opened) == 1
    assert (await tenant.ok("DELETE", path))["state"] == "closed"
    assert phones.closed == [(tenant.customer_id, uuid.UUID(agent["id"]))]
    assert (await tenant.ok("GET", path))["state"] == "closed"


async def test_no_credentials_no_phone(tenant: Tenant) -> None:
    agent = await _agent(tenant)
    r = await tenant.client.post(f"/v1.0/agents/{agent['id']}/phone", json=OFFER)
    assert r.status_code == 401


async def test_without_aiortc_the_phone_book_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    """outdial runs without the `webrtc` extra: opening a phone is a 409 with the reason."""
    from outdial.telephony.webrtc import PhoneBook, PhoneUnavailable, available

    monkeypatch.setitem(sys.modules, "aiortc", None)  # import aiortc raises ImportError
    assert "outdial[webrtc]" in (available() or "")
    with pytest.raises(PhoneUnavailable) as raised:
        await PhoneBook().open(uuid.uuid4(), uuid.uuid4(), OFFER["sdp"])
    assert raised.value.reason == "WEBRTC_UNAVAILABLE"
