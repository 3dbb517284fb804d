"""Which network addresses outbound requests may reach (SPEC 4, security).

Webhooks, `play` URLs and `sip` destinations are chosen by customers, so a request must not
reach the inside of the operator's network: loopback, private (RFC 1918, RFC 4193), link-local,
unspecified, multicast and reserved ranges, nor the service's own listening sockets, unless the
operator opens a range with `OUTDIAL_ALLOW_PRIVATE_NETWORKS`. The trunk is the operator's own
choice and is never checked here.

This module is pure: it parses host literals the way resolvers do (so `2130706433`,
`0x7f000001`, `0177.1` and `[::ffff:127.0.0.1]` are all loopback) and classifies addresses.
Name resolution and connecting to the checked address live in `outdial.netguard`.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# (network, reason) in the order they are checked; the reason is a short stable word.
_BLOCKED: tuple[tuple[IPNetwork, str], ...] = tuple(
    (ipaddress.ip_network(cidr), reason)
    for cidr, reason in (
        ("0.0.0.0/8", "unspecified"),
        ("127.0.0.0/8", "loopback"),
        ("10.0.0.0/8", "private"),
        ("172.16.0.0/12", "private"),
        ("192.168.0.0/16", "private"),
        ("100.64.0.0/10", "private"),  # carrier-grade NAT, shared address space (RFC 6598)
        ("169.254.0.0/16", "link_local"),
        ("192.0.0.0/24", "reserved"),
        ("198.18.0.0/15", "reserved"),  # benchmarking (RFC 2544)
        ("224.0.0.0/4", "multicast"),
        ("240.0.0.0/4", "reserved"),  # includes 255.255.255.255
        ("::/128", "unspecified"),
        ("::1/128", "loopback"),
        ("fc00::/7", "private"),
        ("fe80::/10", "link_local"),
        ("fec0::/10", "link_local"),  # deprecated site-local
        ("ff00::/8", "multicast"),
    )
)


class BlockedAddress(Exception):
    """An outbound request would reach an address the policy blocks."""

    def __init__(self, host: str, address: str, reason: str) -> None:
        super().__init__(f"{host} is {reason} ({address})" if host != address else reason)
        self.host = host
        self.address = address
        self.reason = reason


def parse_ip_literal(host: str) -> IPAddress | None:
    """The address a host literal denotes, as a resolver would read it, or None for a name.

    Accepts brackets around IPv6, and every IPv4 form `inet_aton` takes (decimal, octal and hex
    parts, one to four of them: `2130706433`, `0x7f.1`, `0177.0.0.1`)."""
    text = host.strip()
    if text != host or not text:
        return None
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    text = text.split("%", 1)[0] if ":" in text else text  # an IPv6 zone id
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        pass
    if ":" in text or not all(c.isalnum() or c == "." for c in text):
        return None
    try:
        return ipaddress.IPv4Address(socket.inet_aton(text))
    except OSError:
        return None


def unwrap(address: IPAddress) -> IPAddress:
    """The IPv4 address inside an IPv4-mapped, -compatible, NAT64 or 6to4 IPv6 address."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address.sixtofour is not None:
            return address.sixtofour
        packed = address.packed
        if packed[:12] == bytes(12) and int(address) > 1:  # ::a.b.c.d (deprecated compatible)
            return ipaddress.IPv4Address(packed[12:])
        if packed[:12] == bytes.fromhex("0064ff9b0000000000000000"):  # 64:ff9b::/96
            return ipaddress.IPv4Address(packed[12:])
    return address


def parse_networks(text: str | Iterable[str]) -> tuple[IPNetwork, ...]:
    """CIDRs from `OUTDIAL_ALLOW_PRIVATE_NETWORKS` (comma-separated) or a list; ValueError names
    the bad entry."""
    items = text.split(",") if isinstance(text, str) else list(text)
    networks: list[IPNetwork] = []
    for item in items:
        entry = item.strip()
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise ValueError(
                f"allow-private-networks: {entry!r} is not a CIDR such as 127.0.0.0/8"
            ) from None
    return tuple(networks)


@dataclass(frozen=True, slots=True)
class NetworkPolicy:
    """The operator's rule for outbound requests.

    `allowed`: networks opened on purpose (they win over the blocked ranges, except the
    service's own endpoints). `own`: the (address, port) pairs this process listens on; an
    unspecified address (`0.0.0.0`, `::`) there means every address of this host, which is
    matched on the port for loopback and `own_addresses`."""

    allowed: tuple[IPNetwork, ...] = ()
    own: frozenset[tuple[IPAddress, int]] = frozenset()
    own_addresses: frozenset[IPAddress] = frozenset()

    @classmethod
    def from_text(cls, allowed: str | Iterable[str] = "") -> NetworkPolicy:
        return cls(allowed=parse_networks(allowed))

    @classmethod
    def open_all(cls) -> NetworkPolicy:
        """Every address allowed (tests of the policy's callers that are not about it)."""
        return cls(allowed=(ipaddress.ip_network("0.0.0.0/0"), ipaddress.ip_network("::/0")))

    def with_own(self, endpoints: Iterable[tuple[str, int]]) -> NetworkPolicy:
        """This policy with the process's listening sockets added to what it blocks."""
        own = set(self.own)
        for host, port in endpoints:
            address = parse_ip_literal(host)
            if address is not None:
                own.add((unwrap(address), port))
        return NetworkPolicy(self.allowed, frozenset(own), self.own_addresses)

    def blocked_reason(self, address: IPAddress, port: int | None = None) -> str | None:
        """Why `address` (and `port`, when known) may not be reached, or None when it may."""
        address = unwrap(address)
        if port is not None and self._is_own(address, port):
            return "own_address"
        if any(address.version == net.version and address in net for net in self.allowed):
            return None
        for network, reason in _BLOCKED:
            if address.version == network.version and address in network:
                return reason
        return None

    def check(self, host: str, address: IPAddress, port: int | None = None) -> None:
        """Raise BlockedAddress when `address` (what `host` resolved to) is blocked."""
        reason = self.blocked_reason(address, port)
        if reason is not None:
            raise BlockedAddress(host, str(address), reason)

    def check_literal(self, host: str, port: int | None = None) -> None:
        """Raise BlockedAddress for a host literal that is blocked; names pass (they are
        resolved and checked when used)."""
        address = parse_ip_literal(host)
        if address is not None:
            self.check(host, address, port)

    def _is_own(self, address: IPAddress, port: int) -> bool:
        for own_address, own_port in self.own:
            if own_port != port:
                continue
            if own_address == address:
                return True
            if own_address.is_unspecified and (
                address.is_loopback or address in self.own_addresses or address.is_unspecified
            ):
                return True
        return False
