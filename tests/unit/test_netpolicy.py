"""The network policy: which addresses customers' outbound requests may reach."""

from __future__ import annotations

import ipaddress
import socket

import pytest

from outdial.domain.netpolicy import (
    BlockedAddress,
    NetworkPolicy,
    parse_ip_literal,
    parse_networks,
)
from outdial.netguard import check_http_url, resolve_checked

CLOSED = NetworkPolicy()


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("[::ffff:127.0.0.1]", "::ffff:7f00:1"),
        ("[::1]", "::1"),
        ("fe80::1%eth0", "fe80::1"),
        ("example.com", None),
        ("10.0.0.1.example.com", None),
        (" 127.0.0.1", None),
        ("", None),
    ],
)
def test_literals_are_read_as_resolvers_read_them(host: str, expected: str | None) -> None:
    parsed = parse_ip_literal(host)
    assert (str(parsed) if parsed is not None else None) == expected


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("127.255.0.9", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("172.31.255.255", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "link_local"),
        ("0.0.0.0", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("255.255.255.255", "reserved"),
        ("::1", "loopback"),
        ("::", "unspecified"),
        ("fd00::1", "private"),
        ("fe80::1", "link_local"),
        ("ff02::1", "multicast"),
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:10.0.0.1", "private"),
        ("64:ff9b::a00:1", "private"),
        ("2002:7f00:1::", "loopback"),
    ],
)
def test_inside_addresses_are_blocked(address: str, reason: str) -> None:
    assert CLOSED.blocked_reason(ipaddress.ip_address(address)) == reason


@pytest.mark.parametrize("address", ["8.8.8.8", "172.32.0.1", "192.169.0.1", "2001:db8::1"])
def test_public_addresses_pass(address: str) -> None:
    assert CLOSED.blocked_reason(ipaddress.ip_address(address)) is None


def test_operator_opens_networks_deliberately() -> None:
    policy = NetworkPolicy.from_text("127.0.0.0/8, 10.0.0.0/8")
    assert policy.blocked_reason(ipaddress.ip_address("127.0.0.1")) is None
    assert policy.blocked_reason(ipaddress.ip_address("::ffff:10.9.9.9")) is None
    assert policy.blocked_reason(ipaddress.ip_address("192.168.0.1")) == "private"
    assert policy.blocked_reason(ipaddress.ip_address("::1")) == "loopback"


def test_own_listening_sockets_stay_blocked_even_when_opened() -> None:
    policy = NetworkPolicy.from_text("127.0.0.0/8").with_own([("127.0.0.1", 8080)])
    assert policy.blocked_reason(ipaddress.ip_address("127.0.0.1"), 8080) == "own_address"
    assert policy.blocked_reason(ipaddress.ip_address("127.0.0.1"), 8081) is None
    anywhere = NetworkPolicy.open_all().with_own([("0.0.0.0", 9000)])
    assert anywhere.blocked_reason(ipaddress.ip_address("127.0.0.2"), 9000) == "own_address"
    assert anywhere.blocked_reason(ipaddress.ip_address("8.8.8.8"), 9000) is None


def test_bad_cidr_is_named() -> None:
    with pytest.raises(ValueError, match=r"'10\.0\.0\.0/33'"):
        parse_networks("127.0.0.0/8,10.0.0.0/33")
    assert parse_networks("") == ()


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://2130706433/",
        "http://0x7f000001:8080/",
        "https://[::ffff:127.0.0.1]/",
        "http://169.254.169.254/latest/meta-data",
    ],
)
def test_blocked_literal_urls(url: str) -> None:
    with pytest.raises(BlockedAddress):
        check_http_url(url, CLOSED)


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/", "http:///x"])
def test_only_http_urls(url: str) -> None:
    with pytest.raises(ValueError):
        check_http_url(url, CLOSED)


async def test_names_are_checked_after_resolution() -> None:
    with pytest.raises(BlockedAddress) as info:
        await resolve_checked("localhost", 80, CLOSED)
    assert info.value.reason == "loopback"
    opened = NetworkPolicy.from_text("127.0.0.0/8,::1/128")
    assert "127.0.0.1" in await resolve_checked("localhost", 80, opened)
    assert await resolve_checked("2130706433", 80, opened) == ["127.0.0.1"]


async def test_unresolvable_name_is_an_os_error() -> None:
    with pytest.raises(OSError):
        await resolve_checked("no-such-host.invalid", 80, CLOSED, kind=socket.SOCK_DGRAM)
