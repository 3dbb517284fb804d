"""Issue 10's pure rules: calling codes, destination checks, play URLs, signatures."""

from __future__ import annotations

import pytest

from outdial.domain.actions import ActionRules, check_play_url, media_refs, parse_actions
from outdial.domain.address import Address, AddressType
from outdial.domain.callingcodes import number_allowed, parse_calling_codes
from outdial.domain.destinations import DestinationRule, sip_host_port
from outdial.domain.errors import InvalidArgument
from outdial.domain.netpolicy import NetworkPolicy
from outdial.signatures import SignatureError, sign, signature_header, verify


def test_calling_codes() -> None:
    assert parse_calling_codes(["+44", "1", "44"]) == ("1", "44")
    assert parse_calling_codes(None) == () and parse_calling_codes([]) == ()
    for bad in (["٤٤"], ["1a"], ["1234567"], [None], "1"):
        with pytest.raises(InvalidArgument):
            parse_calling_codes(bad)
    assert number_allowed("+4420", ("44",)) and not number_allowed("+4420", ("1",))
    assert number_allowed("+15550001", ())  # no codes: all


@pytest.mark.parametrize(
    "target,host,port",
    [
        ("bob@pbx.example", "pbx.example", None),
        ("bob@10.0.0.1:5070", "10.0.0.1", 5070),
        ("bob@[::1]:5062", "[::1]", 5062),
        ("bob@[fe80::1]", "[fe80::1]", None),
        ("a@b@2130706433", "2130706433", None),
    ],
)
def test_sip_host_port(target: str, host: str, port: int | None) -> None:
    assert sip_host_port(target) == (host, port)


def test_destination_rule() -> None:
    closed = DestinationRule(NetworkPolicy(), ("1",))
    closed.check(Address(AddressType.SIP, "bob@pbx.example"), "d")  # names pass
    closed.check(Address(AddressType.SIP, "bob@1password.example"), "d")
    closed.check(Address(AddressType.TEL, "+15550001"), "d")
    for bad in ("bob@127.0.0.1", "bob@0x7f000001:5060", "bob@[::ffff:10.0.0.1]"):
        with pytest.raises(InvalidArgument) as caught:
            closed.check(Address(AddressType.SIP, bad), "destination_1")
        assert caught.value.reason == "DESTINATION_BLOCKED"
        assert caught.value.message.startswith("destination_1.target host")
    with pytest.raises(InvalidArgument) as caught:
        closed.check(Address(AddressType.TEL, "+4420"), "destination_0")
    assert caught.value.reason == "DESTINATION_NOT_ALLOWED"
    opened = DestinationRule(NetworkPolicy.from_text("127.0.0.0/8"))
    opened.check(Address(AddressType.SIP, "bob@127.0.0.1:5070"), "d")


def test_play_urls() -> None:
    closed = NetworkPolicy()
    check_play_url("https://audio.example/a.wav", "u", closed)
    check_play_url("media:6f1c2d3e-0000-4000-8000-000000000001", "u", closed)
    for bad in ("/etc/passwd", "file:///x", "http://[::1]/a", "http://x:99999/a", "media:x"):
        with pytest.raises(InvalidArgument) as caught:
            check_play_url(bad, "u", closed)
        assert caught.value.reason == "INVALID_URI"
    actions = parse_actions(
        [
            {
                "type": "play",
                "option": {"stream_urls": ["media:6f1c2d3e-0000-4000-8000-000000000001"]},
            }
        ],
        rules=ActionRules(closed, 1000),
    )
    assert [str(m) for m in media_refs(actions)] == ["6f1c2d3e-0000-4000-8000-000000000001"]
    with pytest.raises(InvalidArgument):
        parse_actions(
            [{"type": "sleep", "option": {"duration": 1001}}], rules=ActionRules(closed, 1000)
        )


def test_signatures() -> None:
    body = b'{"id": 1}'
    header = signature_header(["new", "old"], 1_700_000_000, body)
    t = 1_700_000_000
    assert header == f"t={t},v1={sign('new', t, body)},v1={sign('old', t, body)}"
    assert verify(header, body, "old", now=1_700_000_100) == 1_700_000_000
    for bad_header, secret, now in (
        (header, "other", 1_700_000_000),
        (header, "new", 1_700_000_301),
        ("v1=abc", "new", 1_700_000_000),
        ("t=1700000000", "new", 1_700_000_000),
    ):
        with pytest.raises(SignatureError):
            verify(bad_header, body, secret, now=now)
