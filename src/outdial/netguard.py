"""Outbound connections that obey the network policy (`domain/netpolicy.py`).

A host name is resolved here, every address it resolves to is checked, and the caller connects
to an address that was checked, never to the name again: there is no window in which DNS can
answer differently at connect time (DNS rebinding). `GuardedResolver` does the same for
aiohttp, whose connector connects to exactly the addresses its resolver returns.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

from outdial.domain.netpolicy import BlockedAddress, NetworkPolicy, parse_ip_literal

__all__ = ["BlockedAddress", "GuardedResolver", "check_http_url", "resolve_checked"]


async def resolve_checked(
    host: str,
    port: int,
    policy: NetworkPolicy,
    *,
    kind: socket.SocketKind = socket.SOCK_STREAM,
) -> list[str]:
    """The addresses of `host` (IPv4 first), each allowed by `policy`.

    Raises BlockedAddress when any address the name resolves to is blocked (a name that points
    inside at all is refused, rather than picking its one public address), and OSError when it
    does not resolve."""
    literal = parse_ip_literal(host)
    if literal is not None:
        policy.check(host, literal, port)
        return [str(literal)]
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=kind)
    if not infos:
        raise OSError(f"{host} does not resolve")
    infos.sort(key=lambda info: info[0] != socket.AF_INET)
    addresses: list[str] = []
    for info in infos:
        text = str(info[4][0])
        address = parse_ip_literal(text)
        if address is None:  # pragma: no cover - getaddrinfo returns numeric addresses
            raise OSError(f"{host} resolved to {text!r}")
        policy.check(host, address, port)
        if text not in addresses:
            addresses.append(text)
    return addresses


def check_http_url(url: str, policy: NetworkPolicy) -> None:
    """Raise ValueError for a URL that is not http(s), and BlockedAddress for one whose host is
    a blocked literal (names are checked when resolved, by `GuardedResolver`)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("only http and https URLs with a host are allowed")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise ValueError("the URL's port is not a number from 0 to 65535") from None
    policy.check_literal(parts.hostname, port)


class GuardedResolver(AbstractResolver):
    """An aiohttp resolver that answers only with addresses the policy allows.

    aiohttp skips the resolver for hosts it already sees as IP literals, so callers also run
    `check_http_url` on every URL before the request."""

    def __init__(self, policy: NetworkPolicy) -> None:
        self.policy = policy

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        addresses = await resolve_checked(host, port, self.policy)
        results: list[ResolveResult] = []
        for address in addresses:
            fam = socket.AF_INET6 if ":" in address else socket.AF_INET
            if family not in (socket.AF_UNSPEC, fam):
                continue
            results.append(
                ResolveResult(hostname=host, host=address, port=port, family=fam, proto=0, flags=0)
            )
        if not results:
            raise OSError(f"{host} has no address of the asked family")
        return results

    async def close(self) -> None:
        return None


def guarded_connector(policy: NetworkPolicy, **kwargs: Any) -> aiohttp.TCPConnector:
    """A connector whose every connection goes to an address the policy allows."""
    return aiohttp.TCPConnector(resolver=GuardedResolver(policy), **kwargs)
