"""Caller identity (RFC 3325, 3323) and the outplan's own SIP headers (`sip_headers`)."""

from __future__ import annotations

import asyncio
import dataclasses
from types import SimpleNamespace

import pytest

from outdial.domain.address import Address, AddressType
from outdial.domain.errors import InvalidArgument
from outdial.domain.sipheaders import parse_sip_headers
from tests.sip.rawsip import recv, reply, udp

SOURCE = Address(AddressType.TEL, "+15551230000", target_name="Acme Clinic")


async def _invite(tel, kit, destination, headers=()) -> object:
    request = dataclasses.replace(
        kit.call_request(destination), source=SOURCE, sip_headers=tuple(headers)
    )
    return asyncio.create_task(tel.place_call(request, kit.no_op))


async def test_calls_to_the_trunk_assert_the_identity_and_carry_the_outplans_headers(
    telephony, kit: SimpleNamespace
) -> None:
    with udp() as trunk:
        port = trunk.getsockname()[1]
        tel = await telephony(("127.0.0.1", port))
        headers = [("Diversion", "<sip:+15550009@pbx.example>;reason=unconditional"),
                   ("X-Campaign", "spring")]  # fmt: skip
        call = await _invite(tel, kit, kit.tel("+15557654321"), headers)
        invite, addr = await recv(trunk)
        assert invite.get("P-Asserted-Identity") == '"Acme Clinic" <sip:+15551230000@127.0.0.1>'
        assert invite.get(
            "From",
        ).startswith('"Acme Clinic" <sip:+15551230000@127.0.0.1>;tag=')
        assert invite.get("Diversion") == headers[0][1] and invite.get("X-Campaign") == "spring"
        trunk.sendto(reply(invite, 486), addr)
        await asyncio.wait_for(call, 3)


async def test_privacy_id_hides_the_caller_in_from_only(telephony, kit: SimpleNamespace) -> None:
    with udp() as trunk:
        tel = await telephony(("127.0.0.1", trunk.getsockname()[1]))
        call = await _invite(tel, kit, kit.tel("+15557654321"), [("Privacy", "id")])
        invite, addr = await recv(trunk)
        assert (invite.get("From") or "").startswith(
            '"Anonymous" <sip:anonymous@anonymous.invalid>;tag='
        )
        assert "+15551230000" in (invite.get("P-Asserted-Identity") or "")
        assert invite.get("Privacy") == "id"
        trunk.sendto(reply(invite, 486), addr)
        await asyncio.wait_for(call, 3)


async def test_no_asserted_identity_outside_the_trunk(telephony, kit: SimpleNamespace) -> None:
    with udp() as far:
        tel = await telephony()
        call = await _invite(tel, kit, kit.sip(f"x@127.0.0.1:{far.getsockname()[1]}"))
        invite, addr = await recv(far)
        assert invite.get("P-Asserted-Identity") is None
        far.sendto(reply(invite, 486), addr)
        await asyncio.wait_for(call, 3)


def test_sip_headers_are_validated() -> None:
    assert parse_sip_headers({"X-A": " b "}) == {"X-A": "b"}
    assert parse_sip_headers(None) == {}
    bad = [
        ({"X-A": "b\r\nVia: x"}, "sip_headers.X-A"),
        ({"Via": "x"}, "sets this header itself"),
        ({"P-Asserted-Identity": "<sip:x@y>"}, "sets this header itself"),
        ({"X A": "b"}, "SIP token"),
        ({"X-A": ""}, "1-256"),
        ({"X-A": "x" * 257}, "1-256"),
        ({"X-A": 1}, "1-256"),
        ({"Privacy": "id;everything"}, "Privacy values"),
        ({f"X-{n}": "v" for n in range(11)}, "at most 10"),
        (["X-A"], "must be an object"),
        ({"X-A": "1", "x-a": "2"}, "named twice"),
    ]
    for raw, message in bad:
        with pytest.raises(InvalidArgument, match=message):
            parse_sip_headers(raw)
