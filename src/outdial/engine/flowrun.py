"""Flow campaigns (issue 12 item 6): an attempt without a call leg.

Each attempt runs the campaign's actions through the pure interpreter (`domain/flow.py`) with
the target's variables, and ends as VoIPBIN's flow campaigncalls do (reference_type `flow`,
dialing -> progressing -> done). Control actions (`variable_set`, `branch`, `goto`,
`condition_*`, `stop`) run inside the interpreter; `webhook_send` is the one action with an
effect here. Actions that need a call (`talk`, `play`, `amd`, ...) are skipped, as are the
other non-call types VoIPBIN knows (`message_send`, `email_send`, ...), which need services
outdial does not have; the attempt's detail names what was skipped.

`webhook_send` goes out through the network policy (outdial.netguard: the name is resolved,
every address checked, the connection made to a checked address). With `sync: true` the flow
waits for the answer, and a failure (blocked address, no answer, status outside 2xx) ends the
attempt with result `fail` (hangup_reason `failed`), so the outplan's retry rules apply; without
`sync` the request is sent beside the flow and its failure is only logged."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any, Protocol

import aiohttp

from outdial.clock import Clock
from outdial.domain.flow import Flow
from outdial.domain.netpolicy import BlockedAddress, NetworkPolicy
from outdial.domain.outcome import CallOutcome, HangupReason
from outdial.netguard import check_http_url, guarded_connector

log = logging.getLogger("outdial.engine.flow")
WEBHOOK_TIMEOUT_S = 10.0
MAX_BODY = 64 * 1024


class WebhookSender(Protocol):
    async def send(self, method: str, uri: str, content_type: str, body: bytes) -> int:
        """The HTTP status of the answer; raises BlockedAddress, OSError, TimeoutError, ..."""
        ...


class HttpSender:
    """webhook_send over aiohttp, every connection to an address the policy allows."""

    def __init__(self, network: NetworkPolicy, timeout_s: float = WEBHOOK_TIMEOUT_S) -> None:
        self.network = network
        self.timeout_s = timeout_s
        self._session: aiohttp.ClientSession | None = None

    async def send(self, method: str, uri: str, content_type: str, body: bytes) -> int:
        check_http_url(uri, self.network)
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=guarded_connector(self.network, limit=50),
                timeout=aiohttp.ClientTimeout(total=self.timeout_s),
            )
        headers = {"Content-Type": content_type} if body else {}
        async with self._session.request(
            method, uri, data=body or None, headers=headers, allow_redirects=False
        ) as response:
            await response.content.read(MAX_BODY)
            return response.status

    async def close(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()


def _request(option: dict[str, Any]) -> tuple[str, str, str, bytes]:
    method = str(option.get("method") or "POST").upper()
    content_type = str(option.get("data_type") or "application/json")
    data = option.get("data", "")
    if isinstance(data, dict | list):
        data = json.dumps(data, ensure_ascii=False)
    body = b"" if method == "GET" else str(data or "").encode("utf-8")
    return method, str(option.get("uri") or ""), content_type, body


class FlowRunner:
    def __init__(self, sender: WebhookSender, clock: Clock) -> None:
        self.sender = sender
        self.clock = clock
        self._background: set[asyncio.Task[None]] = set()

    async def run(self, actions: list[dict[str, Any]], variables: dict[str, str]) -> CallOutcome:
        """Run one attempt's flow; its outcome is that of the attempt."""
        flow = Flow(actions, variables)
        skipped: list[str] = []
        sent = 0
        while (action := flow.next(self.clock.now())) is not None:
            kind = str(action.get("type"))
            if kind != "webhook_send":
                skipped.append(kind)
                continue
            option = action.get("option") or {}
            method, uri, content_type, body = _request(option)
            if not option.get("sync"):
                self._beside(method, uri, content_type, body)
                sent += 1
                continue
            why = await self._send(method, uri, content_type, body)
            if why is not None:
                return CallOutcome(HangupReason.FAILED, answered=True, detail=why)
            sent += 1
        detail = f"flow: {flow.steps} actions run, {sent} webhooks sent"
        if skipped:
            detail += f"; skipped (no call, or no such service): {', '.join(sorted(set(skipped)))}"
        return CallOutcome(HangupReason.NORMAL, answered=True, detail=detail)

    async def _send(self, method: str, uri: str, content_type: str, body: bytes) -> str | None:
        """None when the answer was 2xx, else why the webhook failed."""
        try:
            status = await self.sender.send(method, uri, content_type, body)
        except BlockedAddress as exc:
            return f"webhook_send {uri}: {exc.reason.replace('_', ' ')} address blocked"
        except ValueError as exc:
            return f"webhook_send {uri}: {exc}"
        except (TimeoutError, OSError, aiohttp.ClientError) as exc:
            return f"webhook_send {uri}: {type(exc).__name__} {exc}".strip()
        if not 200 <= status < 300:
            return f"webhook_send {uri}: answered {status}"
        return None

    def _beside(self, method: str, uri: str, content_type: str, body: bytes) -> None:
        async def send() -> None:
            why = await self._send(method, uri, content_type, body)
            if why is not None:
                log.warning("%s (async, the flow went on)", why)

        task = asyncio.create_task(send(), name="flow-webhook")
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def drain(self, timeout_s: float = WEBHOOK_TIMEOUT_S) -> None:
        """Wait for webhooks sent beside flows (engine shutdown)."""
        if not self._background:
            return
        _, pending = await asyncio.wait(self._background, timeout=timeout_s)
        for task in pending:
            task.cancel()
        with contextlib.suppress(Exception):
            await asyncio.gather(*pending, return_exceptions=True)
