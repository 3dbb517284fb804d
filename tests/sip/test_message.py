"""SIP message parsing and building, URIs, name-addr and Via values."""

from __future__ import annotations

import pytest

from outdial.telephony.sip.errors import SipParseError
from outdial.telephony.sip.message import SipMessage, canonical_name, response_to, split_list
from outdial.telephony.sip.uri import NameAddr, SipUri, Via, tag_of, top_branch, with_tag

INVITE = (
    b"INVITE sip:+15551234@trunk.example.com:5062;transport=UDP SIP/2.0\r\n"
    b"v: SIP/2.0/UDP 10.0.0.2:5080;branch=z9hG4bKtop;received=10.0.0.2\r\n"
    b"Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKlow, SIP/2.0/UDP 10.0.0.0;branch=z9hG4bK0\r\n"
    b'f: "Alice, A." <sip:alice@example.com>;tag=abc\r\n'
    b"t: <sip:+15551234@trunk.example.com>\r\n"
    b"i: call-1@example.com\r\n"
    b"cseq: 7 INVITE\r\n"
    b"m: <sip:alice@10.0.0.1:5060;Transport=UDP>\r\n"
    b"Record-Route: <sip:p1.example.com;lr>,<sip:p2.example.com;lr;ftag=x>\r\n"
    b"Subject: folded\r\n and continued\r\n"
    b"c: application/sdp\r\n"
    b"l: 4\r\n"
    b"\r\n"
    b"v=0\r\nextra bytes beyond Content-Length"
)


def test_parse_request_with_compact_and_case_insensitive_headers() -> None:
    msg = SipMessage.parse(INVITE)
    assert msg.is_request and msg.method == "INVITE"
    assert msg.uri == "sip:+15551234@trunk.example.com:5062;transport=UDP"
    assert msg.call_id == "call-1@example.com"
    assert msg.cseq == (7, "INVITE")
    assert msg.get("FROM") == msg.get("f") == '"Alice, A." <sip:alice@example.com>;tag=abc'
    assert msg.get_all("via") == [
        "SIP/2.0/UDP 10.0.0.2:5080;branch=z9hG4bKtop;received=10.0.0.2",
        "SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKlow",
        "SIP/2.0/UDP 10.0.0.0;branch=z9hG4bK0",
    ]
    assert top_branch(msg.get_all("Via")) == "z9hG4bKtop"
    assert msg.get_all("Record-Route") == [
        "<sip:p1.example.com;lr>",
        "<sip:p2.example.com;lr;ftag=x>",
    ]
    assert msg.get("Subject") == "folded and continued"
    assert msg.body == b"v=0\r"


def test_parse_response_and_round_trip() -> None:
    raw = (
        b"SIP/2.0 180 Ringing\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@h>;tag=1\r\n"
        b"To: <sip:b@h>;tag=2\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n"
    )
    msg = SipMessage.parse(raw)
    assert (msg.status, msg.reason, msg.is_request) == (180, "Ringing", False)
    assert SipMessage.parse(msg.to_bytes()) == msg


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\r\n\r\n",
        b"HELLO\r\n\r\n",
        b"SIP/2.0 abc OK\r\n\r\n",
        b"SIP/2.0 999 Odd\r\nVia: x\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\n\r\n",
        b"INVITE sip:a@b SIP/2.0\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\n\r\n",  # no Via
        b"INVITE sip:a@b SIP/2.0\r\nVia: x\r\nCall-ID: x\r\nCSeq: one INVITE\r\n\r\n",
        b"INVITE sip:a@b SIP/2.0\r\nno colon here\r\n\r\n",
    ],
)
def test_unreadable_messages_raise_parse_error(raw: bytes) -> None:
    with pytest.raises(SipParseError):
        SipMessage.parse(raw)


def test_header_editing_and_content_length() -> None:
    msg = SipMessage(method="BYE", uri="sip:b@h")
    msg.add("via", "SIP/2.0/UDP a;branch=z9hG4bK1")
    msg.add("Call-ID", "c")
    msg.add("X-Custom", "1")
    msg.add("x-custom", "2")
    msg.set("X-CUSTOM", "3")
    assert msg.get_all("x-custom") == ["3"]
    msg.remove("x-custom")
    assert msg.get("X-Custom") is None
    msg.body = b"hello"
    data = msg.to_bytes()
    assert data.startswith(b"BYE sip:b@h SIP/2.0\r\nVia: ")
    assert b"Content-Length: 5\r\n\r\nhello" in data


def test_canonical_names_and_list_splitting() -> None:
    assert [canonical_name(n) for n in ("i", "CALL-ID", "m", "cseq", "X-Foo")] == [
        "Call-ID",
        "Call-ID",
        "Contact",
        "CSeq",
        "X-Foo",
    ]
    assert split_list('"a, b" <sip:x>, <sip:y;p=1,2>, z') == [
        '"a, b" <sip:x>',
        "<sip:y;p=1,2>",
        "z",
    ]


def test_response_to_copies_headers_and_adds_tag() -> None:
    request = SipMessage.parse(INVITE)
    resp = response_to(request, 486, "Busy Here", to_tag="xyz")
    assert resp.get_all("Via") == request.get_all("Via")
    assert tag_of(resp.get("To")) == "xyz"
    assert resp.cseq == (7, "INVITE")
    assert with_tag("<sip:a@b>;tag=1", "2") == "<sip:a@b>;tag=1"


@pytest.mark.parametrize(
    ("text", "host", "port", "params"),
    [
        ("sip:alice@10.0.0.1:5070;transport=UDP", "10.0.0.1", 5070, {"transport": "UDP"}),
        ("sip:10.0.0.1;LR", "10.0.0.1", None, {"lr": ""}),
        ("SIP:bob:pw@[::1]:5062;Transport=udp?X=1", "::1", 5062, {"transport": "udp"}),
        ("sips:x@example.com;maddr=10.1.1.1", "example.com", None, {"maddr": "10.1.1.1"}),
    ],
)
def test_uri_parse(text: str, host: str, port: int | None, params: dict[str, str]) -> None:
    uri = SipUri.parse(text)
    assert (uri.host, uri.port, uri.params, uri.text) == (host, port, params, text)


def test_uri_address_and_loose_routing() -> None:
    assert SipUri.parse("sip:p.example.com;lr").loose_routing
    assert SipUri.parse("sip:p.example.com").address == ("p.example.com", 5060)
    assert SipUri.parse("sip:x@h;maddr=10.1.1.1").address == ("10.1.1.1", 5060)
    for bad in ("tel:+1555", "sip:", "sip:a@h:99999", "sip:a@[::1"):
        with pytest.raises(SipParseError):
            SipUri.parse(bad)


def test_name_addr_and_via() -> None:
    na = NameAddr.parse('"Bob" <sip:bob@h;transport=UDP>;tag=9;X=1')
    assert (na.display, na.uri, na.tag, na.params["x"]) == (
        "Bob",
        "sip:bob@h;transport=UDP",
        "9",
        "1",
    )
    assert NameAddr.parse("sip:bob@h;tag=5").tag == "5"
    via = Via.parse("SIP/2.0/udp [::1]:5060;branch=z9hG4bKx;rport")
    assert (via.transport, via.host, via.port, via.branch, via.params["rport"]) == (
        "UDP",
        "::1",
        5060,
        "z9hG4bKx",
        "",
    )
