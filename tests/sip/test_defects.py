"""The protocol defects of issue 11, each against a scripted far end on raw loopback sockets."""

from __future__ import annotations

import asyncio
import itertools
import socket
from types import SimpleNamespace

import pytest

from outdial.domain.outcome import HangupReason
from outdial.telephony.sip.message import SipMessage
from outdial.telephony.sip.rtp import RtpPacket
from outdial.telephony.sip.sdp import PCMA, PCMU
from tests.sip.rawsip import (
    SDP_TYPE,
    challenge,
    drain,
    recv,
    recv_request,
    reply,
    udp,
)

CREDS = {"username": "acct", "password": "secret"}
LONG_SLEEP = [{"type": "sleep", "option": {"duration": 20_000}}]


def sdp(rtp_port: int, *formats: int, extra: str = "", version: int = 1) -> bytes:
    fmt = " ".join(str(f) for f in formats)
    return (
        f"v=0\r\no=far 7 {version} IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
        f"m=audio {rtp_port} RTP/AVP {fmt}\r\n{extra}"
    ).encode()


def in_dialog(
    invite: SipMessage, ok_to: str, method: str, cseq: int, far_port: int, *,
    body: bytes = b"", contact: str | None = None, from_tag: str | None = None,
) -> bytes:  # fmt: skip
    """A request from the far end inside the dialog the 200 OK to `invite` made."""
    local = invite.get("From") or ""
    msg = SipMessage(method=method, uri=(invite.get("Contact") or "").strip("<>"), body=body)
    msg.add("Via", f"SIP/2.0/UDP 127.0.0.1:{far_port};branch=z9hG4bKfar{method}{cseq}")
    msg.add("Max-Forwards", "70")
    msg.add("From", ok_to if from_tag is None else ok_to.replace("tag=far", f"tag={from_tag}"))
    msg.add("To", local)
    msg.add("Call-ID", invite.call_id)
    msg.add("CSeq", f"{cseq} {method}")
    if contact is not None:
        msg.add("Contact", contact)
    if body:
        msg.add(*SDP_TYPE)
    return msg.to_bytes()


class Answered:
    """A call answered by a raw far end: its INVITE, the 200 OK's To, and an RTP socket."""

    def __init__(self, far: socket.socket, rtp: socket.socket) -> None:
        self.far, self.rtp = far, rtp
        self.port = far.getsockname()[1]
        self.rtp_port = rtp.getsockname()[1]
        self.invite = SipMessage()
        self.addr: tuple[str, int] = ("", 0)
        self.to = ""
        self.task: asyncio.Task | None = None

    async def start(self, tel, kit, actions=LONG_SLEEP, codecs=(PCMU,), extra="") -> None:
        request = kit.call_request(kit.sip(f"x@127.0.0.1:{self.port}"), actions=actions)
        self.task = asyncio.create_task(tel.place_call(request, kit.no_op))
        self.invite, self.addr = await recv(self.far)
        contact = ("Contact", f"<sip:far@127.0.0.1:{self.port}>")
        ok = reply(
            self.invite, 200, contact, SDP_TYPE, body=sdp(self.rtp_port, *codecs, extra=extra)
        )
        self.to = SipMessage.parse(ok).get("To") or ""
        self.far.sendto(ok, self.addr)
        ack, _ = await recv(self.far)
        assert ack.method == "ACK"

    def send(self, method: str, cseq: int, **kw) -> None:
        self.far.sendto(in_dialog(self.invite, self.to, method, cseq, self.port, **kw), self.addr)

    async def response(self, within: float = 3) -> SipMessage:
        msg, _ = await recv(self.far, within)
        assert not msg.is_request, msg
        return msg

    async def end(self) -> None:
        """Our side hangs up (the task is cancelled): the BYE is answered."""
        assert self.task is not None
        self.task.cancel()
        bye, addr = await recv_request(self.far, "BYE")
        self.far.sendto(reply(bye, 200), addr)
        with pytest.raises(asyncio.CancelledError):
            await self.task


async def rtp_packets(sock: socket.socket, count: int, within: float = 3) -> list[RtpPacket]:
    loop = asyncio.get_running_loop()
    return [
        RtpPacket.parse(await asyncio.wait_for(loop.sock_recv(sock, 2048), within))
        for _ in range(count)
    ]


# 1. stale=true on every answer


