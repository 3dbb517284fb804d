"""Scripted far ends on raw loopback sockets: receive one SIP message, answer it by hand."""

from __future__ import annotations

import asyncio
import socket

from outdial.telephony.sip.message import SipMessage

SDP_PCMU = (
    b"v=0\r\no=far 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    b"m=audio 9 RTP/AVP 0\r\n"
)
SDP_TYPE = ("Content-Type", "application/sdp")


def udp(host: str = "127.0.0.1") -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((host, 0))
    sock.setblocking(False)
    return sock


async def recv(sock: socket.socket, within: float = 3) -> tuple[SipMessage, tuple[str, int]]:
    data, addr = await asyncio.wait_for(
        asyncio.get_running_loop().sock_recvfrom(sock, 65536), within
    )
    return SipMessage.parse(data), addr


async def recv_request(
    sock: socket.socket, method: str, within: float = 3
) -> tuple[SipMessage, tuple[str, int]]:
    """The next request of `method`, skipping others (ACKs of earlier responses...)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        msg, addr = await recv(sock, max(0.01, deadline - loop.time()))
        if msg.method == method:
            return msg, addr


def drain(sock: socket.socket) -> list[SipMessage]:
    """Every message already waiting on the socket."""
    out: list[SipMessage] = []
    while True:
        try:
            out.append(SipMessage.parse(sock.recv(65536)))
        except BlockingIOError:
            return out


def reply(
    request: SipMessage, code: int, *extra: tuple[str, str], body: bytes = b"", tag: str = "far"
) -> bytes:
    resp = SipMessage(status=code, reason="OK" if code == 200 else "Response", body=body)
    for name in ("Via", "From"):
        resp.add(name, request.get(name) or "")
    to = request.get("To") or ""
    resp.add("To", to if "tag=" in to else f"{to};tag={tag}")
    resp.add("Call-ID", request.call_id)
    resp.add("CSeq", request.get("CSeq") or "")
    for name, value in extra:
        resp.add(name, value)
    return resp.to_bytes()


def challenge(
    realm: str, nonce: str, *, stale: bool = False, proxy: bool = False
) -> tuple[str, str]:
    header = "Proxy-Authenticate" if proxy else "WWW-Authenticate"
    value = f'Digest realm="{realm}", nonce="{nonce}", algorithm=MD5'
    return header, value + (", stale=true" if stale else "")


def has_credentials(msg: SipMessage) -> bool:
    return bool(msg.get("Authorization") or msg.get("Proxy-Authorization"))
