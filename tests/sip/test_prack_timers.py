"""100rel/PRACK with early media (RFC 3262) and session timers (RFC 4028), against scripted far
ends on raw loopback sockets."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest

from outdial.domain.outcome import HangupReason
from outdial.telephony.sip.message import SipMessage
from tests.sip.rawsip import SDP_PCMU, SDP_TYPE, drain, recv, recv_request, reply, udp
from tests.sip.test_defects import LONG_SLEEP, in_dialog, rtp_packets, sdp


async def test_a_reliable_183_is_pracked_once_and_starts_early_media(
    telephony, kit: SimpleNamespace
) -> None:
    with udp() as far, udp() as rtp:
        port = far.getsockname()[1]
        tel = await telephony()
        request = kit.call_request(kit.sip(f"x@127.0.0.1:{port}"), actions=LONG_SLEEP)
        call = asyncio.create_task(tel.place_call(request, kit.no_op))
        invite, addr = await recv(far)
        assert "100rel" in invite.get_all("Supported") and "timer" in invite.get_all("Supported")
        contact = ("Contact", f"<sip:far@127.0.0.1:{port}>")
        early = reply(invite, 183, contact, ("Require", "100rel"), ("RSeq", "7"), SDP_TYPE,
                      body=sdp(rtp.getsockname()[1], 8))  # fmt: skip
        far.sendto(early, addr)
        prack, paddr = await recv_request(far, "PRACK")
        assert prack.get("RAck") == f"7 {invite.cseq[0]} INVITE"
        assert (
            prack.cseq == (invite.cseq[0] + 1, "PRACK") and prack.uri == f"sip:far@127.0.0.1:{port}"
        )
        assert (prack.get("To") or "").endswith("tag=far")
        far.sendto(reply(prack, 200), paddr)
        far.sendto(early, addr)  # the 183 again: not PRACKed again
        await asyncio.sleep(0.2)
        assert [m.method for m in drain(far) if m.is_request] == []
        far.sendto(reply(invite, 200, contact), addr)  # no SDP: the 183 gave the answer
        await recv_request(far, "ACK")
        packets = await rtp_packets(rtp, 3)
        assert {p.payload_type for p in packets} == {8}  # PCMA, as the early answer chose
        call.cancel()
        bye, baddr = await recv_request(far, "BYE")
        assert bye.cseq == (prack.cseq[0] + 1, "BYE")
        far.sendto(reply(bye, 200), baddr)
        with pytest.raises(asyncio.CancelledError):
            await call


async def answered(far, tel, kit, *extra: tuple[str, str], actions=LONG_SLEEP):
    port = far.getsockname()[1]
    request = kit.call_request(kit.sip(f"x@127.0.0.1:{port}"), actions=actions)
    call = asyncio.create_task(tel.place_call(request, kit.no_op))
    invite, addr = await recv(far)
    assert invite.get("Session-Expires") == "1800" and invite.get("Min-SE") == "90"
    ok = reply(invite, 200, ("Contact", f"<sip:far@127.0.0.1:{port}>"), *extra, SDP_TYPE,
               body=SDP_PCMU)  # fmt: skip
    far.sendto(ok, addr)
    await recv_request(far, "ACK")
    return call, invite, SipMessage.parse(ok).get("To") or ""


@pytest.mark.parametrize("allow_update", [True, False])
async def test_we_refresh_when_the_far_end_names_us_refresher(
    telephony, kit: SimpleNamespace, allow_update: bool
) -> None:
    with udp() as far:
        tel = await telephony()
        allow = ("Allow", "INVITE, ACK, BYE, UPDATE" if allow_update else "INVITE, ACK, BYE")
        call, _, _ = await answered(far, tel, kit, ("Session-Expires", "2;refresher=uac"), allow)
        method = "UPDATE" if allow_update else "INVITE"
        for _ in range(2):  # every interval / 2 = 1 s
            refresh, addr = await recv_request(far, method, within=3)
            assert refresh.get("Session-Expires") == "2;refresher=uac"
            body = b"" if allow_update else SDP_PCMU
            far.sendto(reply(refresh, 200, *([SDP_TYPE] if body else []), body=body), addr)
            if not allow_update:
                assert (
                    bool(refresh.body)
                    and (await recv_request(far, "ACK"))[0].cseq[0] == (refresh.cseq[0])
                )
        call.cancel()
        bye, addr = await recv_request(far, "BYE")
        far.sendto(reply(bye, 200), addr)
        with pytest.raises(asyncio.CancelledError):
            await call


async def test_a_session_the_far_end_stops_refreshing_is_ended(
    telephony, kit: SimpleNamespace
) -> None:
    with udp() as far:
        tel = await telephony()
        call, invite, to = await answered(far, tel, kit, ("Session-Expires", "3;refresher=uas"))
        port = far.getsockname()[1]
        far.sendto(
            in_dialog(invite, to, "UPDATE", 1, port, contact=f"<sip:far@127.0.0.1:{port}>").replace(
                b"Content-Length", b"Session-Expires: 3;refresher=uac\r\nContent-Length"
            ),
            ("127.0.0.1", tel.local_address[1]),
        )  # a refresh, the far end still the refresher: the clock starts again
        resp, _ = await recv(far)
        assert resp.status == 200 and resp.get("Session-Expires") == "3;refresher=uac"
        assert resp.get("Require") == "timer"
        bye, addr = await recv_request(far, "BYE", within=5)  # 3 s less 1 s after the UPDATE
        far.sendto(reply(bye, 200), addr)
        outcome = await asyncio.wait_for(call, 3)
        assert (outcome.reason, outcome.answered) == (HangupReason.NORMAL, True)
        assert "the session expired" in outcome.detail


async def test_a_422_is_answered_with_the_min_se_asked(telephony, kit: SimpleNamespace) -> None:
    with udp() as far:
        tel = await telephony()
        port = far.getsockname()[1]
        call = asyncio.create_task(
            tel.place_call(kit.call_request(kit.sip(f"x@127.0.0.1:{port}")), kit.no_op)
        )
        invite, addr = await recv(far)
        far.sendto(reply(invite, 422, ("Min-SE", "3600")), addr)
        again, addr = await recv_request(far, "INVITE")
        assert again.get("Session-Expires") == "3600" and again.cseq[0] == invite.cseq[0] + 1
        far.sendto(reply(again, 486), addr)
        outcome = await asyncio.wait_for(call, 3)
        assert outcome.sip_code == 486