@pytest.mark.parametrize("fresh_nonce", [True, False])
async def test_stale_challenges_do_not_loop(telephony, kit: SimpleNamespace, fresh_nonce) -> None:
    with udp() as trunk:
        tel = await telephony(("127.0.0.1", trunk.getsockname()[1]), **CREDS)
        call = asyncio.create_task(tel.place_call(kit.call_request(kit.tel("+1555")), kit.no_op))
        invites = 0
        while not call.done():
            try:
                invite, addr = await recv_request(trunk, "INVITE", within=1)
            except TimeoutError:
                break
            invites += 1
            nonce = f"n{invites}" if fresh_nonce else "same"
            trunk.sendto(reply(invite, 401, challenge("r", nonce, stale=True)), addr)
        outcome = await asyncio.wait_for(call, 3)
        assert (outcome.reason, outcome.sip_code) == (HangupReason.FAILED, 401)
        assert invites == (4 if fresh_nonce else 2)  # the first and at most 3 answered


# 2. a proxy's 407 and the far end's 401


async def test_two_realms_are_both_answered_and_the_ack_carries_them(
    telephony, kit: SimpleNamespace
) -> None:
    with udp() as trunk:
        port = trunk.getsockname()[1]
        tel = await telephony(("127.0.0.1", port), realms=("proxy", "pbx"), **CREDS)
        call = asyncio.create_task(
            tel.place_call(kit.call_request(kit.tel("+1555"), actions=[]), kit.no_op)
        )
        first, addr = await recv_request(trunk, "INVITE")
        trunk.sendto(reply(first, 407, challenge("proxy", "p1", proxy=True)), addr)
        second, addr = await recv_request(trunk, "INVITE")
        assert 'realm="proxy"' in (second.get("Proxy-Authorization") or "")
        trunk.sendto(reply(second, 401, challenge("pbx", "u1")), addr)
        third, addr = await recv_request(trunk, "INVITE")
        assert 'realm="proxy"' in (third.get("Proxy-Authorization") or "")
        assert 'realm="pbx"' in (third.get("Authorization") or "")
        ok = reply(third, 200, ("Contact", f"<sip:t@127.0.0.1:{port}>"), SDP_TYPE, body=sdp(9, 0))
        trunk.sendto(ok, addr)
        ack, _ = await recv_request(trunk, "ACK")
        assert ack.get("Authorization") == third.get("Authorization")
        assert ack.get("Proxy-Authorization") == third.get("Proxy-Authorization")
        bye, addr = await recv_request(trunk, "BYE")
        trunk.sendto(reply(bye, 200), addr)
        assert (await asyncio.wait_for(call, 3)).reason is HangupReason.NORMAL


# 3. and 4. re-INVITE and UPDATE offers


async def test_a_reinvite_to_pcma_changes_the_audio_codec(telephony, kit: SimpleNamespace) -> None:
    with udp() as far, udp() as rtp:
        tel = await telephony()
        call = Answered(far, rtp)
        await call.start(tel, kit)
        before = await rtp_packets(rtp, 3)
        assert {(p.payload_type, p.payload[:1]) for p in before} == {(PCMU, b"\xff")}
        call.send("INVITE", 1, body=sdp(call.rtp_port, PCMA, version=2))
        ok = await call.response()
        assert ok.status == 200 and b"m=audio" in ok.body and b"RTP/AVP 8" in ok.body
        call.send("ACK", 1)
        await asyncio.sleep(0.1)
        drain_rtp = await rtp_packets(rtp, 10)
        last = drain_rtp[-1]
        assert (last.payload_type, set(last.payload)) == (PCMA, {0xD5})  # A-law silence
        await call.end()


async def test_reinvite_offers_are_answered_as_rfc_3264_says(
    telephony, kit: SimpleNamespace
) -> None:
    with udp() as far, udp() as rtp:
        tel = await telephony()
        call = Answered(far, rtp)
        await call.start(tel, kit)
        offer = sdp(call.rtp_port, PCMA, PCMU, extra="a=sendonly\r\nm=video 5000 RTP/AVP 96\r\n")
        call.send("INVITE", 1, body=offer)
        ok = await call.response()
        text = ok.body.decode()
        assert ok.status == 200 and ok.get("Content-Type") == "application/sdp"
        audio, video = text.split("m=")[1:]
        assert audio.startswith("audio ") and " RTP/AVP 8" in audio and "a=recvonly" in audio
        assert video.startswith("video 0 RTP/AVP 96")
        versions = [int(text.split("o=outdial ")[1].split()[1])]
        call.send("ACK", 1)
        call.send("INVITE", 2, body=sdp(call.rtp_port, PCMU, extra="a=inactive\r\n"))
        ok2 = await call.response()
        assert "a=inactive" in ok2.body.decode()
        versions.append(int(ok2.body.decode().split("o=outdial ")[1].split()[1]))
        assert versions[1] == versions[0] + 1 and versions[0] >= 2  # 1 was the INVITE's offer
        call.send("ACK", 2)
        call.send("UPDATE", 3, body=sdp(call.rtp_port, 18))  # nothing we can take
        refused = await call.response()
        assert (refused.status, refused.cseq) == (488, (3, "UPDATE"))
        call.send("UPDATE", 4, body=sdp(call.rtp_port, PCMU))
        updated = await call.response()
        assert updated.status == 200 and "a=sendrecv" in updated.body.decode()
        await call.end()


