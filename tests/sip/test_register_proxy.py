"""REGISTER with the trunk (OUTDIAL_SIP_REGISTER) and the outbound proxy setting."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from outdial.domain.outcome import HangupReason
from outdial.telephony.sip.config import Endpoint
from outdial.telephony.sip.message import SipMessage
from tests.sip.rawsip import SDP_PCMU, SDP_TYPE, challenge, recv, recv_request, reply, udp

CREDS = {"username": "acct", "password": "secret"}


def registered(request: SipMessage, expires: int) -> bytes:
    contact = (request.get("Contact") or "") + f";expires={expires}"
    return reply(request, 200, ("Contact", contact))


async def test_register_with_digest_and_refresh(telephony) -> None:
    with udp() as registrar:
        port = registrar.getsockname()[1]
        tel = await telephony(("127.0.0.1", port), register=True, register_expires=600, **CREDS)
        assert tel.registration is not None
        first, addr = await recv_request(registrar, "REGISTER")
        assert first.uri == f"sip:127.0.0.1:{port}"
        assert first.get("To") == f"<sip:acct@127.0.0.1:{port}>" and first.get("Expires") == "600"
        registrar.sendto(reply(first, 401, challenge("reg", "n1")), addr)
        second, addr = await recv_request(registrar, "REGISTER")
        assert 'username="acct"' in (second.get("Authorization") or "")
        assert second.call_id == first.call_id and second.cseq[0] == first.cseq[0] + 1
        registrar.sendto(registered(second, 2), addr)  # granted 2 s: refreshed after 1 s
        refresh, addr = await recv_request(registrar, "REGISTER", within=4)
        assert refresh.call_id == first.call_id and refresh.cseq[0] > second.cseq[0]
        assert tel.health()["sip"]["registration"]["state"] == "registered"
        assert tel.health()["sip"]["registration"]["expires"] == 2


async def test_calls_wait_for_a_live_registration(telephony, kit: SimpleNamespace) -> None:
    with udp() as trunk:
        port = trunk.getsockname()[1]
        tel = await telephony(("127.0.0.1", port), register=True, **CREDS)
        call = asyncio.create_task(
            tel.place_call(kit.call_request(kit.tel("+1555"), actions=[]), kit.no_op)
        )
        register, addr = await recv(trunk)
        assert register.method == "REGISTER"  # no INVITE before the registration is live
        await asyncio.sleep(0.2)
        assert not call.done()
        trunk.sendto(registered(register, 600), addr)
        invite, addr = await recv_request(trunk, "INVITE")
        ok = reply(invite, 200, ("Contact", f"<sip:t@127.0.0.1:{port}>"), SDP_TYPE, body=SDP_PCMU)
        trunk.sendto(ok, addr)
        bye, addr = await recv_request(trunk, "BYE")
        trunk.sendto(reply(bye, 200), addr)
        assert (await asyncio.wait_for(call, 3)).reason is HangupReason.NORMAL


async def test_a_failing_registration_backs_off_and_calls_fail_clearly(
    telephony, kit: SimpleNamespace
) -> None:
    with udp() as trunk:
        port = trunk.getsockname()[1]
        tel = await telephony(("127.0.0.1", port), register=True, **CREDS)
        assert tel.registration is not None
        tel.registration.base_backoff = 0.2
        first, addr = await recv_request(trunk, "REGISTER")
        trunk.sendto(reply(first, 403), addr)
        again, addr = await recv_request(trunk, "REGISTER", within=3)  # after the back-off
        assert again.cseq[0] > first.cseq[0]
        status = tel.health()["sip"]["registration"]
        assert (status["state"], status["detail"]) == ("failed", "403 Response")
        request = kit.call_request(kit.tel("+1555"), dial_timeout_ms=300)
        outcome = await tel.place_call(request, kit.no_op)
        assert outcome.reason is HangupReason.FAILED
        assert "not registered with the trunk" in outcome.detail


async def test_every_request_goes_through_the_outbound_proxy(
    telephony, kit: SimpleNamespace
) -> None:
    with udp() as proxy, udp() as trunk:
        pport, tport = proxy.getsockname()[1], trunk.getsockname()[1]
        tel = await telephony(
            ("127.0.0.1", tport), outbound_proxy=Endpoint("127.0.0.1", pport), **CREDS
        )
        call = asyncio.create_task(
            tel.place_call(kit.call_request(kit.tel("+1555"), actions=[]), kit.no_op)
        )
        invite, addr = await recv(proxy)
        assert invite.uri == f"sip:+1555@127.0.0.1:{tport}"
        assert invite.get_all("Route") == [f"<sip:127.0.0.1:{pport};lr>"]
        proxy.sendto(reply(invite, 407, challenge("proxy", "p1", proxy=True)), addr)
        again, addr = await recv_request(proxy, "INVITE")
        assert 'realm="proxy"' in (again.get("Proxy-Authorization") or "")
        ok = reply(again, 200, ("Contact", f"<sip:far@127.0.0.1:{tport}>"), SDP_TYPE, body=SDP_PCMU)
        proxy.sendto(ok, addr)
        ack, _ = await recv_request(proxy, "ACK")  # in-dialog requests too (no Record-Route)
        assert ack.uri == f"sip:far@127.0.0.1:{tport}"
        bye, addr = await recv_request(proxy, "BYE")
        proxy.sendto(reply(bye, 200), addr)
        assert (await asyncio.wait_for(call, 3)).reason is HangupReason.NORMAL
