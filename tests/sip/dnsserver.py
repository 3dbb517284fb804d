"""A tiny authoritative DNS server on loopback for the SIP tests (dnslib), serving the records
a test gives it: NAPTR, SRV, A. Names it does not know get NXDOMAIN."""

from __future__ import annotations

import asyncio

from dnslib import NAPTR, QTYPE, RCODE, RR, SRV, A, DNSLabel, DNSRecord


class DnsZone(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.records: list[RR] = []
        self.queries: list[tuple[str, str]] = []
        self._transport: asyncio.DatagramTransport | None = None
        self.port = 0

    def a(self, name: str, address: str) -> None:
        self.records.append(RR(name, QTYPE.A, rdata=A(address), ttl=60))

    def srv(
        self, name: str, target: str, port: int, *, priority: int = 10, weight: int = 10
    ) -> None:
        rdata = SRV(priority=priority, weight=weight, port=port, target=target)
        self.records.append(RR(name, QTYPE.SRV, rdata=rdata, ttl=60))

    def naptr(self, name: str, service: str, replacement: str, *, order: int = 10) -> None:
        rdata = NAPTR(order, 10, b"S", service.encode(), b"", DNSLabel(replacement))
        self.records.append(RR(name, QTYPE.NAPTR, rdata=rdata, ttl=60))

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(
            lambda: self, local_addr=("127.0.0.1", 0)
        )
        self._transport = transport
        self.port = transport.get_extra_info("sockname")[1]

    def stop(self) -> None:
        if self._transport is not None:
            self._transport.close()

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        request = DNSRecord.parse(data)
        reply = request.reply()
        question = request.q
        name, qtype = question.qname, QTYPE[question.qtype]
        self.queries.append((str(name).rstrip("."), qtype))
        found = [rr for rr in self.records if rr.rname == name]
        if not found:
            reply.header.rcode = RCODE.NXDOMAIN
        for rr in found:
            if rr.rtype == question.qtype:
                reply.add_answer(rr)
        assert self._transport is not None
        self._transport.sendto(reply.pack(), addr)