async def test_an_offerless_reinvite_gets_an_offer_and_the_ack_answer_is_applied(
    telephony, kit: SimpleNamespace
) -> None:
    with udp() as far, udp() as rtp:
        tel = await telephony()
        call = Answered(far, rtp)
        await call.start(tel, kit)
        call.send("INVITE", 1)
        ok = await call.response()
        assert ok.status == 200 and "RTP/AVP 0 8" in ok.body.decode()
        call.send("ACK", 1, body=sdp(call.rtp_port, PCMA))
        await asyncio.sleep(0.1)
        packets = await rtp_packets(rtp, 10)
        assert packets[-1].payload_type == PCMA
        await call.end()


# 5. target refresh


async def test_a_reinvite_contact_becomes_the_remote_target(
    telephony, kit: SimpleNamespace
) -> None:
    with udp() as far, udp() as rtp, udp() as moved:
        tel = await telephony()
        call = Answered(far, rtp)
        await call.start(tel, kit)
        new = f"sip:moved@127.0.0.1:{moved.getsockname()[1]}"
        call.send("INVITE", 1, body=sdp(call.rtp_port, PCMU), contact=f"<{new}>")
        assert (await call.response()).status == 200
        call.send("ACK", 1)
        assert call.task is not None
        call.task.cancel()
        bye, addr = await recv_request(moved, "BYE")
        assert bye.uri == new
        moved.sendto(reply(bye, 200), addr)
        with pytest.raises(asyncio.CancelledError):
            await call.task


# 6. dialog matching


async def test_requests_that_do_not_match_the_dialog(telephony, kit: SimpleNamespace) -> None:
    with udp() as far, udp() as rtp:
        tel = await telephony()
        call = Answered(far, rtp)
        await call.start(tel, kit)
        call.send("OPTIONS", 5, from_tag="intruder")
        assert (await call.response()).status == 481
        call.send("OPTIONS", 5)
        assert (await call.response()).status == 200
        call.send("INFO", 4)
        assert (await call.response()).status == 500
        call.send("BYE", 3, from_tag="intruder")
        assert (await call.response()).status == 481
        await call.end()


# 7. 2xx retransmission and OPTIONS


async def test_the_2xx_to_a_reinvite_is_retransmitted_until_the_ack(
    telephony, kit: SimpleNamespace
) -> None:
    with udp() as far, udp() as rtp:
        tel = await telephony(t1_ms=50)
        call = Answered(far, rtp)
        await call.start(tel, kit)
        call.send("INVITE", 1, body=sdp(call.rtp_port, PCMU))
        first = await call.response()
        again = await call.response(within=1)
        assert first.status == again.status == 200 and first.cseq == again.cseq
        call.send("ACK", 1)
        await asyncio.sleep(0.5)
        drain(far)
        await asyncio.sleep(0.5)  # T1 = 50 ms: several retransmissions would have come by now
        assert [m for m in drain(far) if not m.is_request] == []
        await call.end()


