"""What every call of one `SipTelephony` shares, and where one call goes."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import lru_cache

from outdial.domain.netpolicy import NetworkPolicy, parse_ip_literal
from outdial.netguard import resolve_checked
from outdial.telephony.base import CallRequest
from outdial.telephony.bridge import LocalLegs
from outdial.telephony.sip.auth import RealmGuard
from outdial.telephony.sip.hop import Hop
from outdial.telephony.sip.library import AudioLibrary
from outdial.telephony.sip.listening import Ears
from outdial.telephony.sip.media import MediaClock
from outdial.telephony.sip.resolver import Breaker, SipResolver
from outdial.telephony.sip.transaction import Timers
from outdial.telephony.sip.transport import SipTransport
from outdial.telephony.sip.uri import format_host


@dataclass(frozen=True, slots=True)
class DialTarget:
    request_uri: str
    addr: Hop  # the resolved next hop of the INVITE
    via: str  # our sent-by `host:port`, also used in Contact
    from_value: str  # the From header without its tag
    media_host: str  # the address in our SDP and of our RTP sockets
    # The first hop is the operator's trunk (or outbound proxy): credentials may go there and
    # the network policy does not apply; otherwise every hop and media address is checked.
    to_trunk: bool = False
    alternatives: tuple[Hop, ...] = ()  # further servers to fail over to (DNS SRV)
    routes: tuple[str, ...] = ()  # a pre-loaded Route set (the outbound proxy)
    secure: bool = False  # a sips: request URI: our Contact is sips: too
    identity: str = ""  # P-Asserted-Identity (RFC 3325): to the trunk only, a trusted network
    extra_headers: tuple[tuple[str, str], ...] = ()  # the outplan's sip_headers

    @property
    def contact_uri(self) -> str:
        if self.secure:
            return f"sips:outdial@{self.via}"
        params = "" if self.addr.transport == "UDP" else f";transport={self.addr.transport.lower()}"
        return f"sip:outdial@{self.via}{params}"


@dataclass(frozen=True, slots=True)
class MediaStats:
    """RTP counters of one finished call."""

    sent_packets: int
    received_packets: int
    payload_type: int
    rtp_port: int  # our local RTP port (the far end sees it as the source port)


@dataclass(slots=True)
class CallEnv:
    transport: SipTransport
    timers: Timers
    clock: MediaClock
    library: AudioLibrary
    username: str
    password: str
    abandon_grace: float  # how long a cancelled call may take to CANCEL or BYE
    user_agent: str = "outdial"
    network: NetworkPolicy = field(default_factory=NetworkPolicy)
    realms: RealmGuard = field(default_factory=RealmGuard)
    trunk: frozenset[tuple[str, int]] = frozenset()  # the trunk as configured and resolved
    trunk_hops: tuple[Hop, ...] = ()
    resolver: SipResolver = field(default_factory=SipResolver)
    breaker: Breaker = field(default_factory=Breaker)
    failover: float = 2.0  # seconds without any answer before the next server is tried
    session_expires: int = 1800  # RFC 4028 interval asked for (0: none)
    media_stats: OrderedDict[str, MediaStats] = field(default_factory=OrderedDict)
    max_media_stats: int = 10_000
    ears: Ears = field(default_factory=Ears)  # the far end's audio of every call, analysed
    # Where a bridge's second leg goes (SipTelephony.leg_target), or why it cannot be dialed.
    leg_target: Callable[[CallRequest], Awaitable[DialTarget | str]] | None = None
    # A `webrtc:` bridge target -> the open local leg (the agent's browser phone), or None.
    local_legs: LocalLegs | None = None

    def is_trunk(self, host: str, port: int) -> bool:
        return (host.lower(), port) in self.trunk

    async def route(
        self, host: str, port: int, transport: str = "UDP", *, explicit: bool = True
    ) -> tuple[list[Hop], bool]:
        """The hops a request for `host[:port]` may go to, in order, and whether that is the
        trunk. Anything but the trunk is resolved and checked against the network policy:
        raises BlockedAddress (never sent) or OSError (does not resolve)."""
        if self.trunk_hops and self.is_trunk(host, port):
            return self.breaker.order(list(self.trunk_hops)), True
        literal = _literal(host)
        name = "" if literal is not None else host
        if port or not name:
            port = port or (5061 if transport == "TLS" else 5060)
            if literal is not None:  # no DNS: checked here, cached (the hot path of a dialer)
                return [_checked_literal(literal, port, transport, self.network)], False
            kind = socket.SOCK_DGRAM if transport == "UDP" else socket.SOCK_STREAM
            addresses = await resolve_checked(host, port, self.network, kind=kind)
            return [Hop(a, port, transport, name) for a in addresses], False
        hops = await self.resolver.hops(host, 0, transport, explicit=explicit)
        for hop in hops:
            address = parse_ip_literal(hop.host)
            assert address is not None
            self.network.check(host, address, hop.port)
        return self.breaker.order(hops), False

    def media_allowed(self, host: str, port: int) -> bool:
        """May RTP go to this address of a call that is not to the trunk?"""
        address = parse_ip_literal(host)
        return address is not None and self.network.blocked_reason(address, port) is None

    def record_media(self, label: str, stats: MediaStats) -> None:
        self.media_stats[label] = stats
        while len(self.media_stats) > self.max_media_stats:
            self.media_stats.popitem(last=False)


@lru_cache(maxsize=4096)
def _literal(host: str) -> str | None:
    address = parse_ip_literal(host)
    return None if address is None else str(address)


@lru_cache(maxsize=4096)
def _checked_literal(address: str, port: int, transport: str, policy: NetworkPolicy) -> Hop:
    """The hop to an address literal the policy allows; raises BlockedAddress (not cached)."""
    parsed = parse_ip_literal(address)
    assert parsed is not None
    policy.check(address, parsed, port)
    return Hop(address, port, transport)


@lru_cache(maxsize=4096)
def is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


async def resolve(host: str, port: int, transport: str = "UDP") -> Hop:
    """An IP address for `host` (IPv4 first); raises OSError when it does not resolve."""
    name = "" if is_ip(host) else host
    if is_ip(host):
        return Hop(host, port, transport)
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_DGRAM)
    infos.sort(key=lambda info: info[0] != socket.AF_INET)
    if not infos:
        raise OSError(f"{host} does not resolve")
    return Hop(str(infos[0][4][0]), port, transport, name)


def hostport(host: str, port: int) -> str:
    return f"{format_host(host)}:{port}" if port else format_host(host)
