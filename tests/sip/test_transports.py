"""SIP over TCP and TLS (issue 11, transports): trunks given as URIs, sip destinations with a
transport parameter, connection reuse, keep-alive, certificate checks, large requests."""

from __future__ import annotations

import asyncio
import socket
from types import SimpleNamespace

import pytest

from outdial.domain.outcome import HangupReason
from outdial.telephony.sip import SipAnsweringPeer, SipConfig, SipTelephony
from outdial.telephony.sip.config import sip_values
from outdial.telephony.sip.hop import Hop
from outdial.telephony.sip.transport import SipTransport

SLEEP = [{"type": "sleep", "option": {"duration": 200}}]


async def test_a_tcp_trunk_carries_the_whole_call(
    peer: SipAnsweringPeer, telephony, kit: SimpleNamespace
) -> None:
    values = sip_values(trunk=f"sip:127.0.0.1:{peer.port};transport=tcp")
    tel = await telephony(values.pop("trunk"), **values)
    for number in ("+15550001", "+4865550001"):
        request = kit.call_request(kit.tel(number), actions=SLEEP)
        outcome = await tel.place_call(request, kit.no_op)
        seen = peer.calls[str(request.call_id)]
        assert seen.invite is not None and seen.source.transport == "TCP"
        assert (seen.invite.get("Via") or "").startswith("SIP/2.0/TCP ")
        assert "transport=tcp" in (seen.invite.get("Contact") or "")
        await asyncio.wait_for(seen.done.wait(), 2)
        if number == "+15550001":
            assert outcome.reason is HangupReason.NORMAL and seen.bye_received
            assert peer.rtp_packets()[str(request.call_id)] >= 8
        else:
            assert (outcome.reason, outcome.sip_code) == (HangupReason.BUSY, 486)
    assert tel.transport.pool.opened == 1  # both calls over one connection


async def test_a_sip_destination_with_transport_tcp(
    peer: SipAnsweringPeer, telephony, kit: SimpleNamespace
) -> None:
    tel = await telephony()
    request = kit.call_request(kit.sip(f"5551@127.0.0.1:{peer.port};transport=tcp"), actions=SLEEP)
    outcome = await tel.place_call(request, kit.no_op)
    assert outcome.reason is HangupReason.NORMAL
    assert peer.calls[str(request.call_id)].source.transport == "TCP"


async def test_a_far_end_bye_over_tcp(telephony, kit: SimpleNamespace) -> None:
    far = SipAnsweringPeer(ring_ms=20, hangup_after_ms=200)
    await far.start()
    try:
        values = sip_values(trunk=f"sip:127.0.0.1:{far.port};transport=tcp")
        tel = await telephony(values.pop("trunk"), **values)
        long_sleep = [{"type": "sleep", "option": {"duration": 30_000}}]
        outcome = await asyncio.wait_for(
            tel.place_call(kit.call_request(kit.tel("+15550000"), actions=long_sleep), kit.no_op), 5
        )
        assert (outcome.reason, outcome.detail) == (HangupReason.NORMAL, "the far end hung up")
    finally:
        await far.stop()


async def test_tls_trunk_with_the_operators_ca(telephony, kit: SimpleNamespace, tls_files) -> None:
    far = SipAnsweringPeer(ring_ms=20, tls=kit.server_context(tls_files))
    await far.start()
    try:
        values = sip_values(trunk=f"sips:localhost:{far.tls_port}", tls_ca_file=str(tls_files.ca))
        tel = await telephony(values.pop("trunk"), **values)
        request = kit.call_request(kit.tel("+15550000"), actions=SLEEP)
        outcome = await tel.place_call(request, kit.no_op)
        assert outcome.reason is HangupReason.NORMAL, outcome
        seen = far.calls[str(request.call_id)]
        assert seen.source.transport == "TLS" and seen.bye_received
        assert seen.invite is not None and seen.invite.uri.startswith("sips:+15550000@localhost")
        assert (seen.invite.get("Contact") or "").startswith("<sips:")
    finally:
        await far.stop()


async def test_tls_certificates_are_verified_unless_the_operator_says_not(
    telephony, kit: SimpleNamespace, tls_files
) -> None:
    far = SipAnsweringPeer(ring_ms=20, tls=kit.server_context(tls_files))
    await far.start()
    try:
        trunk = f"sip:localhost:{far.tls_port};transport=tls"
        values = sip_values(trunk=trunk)  # the system CAs do not know the test CA
        tel = await telephony(values.pop("trunk"), **values)
        outcome = await tel.place_call(kit.call_request(kit.tel("+15550000")), kit.no_op)
        assert outcome.reason is HangupReason.FAILED
        assert "TLS connection failed" in outcome.detail and "certificate" in outcome.detail
        assert far.calls == {}
        values = sip_values(trunk=trunk, tls_no_verify="localhost")
        tel = await telephony(values.pop("trunk"), **values)
        outcome = await tel.place_call(kit.call_request(kit.tel("+15550000")), kit.no_op)
        assert outcome.reason is HangupReason.NORMAL
    finally:
        await far.stop()


