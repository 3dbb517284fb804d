"""SIP transports on asyncio: one UDP socket for every call, TCP and TLS connections from a
pool (`stream.py`), every message routed to its owner.

Responses go to the client transaction whose key (top Via branch, CSeq method) matches, else
to the dialog owner of their Call-ID. Requests go to the dialog owner of their Call-ID, else to
`request_handler` (the answering peer's INVITE handling), else get a 481. A request larger
than 1300 bytes meant for UDP goes over TCP instead (RFC 3261 18.1.1); a connection that
cannot be opened is reported to the transactions that wait on it at once.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable

from outdial.telephony.sip.errors import SipParseError
from outdial.telephony.sip.hop import Hop
from outdial.telephony.sip.message import SipMessage, response_to
from outdial.telephony.sip.stream import ConnectionPool, TlsSettings
from outdial.telephony.sip.uri import top_branch

Addr = Hop  # where a message came from or goes to
Handler = Callable[[SipMessage, Hop], None]
TransactionKey = tuple[str, str]  # (branch, method)
MAX_UDP_REQUEST = 1300

log = logging.getLogger("outdial.telephony.sip.transport")
_RCVBUF = 4 * 1024 * 1024


def over_tcp(data: bytes) -> bytes:
    """A request's bytes with its top Via saying TCP instead of UDP."""
    head, sep, body = data.partition(b"\r\n\r\n")
    return head.replace(b"\r\nVia: SIP/2.0/UDP ", b"\r\nVia: SIP/2.0/TCP ", 1) + sep + body


class SipTransport(asyncio.DatagramProtocol):
    def __init__(self, *, tls: TlsSettings | None = None, keepalive: float = 30.0) -> None:
        self._transport: asyncio.DatagramTransport | None = None
        self.pool = ConnectionPool(self._on_stream_message, self._on_stream_failure, tls=tls,
                                   keepalive=keepalive)  # fmt: skip
        self._failure: dict[TransactionKey, tuple[Hop, Callable[[str], None]]] = {}
        self._transactions: dict[TransactionKey, Handler] = {}
        self._dialogs: dict[str, Handler] = {}
        self.request_handler: Handler | None = None
        self.local: tuple[str, int] = ("", 0)
        self.received = 0
        self.sent = 0
        self.dropped = 0

    async def open(self, host: str, port: int, *, streams: bool = True) -> None:
        """The UDP socket and (with `streams`) a TCP listener on the same port."""
        for _ in range(20 if port == 0 else 1):
            await self._open_udp(host, port)
            if not streams:
                return
            try:
                await self.pool.listen(self.local[0], self.local[1])
                return
            except OSError:
                self.close()
                if port != 0:
                    raise
        raise OSError(f"no port free for both UDP and TCP on {host}")

    async def _open_udp(self, host: str, port: int) -> None:
        loop = asyncio.get_running_loop()
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, _RCVBUF)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, _RCVBUF)
            sock.bind((host, port))
            sock.setblocking(False)
        except OSError:
            sock.close()
            raise
        transport, _ = await loop.create_datagram_endpoint(lambda: self, sock=sock)
        self._transport = transport
        name = sock.getsockname()
        self.local = (str(name[0]), int(name[1]))

    @property
    def is_open(self) -> bool:
        return self._transport is not None and not self._transport.is_closing()

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()
            self._transport = None
        self._transactions.clear()
        self._dialogs.clear()

    async def aclose(self) -> None:
        self.close()
        await self.pool.close()

    @staticmethod
    def hop_for(data: bytes, hop: Hop) -> tuple[bytes, Hop]:
        """The hop (and bytes) a new request really takes: over 1300 bytes, UDP becomes TCP."""
        if hop.transport == "UDP" and len(data) > MAX_UDP_REQUEST:
            return over_tcp(data), Hop(hop.host, hop.port, "TCP")
        return data, hop

    def send(self, message: SipMessage | bytes, addr: Hop) -> None:
        if self._transport is None or self._transport.is_closing():
            return
        data = message if isinstance(message, bytes) else message.to_bytes()
        if addr.transport == "UDP":
            self._transport.sendto(data, (addr.host, addr.port))
        else:
            self.pool.send(data, addr)
        self.sent += 1

    def add_transaction(
        self, key: TransactionKey, handler: Handler, *,
        hop: Hop | None = None, on_failure: Callable[[str], None] | None = None,
    ) -> None:  # fmt: skip
        """`on_failure` hears at once when the connection to `hop` cannot be opened."""
        self._transactions[key] = handler
        if hop is not None and on_failure is not None and hop.reliable:
            self._failure[key] = (hop, on_failure)

    def remove_transaction(self, key: TransactionKey) -> None:
        self._transactions.pop(key, None)
        self._failure.pop(key, None)

    def _on_stream_failure(self, hop: Hop, reason: str) -> None:
        key = ConnectionPool.key(hop)
        for tkey, (waiting, callback) in list(self._failure.items()):
            if ConnectionPool.key(waiting) == key:
                self._failure.pop(tkey, None)
                callback(reason)

    def _on_stream_message(self, msg: SipMessage, source: Hop) -> None:
        self.received += 1
        self._dispatch(msg, source)

    def add_dialog(self, call_id: str, handler: Handler) -> None:
        self._dialogs[call_id] = handler

    def remove_dialog(self, call_id: str) -> None:
        self._dialogs.pop(call_id, None)

    def has_dialog(self, call_id: str) -> bool:
        return call_id in self._dialogs

    @property
    def transaction_count(self) -> int:
        return len(self._transactions)

    @property
    def dialog_count(self) -> int:
        return len(self._dialogs)

    # asyncio.DatagramProtocol

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        source = Hop(str(addr[0]), int(addr[1]))
        if not data.strip(b"\r\n\x00 "):
            return  # keep-alive
        try:
            msg = SipMessage.parse(data)
        except SipParseError as exc:
            self.dropped += 1
            log.debug("dropped an unreadable datagram from %s: %s: %r", source, exc, data[:400])
            return
        self.received += 1
        self._dispatch(msg, source)

    def _dispatch(self, msg: SipMessage, source: Hop) -> None:
        try:
            branch = top_branch(msg.get_all("Via"))
            method = msg.cseq[1]
        except SipParseError as exc:
            self.dropped += 1
            log.debug("dropped a message from %s: %s", source, exc)
            return
        if msg.is_request:
            handler = self._dialogs.get(msg.call_id) or self.request_handler
            if handler is None:
                if msg.method != "ACK":
                    reply = response_to(msg, 481, "Call/Transaction Does Not Exist")
                    self.send(reply, source)
                return
        else:
            if len(msg.get_all("Via")) != 1:  # not for us (RFC 3261 18.1.2): discarded
                self.dropped += 1
                log.debug("call %s: response with several Vias dropped", msg.call_id)
                return
            handler = self._transactions.get((branch, method)) or self._dialogs.get(msg.call_id)
            if handler is None:
                log.debug("call %s: stray %d response to %s", msg.call_id, msg.status, method)
                return
        try:
            handler(msg, source)
        except Exception:  # one bad message must not stop the socket serving other calls
            log.exception("call %s: error handling a message from %s", msg.call_id, source)

    def error_received(self, exc: Exception) -> None:
        log.debug("socket error (ICMP) on the SIP socket: %s", exc)
