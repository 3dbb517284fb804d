"""SipTelephony against the local answering peer and scripted raw-socket far ends."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from outdial.domain.outcome import HangupReason
from outdial.telephony.sip import (
    SipAnsweringPeer,
    SipConfig,
    SipConfigError,
    SipTelephony,
    parse_hostport,
)
from outdial.telephony.sip.message import SipMessage
from tests import virtualtime

PLAN = [
    ("+15550001", HangupReason.NORMAL, 200),
    ("+4865550001", HangupReason.BUSY, 486),
    ("+4805550001", HangupReason.NOANSWER, 480),
    ("+6035550001", HangupReason.BUSY, 603),
    ("+5035550001", HangupReason.FAILED, 503),
    ("+4085550001", HangupReason.DIALOUT, 487),
]
SLEEP = [{"type": "sleep", "option": {"duration": 200}}]


@pytest.mark.parametrize(("number", "reason", "code"), PLAN)
async def test_number_plan_through_the_peer_as_trunk_and_as_sip_host(
    peer: SipAnsweringPeer, telephony, kit: SimpleNamespace, number, reason, code
) -> None:
    tel = await telephony(("127.0.0.1", peer.port))
    for destination in (kit.tel(number), kit.sip(f"{number.lstrip('+')}@127.0.0.1:{peer.port}")):
        request = kit.call_request(destination, dial_timeout_ms=300, actions=SLEEP)
        outcome = await tel.place_call(request, kit.no_op)
        assert (outcome.reason, outcome.sip_code) == (reason, code), outcome
        assert outcome.answered is (reason is HangupReason.NORMAL)
        seen = peer.calls[str(request.call_id)]
        await asyncio.wait_for(seen.done.wait(), 2)
        assert seen.acked or seen.bye_received
        if reason is HangupReason.NORMAL:
            assert seen.bye_received and peer.rtp_packets()[str(request.call_id)] >= 8


async def test_fifty_calls_at_once_over_one_socket(
    peer: SipAnsweringPeer, telephony, kit: SimpleNamespace
) -> None:
    tel = await telephony(("127.0.0.1", peer.port))
    numbers = [PLAN[i % len(PLAN)] for i in range(50)]
    requests = [
        kit.call_request(kit.tel(f"{n}{i:03d}"), dial_timeout_ms=500, actions=SLEEP)
        for i, (n, _, _) in enumerate(numbers)
    ]
    answered: list[int] = []

    def on_answer(i: int):
        async def mark() -> None:
            answered.append(i)

        return mark

    outcomes = await asyncio.gather(
        *(tel.place_call(r, on_answer(i)) for i, r in enumerate(requests))
    )
    for (_, reason, code), outcome in zip(numbers, outcomes, strict=True):
        assert (outcome.reason, outcome.sip_code) == (reason, code)
    assert sorted(answered) == [i for i, n in enumerate(numbers) if n[1] is HangupReason.NORMAL]
    counts = peer.rtp_packets()
    for request, (_, reason, _) in zip(requests, numbers, strict=True):
        if reason is HangupReason.NORMAL:
            assert counts[str(request.call_id)] >= 8  # about 10 packets of 20 ms each
    assert tel.transport.local[1] and tel.calls_active == 0
    assert tel.transport.dialog_count == 0


def test_no_response_at_all_fails_after_timer_b(kit: SimpleNamespace, tmp_path: Path) -> None:
    """On virtual time (tests/virtualtime.py): INVITE at 0, retransmitted on timer A (T1 = 50
    ms, doubling), given up on timer B (64 * T1 = 3.2 s), exactly, however loaded the machine."""

    async def scenario() -> tuple[Any, float, list[float]]:
        loop = asyncio.get_running_loop()
        arrivals: list[float] = []
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
            silent.bind(("127.0.0.1", 0))
            silent.setblocking(False)

            def on_datagram() -> None:
                if silent.recv(65536).startswith(b"INVITE "):
                    arrivals.append(loop.time())

            loop.add_reader(silent.fileno(), on_datagram)
            config = SipConfig(
                None, ("127.0.0.1", 0), "", "", 50, cache_dir=tmp_path, network=kit.loopback
            )
            tel = SipTelephony(config)
            await tel.start()
            try:
                started = loop.time()
                request = kit.call_request(kit.sip(f"x@127.0.0.1:{silent.getsockname()[1]}"))
                outcome = await tel.place_call(request, kit.no_op)
                ended = loop.time() - started
            finally:
                await tel.stop()
                loop.remove_reader(silent.fileno())
        return outcome, ended, [round(t - started, 6) for t in arrivals]

    outcome, ended, invites = virtualtime.run(scenario())
    assert (outcome.reason, outcome.sip_code, outcome.answered) == (
        HangupReason.FAILED,
        None,
        False,
    )
    assert "timer B" in outcome.detail
    assert invites == [0.0, 0.05, 0.15, 0.35, 0.75, 1.55, 3.15]  # timer A: 50 ms, doubling
    assert ended == pytest.approx(3.2)  # timer B = 64 * T1


async def _recv(sock: socket.socket, within: float = 3) -> tuple[SipMessage, tuple[str, int]]:
    data, addr = await asyncio.wait_for(
        asyncio.get_running_loop().sock_recvfrom(sock, 65536), within
    )
    return SipMessage.parse(data), addr


def _reply(request: SipMessage, code: int, *extra: tuple[str, str], body: bytes = b"") -> bytes:
    resp = SipMessage(status=code, reason="OK" if code == 200 else "Response", body=body)
    for name in ("Via", "From"):
        resp.add(name, request.get(name) or "")
    resp.add("To", f"{request.get('To')};tag=far")
    resp.add("Call-ID", request.call_id)
    resp.add("CSeq", request.get("CSeq") or "")
    for name, value in extra:
        resp.add(name, value)
    return resp.to_bytes()


async def test_route_set_and_retransmitted_200(telephony, kit: SimpleNamespace) -> None:
    """ACK and BYE follow the reversed Record-Route; a repeated 200 OK is ACKed again."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as far:
        far.bind(("127.0.0.1", 0))
        far.setblocking(False)
        port = far.getsockname()[1]
        tel = await telephony()
        request = kit.call_request(kit.sip(f"x@127.0.0.1:{port}"), actions=SLEEP)
        call = asyncio.create_task(tel.place_call(request, kit.no_op))
        invite, addr = await _recv(far)
        ok = _reply(
            invite, 200,
            ("Record-Route", "<sip:192.0.2.1;lr>"),
            ("Record-Route", f"<sip:127.0.0.1:{port};lr;Transport=UDP>"),
            ("Contact", f"<sip:far@127.0.0.1:{port};transport=UDP>"),
            ("Content-Type", "application/sdp"),
            body=b"v=0\r\nc=IN IP4 127.0.0.1\r\nm=audio 9 RTP/AVP 0\r\n",
        )  # fmt: skip
        far.sendto(ok, addr)
        ack, _ = await _recv(far)
        assert ack.method == "ACK" and ack.uri == f"sip:far@127.0.0.1:{port};transport=UDP"
        routes = [f"<sip:127.0.0.1:{port};lr;Transport=UDP>", "<sip:192.0.2.1;lr>"]
        assert ack.get_all("Route") == routes
        assert ack.cseq == (invite.cseq[0], "ACK")
        far.sendto(ok, addr)  # the 200 OK again, as if our ACK was lost
        again, _ = await _recv(far)
        assert again == ack
        bye, bye_addr = await _recv(far)
        assert bye.method == "BYE" and bye.get_all("Route") == routes
        assert bye.cseq == (invite.cseq[0] + 1, "BYE")
        far.sendto(_reply(bye, 200), bye_addr)
        outcome = await asyncio.wait_for(call, 3)
        assert (outcome.reason, outcome.sip_code) == (HangupReason.NORMAL, 200)


