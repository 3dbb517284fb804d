"""Before a call is placed: the hosts its `play` URLs name must not resolve inside.

A literal address was refused when the actions were written; a host *name* is resolved only
when used (no DNS on writes of actions), here, once per host for `cache_s`. A name that
resolves to any blocked address ends the attempt `failed` with the detail
`destination_blocked` before anything is dialed. The fetch itself resolves and checks again and
connects only to the checked address (telephony/sip/library.py), so a name that changes its
answer in between gains nothing. A name that does not resolve is left to the fetch (its
`play` is skipped, the call goes on)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from outdial.domain.netpolicy import BlockedAddress, NetworkPolicy
from outdial.netguard import resolve_checked

log = logging.getLogger("outdial.engine")
BLOCKED = "destination_blocked"
RESOLVE_S = 5.0


def play_hosts(actions: Iterable[dict[str, Any]]) -> set[tuple[str, int]]:
    """(host, port) of every http(s) URL the `play` actions stream."""
    found: set[tuple[str, int]] = set()
    for action in actions:
        if action.get("type") != "play":
            continue
        option = action.get("option")
        urls = option.get("stream_urls") if isinstance(option, dict) else None
        for url in urls if isinstance(urls, list) else []:
            if not isinstance(url, str) or not url.startswith(("http://", "https://")):
                continue
            try:
                parts = urlsplit(url)
                port = parts.port or (443 if parts.scheme == "https" else 80)
            except ValueError:
                continue
            if parts.hostname:
                found.add((parts.hostname, port))
    return found


class PlayGuard:
    def __init__(self, network: NetworkPolicy, cache_s: float = 30.0) -> None:
        self.network = network
        self.cache_s = cache_s
        self._verdicts: dict[tuple[str, int], tuple[float, str]] = {}  # -> (until, reason)

    async def blocked(self, actions: Iterable[dict[str, Any]]) -> str | None:
        """A short description of the first play host that resolves inside, or None."""
        for host, port in sorted(play_hosts(actions)):
            reason = await self._verdict(host, port)
            if reason:
                return f"play URL host {host} is {reason}"
        return None

    async def _verdict(self, host: str, port: int) -> str:
        loop = asyncio.get_running_loop()
        cached = self._verdicts.get((host, port))
        if cached is not None and cached[0] > loop.time():
            return cached[1]
        reason = ""
        try:
            async with asyncio.timeout(RESOLVE_S):
                await resolve_checked(host, port, self.network)
        except BlockedAddress as exc:
            reason = exc.reason
        except (OSError, TimeoutError, UnicodeError):
            reason = ""  # left to the fetch, which fails and skips that play
        if len(self._verdicts) > 10_000:
            self._verdicts.clear()
        self._verdicts[(host, port)] = (loop.time() + self.cache_s, reason)
        return reason
