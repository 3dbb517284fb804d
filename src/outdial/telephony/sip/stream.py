"""SIP over TCP and TLS (RFC 3261 18, RFC 5630): framed connections, one pool per process.

A connection carries many transactions and dialogs. Messages are framed by Content-Length
(18.3); CRLF keep-alives (RFC 5626 4.4.1) are answered (a double CRLF gets a single one back)
and sent every `keepalive` seconds on the connections we opened. Connections are reused per
destination (transport, address, port), whichever side opened them, so a far end's in-dialog
requests and responses come back over the connection the INVITE went out on. Outgoing
connections leave from our SIP port (SO_REUSEPORT), so a Contact with that port reaches us
over the same connection too. TLS verifies the server's certificate by default (system CAs or
the operator's CA file), sends SNI, and can be told not to verify named hosts.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

from outdial.telephony.sip.errors import SipParseError
from outdial.telephony.sip.hop import Hop
from outdial.telephony.sip.message import SipMessage

log = logging.getLogger("outdial.telephony.sip.stream")
MAX_MESSAGE = 64 * 1024
OnMessage = Callable[[SipMessage, Hop], None]
OnFailure = Callable[[Hop, str], None]


@dataclass(frozen=True, slots=True)
class TlsSettings:
    ca_file: Path | None = None  # else the system's CAs
    no_verify: frozenset[str] = frozenset()  # host names whose certificate is not checked

    def context(self, server_name: str) -> ssl.SSLContext:
        if server_name.lower() in self.no_verify:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            return ctx
        ctx = ssl.create_default_context(cafile=str(self.ca_file) if self.ca_file else None)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        return ctx


class StreamConnection(asyncio.Protocol):
    def __init__(self, pool: ConnectionPool, hop: Hop) -> None:
        self.pool = pool
        self.hop = hop
        self.transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self.outbound = False
        self.last_used = asyncio.get_running_loop().time()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not subclasses of asyncio.Transport, only alike
        self.transport = cast(asyncio.Transport, transport)
        if self.hop.port == 0:  # accepted: known by the far end's address from now on
            peer = transport.get_extra_info("peername")
            self.hop = Hop(str(peer[0]), int(peer[1]), self.hop.transport)
            self.pool.register(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        self.pool.forget(self)

    def write(self, data: bytes, *, keepalive: bool = False) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)
            if not keepalive:
                self.last_used = asyncio.get_running_loop().time()

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        if data.strip(b"\r\n"):
            self.last_used = asyncio.get_running_loop().time()
        while True:
            stripped = len(self._buffer) - len(self._buffer.lstrip(b"\r\n"))
            if stripped:
                if bytes(self._buffer[:4]) == b"\r\n\r\n":
                    self.write(b"\r\n")  # a keep-alive ping gets its pong (RFC 5626 4.4.1)
                del self._buffer[:stripped]
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self._buffer) > MAX_MESSAGE:
                    self._drop("headers too long")
                return
            length = _content_length(bytes(self._buffer[:end]))
            if length is None:
                self._drop("no Content-Length on a stream")
                return
            total = end + 4 + length
            if total > MAX_MESSAGE:
                self._drop("message too long")
                return
            if len(self._buffer) < total:
                return
            data_one = bytes(self._buffer[:total])
            del self._buffer[:total]
            try:
                msg = SipMessage.parse(data_one)
            except SipParseError as exc:
                log.debug("unreadable message on %s: %s", self.hop, exc)
                continue
            self.pool.on_message(msg, self.hop)

    def _drop(self, why: str) -> None:
        log.warning("closing the %s connection to %s: %s", self.hop.transport, self.hop, why)
        self._buffer.clear()
        self.close()


def _content_length(head: bytes) -> int | None:
    for line in head.split(b"\r\n")[1:]:
        name, colon, value = line.partition(b":")
        if colon and name.strip().lower() in (b"content-length", b"l"):
            text = value.strip()
            return int(text) if text.isdigit() else None
    return None


@dataclass(slots=True)
class _Pending:
    task: asyncio.Task[None]
    queue: list[bytes] = field(default_factory=list)


class ConnectionPool:
    """Connections by (transport, address, port): opened on first send, reused after."""

    def __init__(
        self, on_message: OnMessage, on_failure: OnFailure, *, tls: TlsSettings | None = None,
        keepalive: float = 30.0, idle_close: float = 300.0,
    ) -> None:  # fmt: skip
        self.on_message = on_message
        self.on_failure = on_failure
        self.tls = tls or TlsSettings()
        self.keepalive = keepalive
        self.idle_close = idle_close
        self.local: tuple[str, int] | None = None  # our SIP address: outgoing connections' source
        self._connections: dict[tuple[str, str, int], StreamConnection] = {}
        self._pending: dict[tuple[str, str, int], _Pending] = {}
        self._servers: list[asyncio.Server] = []
        self._housekeeping: asyncio.Task[None] | None = None
        self.opened = 0

    @staticmethod
    def key(hop: Hop) -> tuple[str, str, int]:
        return hop.transport, hop.host, hop.port

    async def listen(self, host: str, port: int) -> None:
        """Accept TCP connections on our SIP port (far ends that connect to our Contact)."""
        loop = asyncio.get_running_loop()
        server = await loop.create_server(
            lambda: self._accepted("TCP"), host, port, reuse_port=True, reuse_address=True
        )
        self._servers.append(server)
        self.local = (host, port)
        self._housekeeping = loop.create_task(self._housekeep())

    async def listen_tls(self, host: str, port: int, context: ssl.SSLContext) -> int:
        """Accept TLS connections (the test peers; outdial itself reuses its own)."""
        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: self._accepted("TLS"), host, port, ssl=context)
        self._servers.append(server)
        return int(server.sockets[0].getsockname()[1])

    def _accepted(self, transport: str) -> StreamConnection:
        return StreamConnection(self, Hop("", 0, transport))

    def register(self, conn: StreamConnection) -> None:
        self._connections.setdefault(self.key(conn.hop), conn)

    def forget(self, conn: StreamConnection) -> None:
        key = self.key(conn.hop)
        if self._connections.get(key) is conn:
            del self._connections[key]

    def has(self, hop: Hop) -> bool:
        key = self.key(hop)
        return key in self._connections or key in self._pending

    def send(self, data: bytes, hop: Hop) -> None:
        key = self.key(hop)
        conn = self._connections.get(key)
        if conn is not None and conn.transport is not None:
            conn.write(data)
            return
        pending = self._pending.get(key)
        if pending is None:
            task = asyncio.get_running_loop().create_task(self._connect(hop))
            pending = self._pending[key] = _Pending(task)
        pending.queue.append(data)

    async def _connect(self, hop: Hop) -> None:
        key = self.key(hop)
        loop = asyncio.get_running_loop()
        try:
            try:
                sock = await self._open_socket(hop, from_our_port=True)
            except OSError as exc:
                if exc.errno not in (errno.EADDRNOTAVAIL, errno.EADDRINUSE):
                    raise
                # that connection from our port was closed a moment ago (TIME_WAIT): any port
                sock = await self._open_socket(hop, from_our_port=False)
            ssl_ctx = None
            server_name = None
            if hop.transport == "TLS":
                server_name = hop.server_name or hop.host
                ssl_ctx = self.tls.context(server_name)
            _, conn = await asyncio.wait_for(
                loop.create_connection(
                    lambda: StreamConnection(self, hop), sock=sock, ssl=ssl_ctx,
                    server_hostname=server_name,
                ),
                10,
            )  # fmt: skip
        except (OSError, TimeoutError, ssl.SSLError) as exc:
            self._pending.pop(key, None)
            reason = str(exc) or type(exc).__name__
            log.warning("cannot open %s to %s:%d: %s", hop.transport, hop.host, hop.port, reason)
            self.on_failure(hop, f"{hop.transport} connection failed: {reason}")
            return
        conn.outbound = True
        self.opened += 1
        self._connections[key] = conn
        pending = self._pending.pop(key, None)
        for data in pending.queue if pending else []:
            conn.write(data)

    async def _open_socket(self, hop: Hop, *, from_our_port: bool) -> socket.socket:
        """A connected socket, from our SIP port when it can (far ends that send to our
        Contact then find this connection), else from any port (the Via says which)."""
        loop = asyncio.get_running_loop()
        sock = socket.socket(socket.AF_INET6 if ":" in hop.host else socket.AF_INET)
        sock.setblocking(False)
        try:
            local = self.local
            if from_our_port and local is not None and (":" in local[0]) == (":" in hop.host):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
                with contextlib.suppress(OSError):
                    sock.bind(local)
            await asyncio.wait_for(loop.sock_connect(sock, (hop.host, hop.port)), 10)
        except BaseException:
            sock.close()
            raise
        return sock

    async def _housekeep(self) -> None:
        """CRLF keep-alives on our connections; idle ones closed."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(min(self.keepalive, self.idle_close))
            now = loop.time()
            for conn in list(self._connections.values()):
                if now - conn.last_used > self.idle_close:
                    conn.close()
                elif conn.outbound:
                    conn.write(b"\r\n\r\n", keepalive=True)

    async def close(self) -> None:
        if self._housekeeping is not None:
            self._housekeeping.cancel()
        for pending in self._pending.values():
            pending.task.cancel()
        self._pending.clear()
        for conn in list(self._connections.values()):
            conn.close()
        self._connections.clear()
        for server in self._servers:
            server.close()
        self._servers.clear()

    @property
    def connection_count(self) -> int:
        return len(self._connections)