async def test_a_forked_second_answer_is_acked_and_hung_up(telephony, kit: SimpleNamespace) -> None:
    """Two 2xx with different To tags (a forking proxy): the first is the call; the second is
    ACKed and gets its own BYE at once (RFC 3261 13.2.2.4); its retransmission is ACKed
    again, not answered with another BYE."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as far:
        far.bind(("127.0.0.1", 0))
        far.setblocking(False)
        port = far.getsockname()[1]
        tel = await telephony()
        request = kit.call_request(kit.sip(f"x@127.0.0.1:{port}"), actions=SLEEP)
        call = asyncio.create_task(tel.place_call(request, kit.no_op))
        invite, addr = await _recv(far)
        sdp = ("Content-Type", "application/sdp")
        body = b"v=0\r\nc=IN IP4 127.0.0.1\r\nm=audio 9 RTP/AVP 0\r\n"
        first = _reply(invite, 200, ("Contact", f"<sip:a@127.0.0.1:{port}>"), sdp, body=body)
        second = first.replace(b";tag=far", b";tag=fork2").replace(b"sip:a@", b"sip:b@")
        far.sendto(first, addr)
        far.sendto(second, addr)
        got = [await _recv(far) for _ in range(3)]
        by_kind = {(m.method, (m.get("To") or "").rsplit("tag=", 1)[1]): (m, a) for m, a in got}
        assert set(by_kind) == {("ACK", "far"), ("ACK", "fork2"), ("BYE", "fork2")}
        assert by_kind[("ACK", "fork2")][0].uri == f"sip:b@127.0.0.1:{port}"
        fork_bye, bye_addr = by_kind[("BYE", "fork2")]
        far.sendto(second, addr)  # the fork's 200 again: ACKed again, no second BYE
        again, _ = await _recv(far)
        assert again.method == "ACK" and (again.get("To") or "").endswith("tag=fork2")
        far.sendto(_reply(fork_bye, 200), bye_addr)
        bye, bye_addr = await _recv(far)  # the call itself ends after its actions
        assert bye.method == "BYE" and (bye.get("To") or "").endswith("tag=far")
        far.sendto(_reply(bye, 200), bye_addr)
        outcome = await asyncio.wait_for(call, 3)
        assert (outcome.reason, outcome.answered) == (HangupReason.NORMAL, True)


def _udp() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.setblocking(False)
    return sock


async def test_a_302_is_followed_to_its_contact(telephony, kit: SimpleNamespace) -> None:
    """The 302 is ACKed; the INVITE goes again to the Contact (same Call-ID, From tag and
    To, the next CSeq) and the call is answered there."""
    with _udp() as first, _udp() as moved:
        port, moved_port = first.getsockname()[1], moved.getsockname()[1]
        tel = await telephony()
        request = kit.call_request(kit.sip(f"x@127.0.0.1:{port}"), actions=SLEEP)
        call = asyncio.create_task(tel.place_call(request, kit.no_op))
        invite, addr = await _recv(first)
        contact = f"sip:y@127.0.0.1:{moved_port}"
        first.sendto(_reply(invite, 302, ("Contact", f"<{contact}>")), addr)
        ack, _ = await _recv(first)
        assert ack.method == "ACK" and ack.cseq == (invite.cseq[0], "ACK")
        again, addr2 = await _recv(moved)
        assert (again.method, again.uri) == ("INVITE", contact)
        assert again.call_id == invite.call_id and again.get("From") == invite.get("From")
        assert again.get("To") == invite.get("To") and again.cseq[0] == invite.cseq[0] + 1
        sdp = ("Content-Type", "application/sdp")
        body = b"v=0\r\nc=IN IP4 127.0.0.1\r\nm=audio 9 RTP/AVP 0\r\n"
        moved.sendto(_reply(again, 200, ("Contact", f"<{contact}>"), sdp, body=body), addr2)
        ack2, _ = await _recv(moved)
        assert ack2.method == "ACK"
        bye, bye_addr = await _recv(moved)
        assert bye.method == "BYE"
        moved.sendto(_reply(bye, 200), bye_addr)
        outcome = await asyncio.wait_for(call, 3)
        assert (outcome.reason, outcome.answered, outcome.sip_code) == (
            HangupReason.NORMAL,
            True,
            200,
        )


@pytest.mark.parametrize("contact", [None, "self", "tel"])
async def test_a_3xx_that_leads_nowhere_fails(
    telephony, kit: SimpleNamespace, contact: str | None
) -> None:
    """No Contact, a loop back to where we were, or only a tel: URI: the call fails with the
    3xx's code, after at most one INVITE per distinct Contact."""
    with _udp() as far:
        port = far.getsockname()[1]
        tel = await telephony()
        uri = f"sip:x@127.0.0.1:{port}"
        call = asyncio.create_task(tel.place_call(kit.call_request(kit.sip(uri[4:])), kit.no_op))
        invite, addr = await _recv(far)
        extra = {None: (), "self": (("Contact", f"<{uri}>"),), "tel": (("Contact", "<tel:+1>"),)}
        far.sendto(_reply(invite, 301, *extra[contact]), addr)
        outcome = await asyncio.wait_for(call, 3)
        assert (outcome.reason, outcome.sip_code) == (HangupReason.FAILED, 301)
        assert "no SIP Contact to try" in outcome.detail
        ack, _ = await _recv(far)
        assert ack.method == "ACK"