async def test_a_refused_connection_fails_the_attempt_at_once(
    telephony, kit: SimpleNamespace
) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
        port = closed.getsockname()[1]
        values = sip_values(trunk=f"sip:127.0.0.1:{port};transport=tcp")
        tel = await telephony(values.pop("trunk"), t1_ms=5000, **values)  # timer B: 320 s
        outcome = await asyncio.wait_for(
            tel.place_call(kit.call_request(kit.tel("+15550000")), kit.no_op), 10
        )
        assert outcome.reason is HangupReason.FAILED and "TCP connection failed" in outcome.detail


async def test_crlf_keepalive_ping_gets_a_pong(telephony) -> None:
    tel = await telephony()
    reader, writer = await asyncio.open_connection(*tel.local_address)
    try:
        writer.write(b"\r\n\r\n")
        await writer.drain()
        assert await asyncio.wait_for(reader.readexactly(2), 3) == b"\r\n"
    finally:
        writer.close()
        await writer.wait_closed()


async def test_keepalives_are_sent_on_our_connections(telephony, kit: SimpleNamespace) -> None:
    received: asyncio.Queue[bytes] = asyncio.Queue()
    writers: list[asyncio.StreamWriter] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        while data := await reader.read(4096):
            received.put_nowait(data)

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        values = sip_values(trunk=f"sip:127.0.0.1:{port};transport=tcp")
        tel = await telephony(values.pop("trunk"), keepalive_s=0.2, **values)
        call = asyncio.create_task(
            tel.place_call(kit.call_request(kit.tel("+15550000")), kit.no_op)
        )
        first = await asyncio.wait_for(received.get(), 3)
        assert first.startswith(b"INVITE ")
        assert await asyncio.wait_for(received.get(), 3) == b"\r\n\r\n"
        call.cancel()
    finally:
        for writer in writers:
            writer.close()
        server.close()
        await server.wait_closed()


def test_a_large_request_goes_over_tcp() -> None:
    small = b"INVITE sip:x@h SIP/2.0\r\nVia: SIP/2.0/UDP 1.2.3.4:5060;branch=z9hG4bK1\r\n\r\n"
    assert SipTransport.hop_for(small, Hop("1.2.3.4", 5060)) == (small, Hop("1.2.3.4", 5060))
    big = small + b"x" * 1300
    data, hop = SipTransport.hop_for(big, Hop("1.2.3.4", 5060))
    assert hop == Hop("1.2.3.4", 5060, "TCP")
    assert b"\r\nVia: SIP/2.0/TCP 1.2.3.4:5060;branch=z9hG4bK1\r\n" in data
    assert data.endswith(b"x" * 1300)


def test_trunk_settings() -> None:
    assert sip_values(trunk="10.0.0.1")["trunk"] == ("10.0.0.1", 5060)
    assert sip_values(trunk="trunk.example")["trunk"] == ("trunk.example", 0)  # DNS SRV
    tls = sip_values(trunk="sips:10.0.0.1")
    assert (tls["trunk"], tls["trunk_transport"]) == (("10.0.0.1", 5061), "TLS")
    tcp = sip_values(trunk="sip:trunk.example:5080;transport=TCP")
    assert (tcp["trunk"], tcp["trunk_transport"]) == (("trunk.example", 5080), "TCP")
    config = SipConfig.from_env({"OUTDIAL_SIP_TRUNK": "sip:[::1]:5070;transport=tls"})
    assert (config.trunk, config.trunk_transport) == (("::1", 5070), "TLS")


def test_udp_tcp_and_tls_calls_on_uvloop(tls_files, kit: SimpleNamespace, tmp_path) -> None:
    """The CLI runs on uvloop when it is installed: the same calls work there."""
    uvloop = pytest.importorskip("uvloop")

    async def scenario() -> list[tuple[str, HangupReason]]:
        peer = SipAnsweringPeer(ring_ms=20, tls=kit.server_context(tls_files))
        await peer.start()
        tel = SipTelephony(
            SipConfig(None, ("127.0.0.1", 0), cache_dir=tmp_path, network=kit.loopback,
                      tls_ca_file=tls_files.ca)
        )  # fmt: skip
        await tel.start()
        try:
            results = []
            for target in (
                f"5551@127.0.0.1:{peer.port}",
                f"5551@127.0.0.1:{peer.port};transport=tcp",
                f"5551@localhost:{peer.tls_port};transport=tls",
            ):
                request = kit.call_request(kit.sip(target), actions=SLEEP)
                outcome = await tel.place_call(request, kit.no_op)
                results.append((peer.calls[str(request.call_id)].source.transport, outcome.reason))
            return results
        finally:
            await tel.stop()
            await peer.stop()

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        results = runner.run(scenario())
    assert results == [("UDP", HangupReason.NORMAL), ("TCP", HangupReason.NORMAL),
                       ("TLS", HangupReason.NORMAL)]  # fmt: skip
