"""Trunk credentials go only to the trunk and its realm; sip destinations and 3xx Contacts
obey the network policy (issue 10, items 1 and 2)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest

from outdial.domain.netpolicy import NetworkPolicy
from outdial.domain.outcome import HangupReason
from tests.sip.rawsip import (
    SDP_PCMU,
    SDP_TYPE,
    challenge,
    drain,
    has_credentials,
    recv,
    recv_request,
    reply,
    udp,
)

CREDS = {"username": "acct", "password": "secret"}


async def test_a_challenging_host_that_is_not_the_trunk_gets_no_credentials(
    peer, telephony, kit: SimpleNamespace
) -> None:
    with udp() as far:
        port = far.getsockname()[1]
        tel = await telephony(("127.0.0.1", peer.port), **CREDS)
        call = asyncio.create_task(
            tel.place_call(kit.call_request(kit.sip(f"x@127.0.0.1:{port}")), kit.no_op)
        )
        invite, addr = await recv(far)
        far.sendto(reply(invite, 401, challenge("trunk.test", "n1")), addr)
        outcome = await asyncio.wait_for(call, 3)
        assert (outcome.reason, outcome.sip_code) == (HangupReason.FAILED, 401)
        assert "not the trunk" in outcome.detail
        await asyncio.sleep(0.2)
        seen = [invite, *drain(far)]
        assert [m.method for m in seen] == ["INVITE", "ACK"]
        assert not any(has_credentials(m) for m in seen)


async def _trunk_call(tel, kit, trunk, number: str, realm: str, *, accept: bool):
    """One tel call to a raw trunk that challenges with `realm`; if `accept`, it answers the
    INVITE with credentials and the call ends normally. Returns (outcome, messages seen)."""
    call = asyncio.create_task(
        tel.place_call(kit.call_request(kit.tel(number), actions=[]), kit.no_op)
    )
    invite, addr = await recv(trunk)
    trunk.sendto(reply(invite, 407, challenge(realm, f"nonce-{number}", proxy=True)), addr)
    seen = [invite]
    if accept:
        again, addr = await recv_request(trunk, "INVITE")
        seen.append(again)
        trunk.sendto(reply(again, 200, ("Contact", f"<sip:t@127.0.0.1:{trunk.getsockname()[1]}>"),
                           SDP_TYPE, body=SDP_PCMU), addr)  # fmt: skip
        bye, addr = await recv_request(trunk, "BYE")
        trunk.sendto(reply(bye, 200), addr)
    outcome = await asyncio.wait_for(call, 3)
    await asyncio.sleep(0.1)
    return outcome, seen + drain(trunk)


async def test_only_the_configured_realm_is_answered(telephony, kit: SimpleNamespace) -> None:
    with udp() as trunk:
        tel = await telephony(("127.0.0.1", trunk.getsockname()[1]), realms=("good",), **CREDS)
        outcome, seen = await _trunk_call(tel, kit, trunk, "+15550001", "evil", accept=False)
        assert (outcome.reason, outcome.sip_code) == (HangupReason.FAILED, 407)
        assert "'evil' is not the trunk's realm" in outcome.detail
        assert not any(has_credentials(m) for m in seen)
        outcome, seen = await _trunk_call(tel, kit, trunk, "+15550002", "good", accept=True)
        assert outcome.reason is HangupReason.NORMAL
        assert 'realm="good"' in (seen[1].get("Proxy-Authorization") or "")


async def test_without_a_configured_realm_the_first_one_is_remembered(
    telephony, kit: SimpleNamespace
) -> None:
    with udp() as trunk:
        tel = await telephony(("127.0.0.1", trunk.getsockname()[1]), **CREDS)
        outcome, _ = await _trunk_call(tel, kit, trunk, "+15550001", "first", accept=True)
        assert outcome.reason is HangupReason.NORMAL
        outcome, seen = await _trunk_call(tel, kit, trunk, "+15550002", "second", accept=False)
        assert (outcome.reason, outcome.sip_code) == (HangupReason.FAILED, 407)
        assert "'second' is not the trunk's realm ('first'" in outcome.detail
        assert not any(has_credentials(m) for m in seen)


@pytest.mark.parametrize("host", ["127.0.0.1", "2130706433", "0x7f000001", "localhost"])
async def test_a_blocked_sip_destination_is_never_sent_to(
    telephony, kit: SimpleNamespace, host: str
) -> None:
    with udp() as far:
        port = far.getsockname()[1]
        tel = await telephony(network=NetworkPolicy())  # the default: nothing private
        outcome = await tel.place_call(kit.call_request(kit.sip(f"x@{host}:{port}")), kit.no_op)
        assert (outcome.reason, outcome.detail, outcome.sip_code) == (
            HangupReason.FAILED, "destination_blocked", None,
        )  # fmt: skip
        await asyncio.sleep(0.1)
        assert drain(far) == []


async def test_the_own_sip_socket_is_blocked_even_when_loopback_is_open(
    telephony, kit: SimpleNamespace
) -> None:
    tel = await telephony()
    own = tel.local_address[1]
    outcome = await tel.place_call(kit.call_request(kit.sip(f"x@127.0.0.1:{own}")), kit.no_op)
    assert (outcome.reason, outcome.detail) == (HangupReason.FAILED, "destination_blocked")


async def test_a_redirection_to_a_blocked_address_is_not_followed(
    telephony, kit: SimpleNamespace
) -> None:
    with udp("127.0.0.1") as far, udp("127.0.0.2") as inside:
        port, inside_port = far.getsockname()[1], inside.getsockname()[1]
        tel = await telephony(network=NetworkPolicy.from_text("127.0.0.1/32"))
        call = asyncio.create_task(
            tel.place_call(kit.call_request(kit.sip(f"x@127.0.0.1:{port}")), kit.no_op)
        )
        invite, addr = await recv(far)
        far.sendto(reply(invite, 302, ("Contact", f"<sip:y@127.0.0.2:{inside_port}>")), addr)
        outcome = await asyncio.wait_for(call, 3)
        assert (outcome.reason, outcome.sip_code, outcome.detail) == (
            HangupReason.FAILED, 302, "destination_blocked",
        )  # fmt: skip
        await asyncio.sleep(0.1)
        assert drain(inside) == []