async def test_redirections_are_limited(telephony, kit: SimpleNamespace) -> None:
    socks = [_udp() for _ in range(5)]
    try:
        tel = await telephony()
        ports = [s.getsockname()[1] for s in socks]
        call = asyncio.create_task(
            tel.place_call(kit.call_request(kit.sip(f"x@127.0.0.1:{ports[0]}")), kit.no_op)
        )
        for hop in range(4):  # the first INVITE and three redirections
            invite, addr = await _recv(socks[hop])
            contact = ("Contact", f"<sip:x@127.0.0.1:{ports[hop + 1]}>")
            socks[hop].sendto(_reply(invite, 302, contact), addr)
        outcome = await asyncio.wait_for(call, 3)
        assert outcome.sip_code == 302 and "more than 3 redirections" in outcome.detail
        with pytest.raises(TimeoutError):
            await _recv(socks[4], within=0.3)  # never sent on a fourth time
    finally:
        for sock in socks:
            sock.close()


async def test_cancelling_the_task_while_ringing_sends_cancel(
    peer: SipAnsweringPeer, telephony, kit: SimpleNamespace
) -> None:
    tel = await telephony(("127.0.0.1", peer.port))
    request = kit.call_request(kit.tel("+4085551234"), dial_timeout_ms=30_000)
    task = asyncio.create_task(tel.place_call(request, kit.no_op))

    def ringing() -> bool:
        seen = peer.calls.get(str(request.call_id))
        return seen is not None and seen.last_response is not None

    while not ringing():  # noqa: ASYNC110  (the peer has answered 180: a CANCEL may follow)
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    seen = peer.calls[str(request.call_id)]
    assert seen.cancelled and seen.final_code == 487 and seen.acked


