"""SIP over UDP on asyncio: one socket for every call, datagrams routed to their owner.

Responses go to the client transaction whose key (top Via branch, CSeq method) matches, else
to the dialog owner of their Call-ID. Requests go to the dialog owner of their Call-ID, else to
`request_handler` (the answering peer's INVITE handling), else get a 481.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable

from outdial.telephony.sip.errors import SipParseError
from outdial.telephony.sip.message import SipMessage, response_to
from outdial.telephony.sip.uri import top_branch

Addr = tuple[str, int]
Handler = Callable[[SipMessage, Addr], None]
TransactionKey = tuple[str, str]  # (branch, method)

log = logging.getLogger("outdial.telephony.sip.transport")
_RCVBUF = 4 * 1024 * 1024


class SipTransport(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self._transport: asyncio.DatagramTransport | None = None
        self._transactions: dict[TransactionKey, Handler] = {}
        self._dialogs: dict[str, Handler] = {}
        self.request_handler: Handler | None = None
        self.local: Addr = ("", 0)
        self.received = 0
        self.sent = 0
        self.dropped = 0

    async def open(self, host: str, port: int) -> None:
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

    def send(self, message: SipMessage | bytes, addr: Addr) -> None:
        if self._transport is None or self._transport.is_closing():
            return
        data = message if isinstance(message, bytes) else message.to_bytes()
        self._transport.sendto(data, addr)
        self.sent += 1

    def add_transaction(self, key: TransactionKey, handler: Handler) -> None:
        self._transactions[key] = handler

    def remove_transaction(self, key: TransactionKey) -> None:
        self._transactions.pop(key, None)

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
        source: Addr = (str(addr[0]), int(addr[1]))
        if not data.strip(b"\r\n\x00 "):
            return  # keep-alive
        try:
            msg = SipMessage.parse(data)
            branch = top_branch(msg.get_all("Via"))
            method = msg.cseq[1]
        except SipParseError as exc:
            self.dropped += 1
            log.debug("dropped an unreadable datagram from %s: %s: %r", source, exc, data[:400])
            return
        self.received += 1
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