async def test_out_of_dialog_options_is_answered(telephony) -> None:
    tel = await telephony()
    with udp() as far:
        options = SipMessage(method="OPTIONS", uri=f"sip:127.0.0.1:{tel.local_address[1]}")
        for name, value in (
            ("Via", f"SIP/2.0/UDP 127.0.0.1:{far.getsockname()[1]};branch=z9hG4bKopt"),
            ("From", "<sip:probe@127.0.0.1>;tag=p"), ("To", "<sip:outdial@127.0.0.1>"),
            ("Call-ID", "probe-1"), ("CSeq", "1 OPTIONS"), ("Max-Forwards", "70"),
        ):  # fmt: skip
            options.add(name, value)
        far.sendto(options.to_bytes(), tel.local_address)
        resp, _ = await recv(far)
        assert resp.status == 200
        assert {"INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "UPDATE"} <= set(resp.get_all("Allow"))
        assert resp.get("Accept") == "application/sdp"


# 8. answers without usable audio


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b"", "no SDP in the answer"),
        (sdp(9, 18), "no common codec"),
        (sdp(0, PCMU), "m=audio 0"),
        (b"v=0\r\no=far 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=aud",
         "unreadable SDP"),
    ],
)  # fmt: skip
async def test_an_answer_without_usable_audio_is_a_failed_attempt(
    telephony, kit: SimpleNamespace, body: bytes, why: str
) -> None:
    answered: list[bool] = []

    async def on_answer() -> None:
        answered.append(True)

    with udp() as far:
        port = far.getsockname()[1]
        tel = await telephony()
        call = asyncio.create_task(
            tel.place_call(kit.call_request(kit.sip(f"x@127.0.0.1:{port}")), on_answer)
        )
        invite, addr = await recv(far)
        extra = [SDP_TYPE] if body else []
        far.sendto(reply(invite, 200, ("Contact", f"<sip:far@127.0.0.1:{port}>"), *extra,
                         body=body), addr)  # fmt: skip
        assert (await recv_request(far, "ACK"))[0].cseq[1] == "ACK"
        bye, addr = await recv_request(far, "BYE")
        far.sendto(reply(bye, 200), addr)
        outcome = await asyncio.wait_for(call, 3)
        assert (outcome.reason, outcome.answered, outcome.sip_code) == (
            HangupReason.FAILED, False, 200,
        )  # fmt: skip
        assert why in outcome.detail and answered == []


@pytest.mark.parametrize("hold", ["c=IN IP4 0.0.0.0", "a=sendonly"])
async def test_hold_at_answer_is_still_an_answer(telephony, kit: SimpleNamespace, hold) -> None:
    with udp() as far:
        port = far.getsockname()[1]
        tel = await telephony()
        request = kit.call_request(kit.sip(f"x@127.0.0.1:{port}"), actions=[])
        call = asyncio.create_task(tel.place_call(request, kit.no_op))
        invite, addr = await recv(far)
        body = sdp(4000, PCMU)
        if hold.startswith("c="):
            body = body.replace(b"c=IN IP4 127.0.0.1", hold.encode())
        else:
            body += hold.encode() + b"\r\n"
        far.sendto(reply(invite, 200, ("Contact", f"<sip:far@127.0.0.1:{port}>"), SDP_TYPE,
                         body=body), addr)  # fmt: skip
        bye, addr = await recv_request(far, "BYE")
        far.sendto(reply(bye, 200), addr)
        outcome = await asyncio.wait_for(call, 3)
        assert (outcome.reason, outcome.answered) == (HangupReason.NORMAL, True)


# 9. RTP clock, even ports, ptime


async def test_an_answer_ptime_of_30_ms_is_honoured(telephony, kit: SimpleNamespace) -> None:
    with udp() as far, udp() as rtp:
        tel = await telephony()
        call = Answered(far, rtp)
        await call.start(tel, kit, extra="a=ptime:30\r\n")
        packets = await rtp_packets(rtp, 4)
        assert {len(p.payload) for p in packets} == {240}
        steps = {b.timestamp - a.timestamp for a, b in itertools.pairwise(packets)}
        assert steps == {240}
        await call.end()


# 10. responses that are not ours or cut short


@pytest.mark.parametrize("broken", ["two_vias", "short_body"])
async def test_broken_responses_are_discarded(telephony, kit: SimpleNamespace, broken) -> None:
    with udp() as far:
        port = far.getsockname()[1]
        tel = await telephony()
        call = asyncio.create_task(
            tel.place_call(kit.call_request(kit.sip(f"x@127.0.0.1:{port}")), kit.no_op)
        )
        invite, addr = await recv(far)
        contact = ("Contact", f"<sip:far@127.0.0.1:{port}>")
        ok = reply(invite, 200, contact, SDP_TYPE, body=sdp(9, PCMU))
        if broken == "two_vias":
            via = (invite.get("Via") or "").encode()
            ok = ok.replace(via, via + b"\r\nVia: SIP/2.0/UDP 192.0.2.9;branch=z9hG4bKx", 1)
        else:
            ok = ok[:-10]
        far.sendto(ok, addr)
        await asyncio.sleep(0.2)
        assert [m.method for m in drain(far) if m.is_request] == []  # no ACK: not taken
        far.sendto(reply(invite, 486), addr)
        outcome = await asyncio.wait_for(call, 3)
        assert (outcome.reason, outcome.sip_code) == (HangupReason.BUSY, 486)