async def test_cancelling_the_task_after_answer_sends_bye(
    peer: SipAnsweringPeer, telephony, kit: SimpleNamespace
) -> None:
    tel = await telephony(("127.0.0.1", peer.port))
    answered = asyncio.Event()

    async def on_answer() -> None:
        answered.set()

    long_sleep = [{"type": "sleep", "option": {"duration": 30_000}}]
    request = kit.call_request(kit.tel("+15551234"), actions=long_sleep)
    task = asyncio.create_task(tel.place_call(request, on_answer))
    await asyncio.wait_for(answered.wait(), 3)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    seen = peer.calls[str(request.call_id)]
    assert seen.bye_received


async def test_far_end_bye_is_a_normal_end(telephony, kit: SimpleNamespace) -> None:
    far = SipAnsweringPeer(ring_ms=20, hangup_after_ms=200)
    await far.start()
    try:
        tel = await telephony(("127.0.0.1", far.port))
        long_sleep = [{"type": "sleep", "option": {"duration": 30_000}}]
        outcome = await asyncio.wait_for(
            tel.place_call(kit.call_request(kit.tel("+15550000"), actions=long_sleep), kit.no_op), 5
        )
        assert (outcome.reason, outcome.answered, outcome.sip_code) == (
            HangupReason.NORMAL,
            True,
            200,
        )
        assert outcome.detail == "the far end hung up"
    finally:
        await far.stop()


