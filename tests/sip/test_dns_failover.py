"""A trunk given as a domain: NAPTR/SRV (RFC 3263) from the test's own DNS server on loopback,
failover within one attempt on 503, timeout or a refused connection, and the circuit breaker
shared by every call."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import AsyncIterator
from types import SimpleNamespace

import pytest

from outdial.domain.outcome import HangupReason
from outdial.telephony.sip import SipAnsweringPeer
from outdial.telephony.sip.resolver import SrvTarget, order_srv
from tests.sip.dnsserver import DnsZone
from tests.sip.rawsip import drain, recv, reply, udp

SLEEP = [{"type": "sleep", "option": {"duration": 100}}]


@pytest.fixture
async def zone() -> AsyncIterator[DnsZone]:
    server = DnsZone()
    await server.start()
    yield server
    server.stop()


async def trunk_telephony(telephony, zone: DnsZone, **extra):
    return await telephony(("trunk.test", 0), dns_servers=(("127.0.0.1", zone.port),), **extra)


async def test_naptr_and_srv_choose_transport_and_servers(
    zone: DnsZone, peer: SipAnsweringPeer, telephony, kit: SimpleNamespace
) -> None:
    zone.naptr("trunk.test", "SIP+D2T", "_sip._tcp.trunk.test")
    zone.srv("_sip._tcp.trunk.test", "sbc1.trunk.test", peer.port)
    zone.a("sbc1.trunk.test", "127.0.0.1")
    tel = await trunk_telephony(telephony, zone)
    request = kit.call_request(kit.tel("+15550001"), actions=SLEEP)
    outcome = await tel.place_call(request, kit.no_op)
    assert outcome.reason is HangupReason.NORMAL
    seen = peer.calls[str(request.call_id)]
    assert seen.source.transport == "TCP"
    assert seen.invite is not None and seen.invite.uri == "sip:+15550001@trunk.test"
    assert ("trunk.test", "NAPTR") in zone.queries and (
        "_sip._tcp.trunk.test",
        "SRV",
    ) in zone.queries


async def test_a_503_fails_over_to_the_next_server_and_the_breaker_remembers(
    zone: DnsZone, peer: SipAnsweringPeer, telephony, kit: SimpleNamespace
) -> None:
    with udp() as first:
        zone.srv("_sip._udp.trunk.test", "sbc1.trunk.test", first.getsockname()[1], priority=10)
        zone.srv("_sip._udp.trunk.test", "sbc2.trunk.test", peer.port, priority=20)
        zone.a("sbc1.trunk.test", "127.0.0.1")
        zone.a("sbc2.trunk.test", "127.0.0.1")
        tel = await trunk_telephony(telephony, zone)
        call = asyncio.create_task(
            tel.place_call(kit.call_request(kit.tel("+15550001"), actions=SLEEP), kit.no_op)
        )
        invite, addr = await recv(first)
        first.sendto(reply(invite, 503), addr)
        outcome = await asyncio.wait_for(call, 5)
        assert (outcome.reason, outcome.sip_code) == (HangupReason.NORMAL, 200)
        assert [m.method for m in drain(first)] == ["ACK"]
        second = kit.call_request(kit.tel("+15550002"), actions=SLEEP)
        assert (await tel.place_call(second, kit.no_op)).reason is HangupReason.NORMAL
        assert drain(first) == []  # skipped for 30 s by every call
        assert str(second.call_id) in peer.calls


async def test_no_answer_at_all_fails_over_within_the_dial_timeout(
    zone: DnsZone, peer: SipAnsweringPeer, telephony, kit: SimpleNamespace
) -> None:
    with udp() as silent:
        zone.srv("_sip._udp.trunk.test", "sbc1.trunk.test", silent.getsockname()[1], priority=1)
        zone.srv("_sip._udp.trunk.test", "sbc2.trunk.test", peer.port, priority=2)
        zone.a("sbc1.trunk.test", "127.0.0.1")
        zone.a("sbc2.trunk.test", "127.0.0.1")
        tel = await trunk_telephony(telephony, zone, failover_ms=300)
        request = kit.call_request(kit.tel("+15550001"), dial_timeout_ms=5000, actions=SLEEP)
        outcome = await asyncio.wait_for(tel.place_call(request, kit.no_op), 5)
        assert outcome.reason is HangupReason.NORMAL
        assert {m.method for m in drain(silent)} == {"INVITE"}


async def test_a_refused_tcp_connection_fails_over(
    zone: DnsZone, peer: SipAnsweringPeer, telephony, kit: SimpleNamespace
) -> None:
    import socket

    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        zone.srv("_sip._tcp.trunk.test", "dead.trunk.test", closed.getsockname()[1], priority=1)
        zone.srv("_sip._tcp.trunk.test", "live.trunk.test", peer.port, priority=2)
        zone.a("dead.trunk.test", "127.0.0.1")
        zone.a("live.trunk.test", "127.0.0.1")
        tel = await telephony(
            ("trunk.test", 0), trunk_transport="TCP", trunk_explicit_transport=True,
            dns_servers=(("127.0.0.1", zone.port),),
        )  # fmt: skip
        outcome = await tel.place_call(kit.call_request(kit.tel("+15550001")), kit.no_op)
        assert outcome.reason is HangupReason.NORMAL


def test_srv_order_is_priority_then_weight() -> None:
    records = [SrvTarget(20, 0, 1, "c"), SrvTarget(10, 90, 1, "a"), SrvTarget(10, 10, 1, "b")]
    firsts = Counter(order_srv(records, random.Random(seed))[0].target for seed in range(400))
    assert set(firsts) == {"a", "b"} and firsts["a"] > 3 * firsts["b"]
    assert all(order_srv(records, random.Random(s))[2].target == "c" for s in range(50))
