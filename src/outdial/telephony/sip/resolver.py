"""Locating SIP servers (RFC 3263): NAPTR, SRV and A/AAAA, and a circuit breaker per host.

A host given as an IP address, or with a port, is used as is (A/AAAA for a name). A name
without a port is looked up as RFC 3263 4.1 says: NAPTR (SIP+D2U, SIP+D2T, SIPS+D2T) unless
the transport was given, then SRV (`_sip._udp`, `_sip._tcp`, `_sips._tcp`) ordered by priority
and by weight at random within one (RFC 2782), then A/AAAA on 5060 (5061 for TLS). The result
is an ordered list of hops: a call fails over to the next on a timeout, a transport error or a
503 (`OutboundCall`). `Breaker` remembers hosts that failed and skips them for 30 s, for every
call of the process (when every hop is out, they are tried anyway, in order).
"""

from __future__ import annotations

import asyncio
import logging
import random
import socket
from collections.abc import Sequence
from dataclasses import dataclass

import dns.asyncresolver
import dns.exception
import dns.nameserver
import dns.resolver

from outdial.domain.netpolicy import parse_ip_literal
from outdial.telephony.sip.hop import Hop

log = logging.getLogger("outdial.telephony.sip.dns")
_NAPTR_SERVICES = {"SIP+D2U": "UDP", "SIP+D2T": "TCP", "SIPS+D2T": "TLS"}
_SRV_PREFIX = {"UDP": "_sip._udp", "TCP": "_sip._tcp", "TLS": "_sips._tcp"}
DNS_TIMEOUT = 3.0


@dataclass(frozen=True, slots=True)
class SrvTarget:
    priority: int
    weight: int
    port: int
    target: str


def order_srv(records: Sequence[SrvTarget], rng: random.Random) -> list[SrvTarget]:
    """RFC 2782: lowest priority first; within one, weighted random order."""
    out: list[SrvTarget] = []
    for priority in sorted({r.priority for r in records}):
        group = [r for r in records if r.priority == priority]
        while group:
            total = sum(r.weight for r in group)
            if total == 0:
                pick = group[0]
            else:
                point = rng.uniform(0, total)
                running = 0
                pick = group[-1]
                for record in group:
                    running += record.weight
                    if running >= point:
                        pick = record
                        break
            out.append(pick)
            group.remove(pick)
    return out


class Breaker:
    """Hosts that just failed (timeout, transport error, 503), skipped for `open_s`."""

    def __init__(self, open_s: float = 30.0) -> None:
        self.open_s = open_s
        self._until: dict[tuple[str, int, str], float] = {}

    def fail(self, hop: Hop) -> None:
        loop = asyncio.get_running_loop()
        self._until[(hop.host, hop.port, hop.transport)] = loop.time() + self.open_s
        log.warning("SIP server %s failed: skipped for %g s", hop, self.open_s)

    def is_open(self, hop: Hop) -> bool:
        until = self._until.get((hop.host, hop.port, hop.transport))
        if until is None:
            return False
        if until <= asyncio.get_running_loop().time():
            del self._until[(hop.host, hop.port, hop.transport)]
            return False
        return True

    def order(self, hops: list[Hop]) -> list[Hop]:
        """Healthy hops first (in their order), then the ones skipped for now."""
        return [h for h in hops if not self.is_open(h)] + [h for h in hops if self.is_open(h)]


class SipResolver:
    def __init__(
        self, nameservers: Sequence[tuple[str, int]] = (), *, rng: random.Random | None = None
    ) -> None:
        self._dns = dns.asyncresolver.Resolver(configure=not nameservers)
        if nameservers:
            self._dns.nameservers = [
                dns.nameserver.Do53Nameserver(host, port) for host, port in nameservers
            ]
        self._dns.lifetime = DNS_TIMEOUT
        self.custom = bool(nameservers)  # names go to these servers, not the system resolver
        self.rng = rng or random.Random()

    async def addresses(self, host: str) -> list[str]:
        """IPv4 first, then IPv6; OSError if the name does not resolve."""
        literal = parse_ip_literal(host)
        if literal is not None:
            return [str(literal)]
        if self.custom:
            direct = [rr.address for kind in ("A", "AAAA") for rr in await self._query(host, kind)]
            if not direct:
                raise OSError(f"{host} does not resolve")
            return [str(a) for a in direct]
        infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_DGRAM)
        infos.sort(key=lambda info: info[0] != socket.AF_INET)
        found: list[str] = []
        for info in infos:
            text = str(info[4][0])
            if text not in found:
                found.append(text)
        if not found:
            raise OSError(f"{host} does not resolve")
        return found

    async def hops(self, host: str, port: int, transport: str, *, explicit: bool) -> list[Hop]:
        """Every hop for `host` in the order to try (see the module doc); OSError if none."""
        tls_name = "" if parse_ip_literal(host) is not None else host
        if port or parse_ip_literal(host) is not None:
            port = port or (5061 if transport == "TLS" else 5060)
            return [Hop(a, port, transport, tls_name) for a in await self.addresses(host)]
        candidates = await self._naptr(host, transport) if not explicit else []
        if not candidates:
            order = [transport] if explicit or transport == "TLS" else ["UDP", "TCP", "TLS"]
            candidates = [(t, f"{_SRV_PREFIX[t]}.{host}") for t in order]
        for chosen, name in candidates:
            records = await self._srv(name)
            if records:
                return await self._srv_hops(records, chosen)
        default = 5061 if transport == "TLS" else 5060
        return [Hop(a, default, transport, tls_name) for a in await self.addresses(host)]

    async def _srv_hops(self, records: list[SrvTarget], transport: str) -> list[Hop]:
        hops: list[Hop] = []
        for record in order_srv(records, self.rng):
            try:
                addresses = await self.addresses(record.target)
            except OSError:
                log.warning("SRV target %s does not resolve", record.target)
                continue
            hops += [Hop(a, record.port, transport, record.target) for a in addresses]
        if not hops:
            raise OSError("no SRV target resolves")
        return hops

    async def _naptr(self, host: str, transport: str) -> list[tuple[str, str]]:
        """(transport, SRV name) from NAPTR records, in order and preference."""
        answers = await self._query(host, "NAPTR")
        found: list[tuple[int, int, str, str]] = []
        for rr in answers:
            service = rr.service.decode().upper()
            chosen = _NAPTR_SERVICES.get(service)
            if chosen is None or rr.flags.decode().lower() != "s":
                continue
            if transport == "TLS" and chosen != "TLS":
                continue  # a sips: URI goes over TLS only
            found.append((rr.order, rr.preference, chosen, rr.replacement.to_text(True)))
        found.sort(key=lambda item: (item[0], item[1]))
        return [(t, name) for _, _, t, name in found]

    async def _srv(self, name: str) -> list[SrvTarget]:
        answers = await self._query(name, "SRV")
        return [
            SrvTarget(rr.priority, rr.weight, rr.port, rr.target.to_text(True))
            for rr in answers
            if rr.target.to_text(True) not in ("", ".")
        ]

    async def _query(self, name: str, kind: str) -> list:  # type: ignore[type-arg]
        try:
            answer = await self._dns.resolve(name, kind, search=False)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer, dns.resolver.NoNameservers):
            return []
        except dns.exception.Timeout:
            log.warning("DNS %s query for %s timed out", kind, name)
            return []
        return list(answer)