async def test_tel_without_trunk_fails_clearly(telephony, kit: SimpleNamespace) -> None:
    tel = await telephony()
    outcome = await tel.place_call(kit.call_request(kit.tel("+15550000")), kit.no_op)
    assert outcome.reason is HangupReason.FAILED and "OUTDIAL_SIP_TRUNK" in outcome.detail
    other = await tel.place_call(kit.call_request(kit.sip("x@no-such-host.invalid")), kit.no_op)
    assert other.reason is HangupReason.FAILED and "no-such-host.invalid" in other.detail


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("127.0.0.1:5060", ("127.0.0.1", 5060)),
        ("trunk.example.com", ("trunk.example.com", 5070)),
        ("[::1]:5080", ("::1", 5080)),
        ("::1", ("::1", 5070)),
        (" 0.0.0.0:0 ", ("0.0.0.0", 0)),
    ],
)
def test_parse_hostport(text: str, expected: tuple[str, int]) -> None:
    assert parse_hostport(text, 5070) == expected


@pytest.mark.parametrize("text", ["", "host:", "host:99999", "host:abc", ":5060", "a b:1", "[::1"])
def test_parse_hostport_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="HOST:PORT"):
        parse_hostport(text, 5060)


def test_config_from_env() -> None:
    config = SipConfig.from_env({
        "OUTDIAL_SIP_TRUNK": "10.0.0.1", "OUTDIAL_SIP_BIND": "127.0.0.1:0",
        "OUTDIAL_SIP_USERNAME": "u", "OUTDIAL_SIP_PASSWORD": "p", "HOME": "/h",
    })  # fmt: skip
    assert (config.trunk, config.bind, config.username, config.password) == (
        ("10.0.0.1", 5060),
        ("127.0.0.1", 0),
        "u",
        "p",
    )
    assert SipConfig.from_env({}).trunk is None
    # one parser: the documented default bind, as the CLI's --sip-bind has it
    assert SipConfig.from_env({}).bind == ("127.0.0.1", 0)
    with pytest.raises(SipConfigError, match="go together"):
        SipConfig.from_env({"OUTDIAL_SIP_USERNAME": "u"})
    with pytest.raises(SipConfigError, match="OUTDIAL_SIP_TRUNK"):
        SipConfig.from_env({"OUTDIAL_SIP_TRUNK": "host:port"})
    with pytest.raises(SipConfigError, match="OUTDIAL_SIP_BIND"):
        SipConfig.from_env({"OUTDIAL_SIP_BIND": "127.0.0.1:70000"})


async def test_start_fails_clearly_on_an_unusable_config() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        cases = [
            (SipConfig(None, ("127.0.0.1", port), "", ""), "cannot bind"),
            (SipConfig(None, ("192.0.2.1", 0), "", ""), "cannot bind"),  # not a local address
            (SipConfig(("no-such-host.invalid", 5060), ("127.0.0.1", 0), "", ""), "resolve"),
            (SipConfig(("127.0.0.1", 0), ("127.0.0.1", 0), "", ""), "port 1-65535"),
            (SipConfig(None, ("127.0.0.1", 0), "", "", timer_t1_ms=0), "timer_t1_ms"),
        ]
        for config, message in cases:
            tel = SipTelephony(config)
            with pytest.raises(SipConfigError, match=message):
                await tel.start()
            await tel.stop()
