"""What every call of one `SipTelephony` shares, and where one call goes."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections import OrderedDict
from dataclasses import dataclass, field

from outdial.domain.netpolicy import NetworkPolicy, parse_ip_literal
from outdial.netguard import resolve_checked
from outdial.telephony.sip.auth import RealmGuard
from outdial.telephony.sip.library import AudioLibrary
from outdial.telephony.sip.media import MediaClock
from outdial.telephony.sip.transaction import Timers
from outdial.telephony.sip.transport import Addr, SipTransport


@dataclass(frozen=True, slots=True)
class DialTarget:
    request_uri: str
    addr: Addr  # the resolved next hop of the INVITE
    via: str  # our sent-by `host:port`, also used in Contact
    from_value: str  # the From header without its tag
    media_host: str  # the address in our SDP and of our RTP sockets
    # The first hop is the operator's trunk (or outbound proxy): credentials may go there and
    # the network policy does not apply; otherwise every hop and media address is checked.
    to_trunk: bool = False


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
    trunk: frozenset[Addr] = frozenset()  # the trunk as configured and as resolved
    trunk_addr: Addr | None = None
    media_stats: OrderedDict[str, MediaStats] = field(default_factory=OrderedDict)
    max_media_stats: int = 10_000

    def is_trunk(self, host: str, port: int) -> bool:
        return (host.lower(), port) in self.trunk

    async def route(self, host: str, port: int) -> tuple[Addr, bool]:
        """Where a request for `host:port` goes and whether that is the trunk. Anything but
        the trunk is resolved and checked against the network policy: raises BlockedAddress
        (never sent) or OSError (does not resolve)."""
        if self.trunk_addr is not None and self.is_trunk(host, port):
            return self.trunk_addr, True
        addresses = await resolve_checked(host, port, self.network, kind=socket.SOCK_DGRAM)
        return (addresses[0], port), False

    def media_allowed(self, host: str, port: int) -> bool:
        """May RTP go to this address of a call that is not to the trunk?"""
        address = parse_ip_literal(host)
        return address is not None and self.network.blocked_reason(address, port) is None

    def record_media(self, label: str, stats: MediaStats) -> None:
        self.media_stats[label] = stats
        while len(self.media_stats) > self.max_media_stats:
            self.media_stats.popitem(last=False)


def is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


async def resolve(host: str, port: int) -> Addr:
    """An IP address for `host` (IPv4 first); raises OSError when it does not resolve."""
    if is_ip(host):
        return host, port
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_DGRAM)
    infos.sort(key=lambda info: info[0] != socket.AF_INET)
    if not infos:
        raise OSError(f"{host} does not resolve")
    return str(infos[0][4][0]), port
