"""The webhook worker: POSTs every event to its customer's webhook, signed, in order per
resource, retrying with exponential backoff for more than an hour. It runs beside the dialer
as its own task and only reads the outbox, so a slow or dead receiver never blocks dialing.

Each round leases the customers whose cursor is due, takes the next events after the cursor,
and sends them: the events of one resource one after another (order per resource), different
resources concurrently (bounded). Every attempt is recorded. When all succeeded the cursor
moves past the batch; otherwise it stays at the first failed event and waits out the backoff;
events of the batch that did get through are remembered and not sent again (within this
worker; after a crash or a lease moving to another worker delivery is at least once)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp

from outdial.clock import Clock
from outdial.domain.errors import Unavailable
from outdial.domain.netpolicy import BlockedAddress, NetworkPolicy
from outdial.metrics import WEBHOOK_DELIVERIES, WEBHOOK_FAILURES
from outdial.netguard import check_http_url, guarded_connector
from outdial.services.events import Event
from outdial.services.webhooks import Attempt, Lease, WebhookService
from outdial.signatures import HEADER as SIGNATURE_HEADER
from outdial.signatures import signature_header
from outdial.storage.timeconv import to_us

log = logging.getLogger("outdial.webhooks")


def backoff_s(attempt: int, cap_s: float = 600.0) -> float:
    """Seconds to wait after the `attempt`-th failure (1-based): 1, 2, 4, ... up to `cap_s`."""
    return float(min(cap_s, 2 ** max(0, attempt - 1)))


@dataclass(frozen=True, slots=True)
class WebhookConfig:
    poll_s: float = 0.5
    timeout_s: float = 10.0  # one attempt's whole time
    batch: int = 500  # events per customer per round
    concurrency: int = 32  # resources delivered at once per customer
    max_attempts: int = 16  # 1+2+...+512 s, then 600 s each: about 77 minutes in all
    lease_s: float = 60.0
    connections: int = 256  # open to all receivers at once, at most
    # What receivers may be reached (None: the service context's policy, which is closed
    # unless the operator opens private networks).
    network: NetworkPolicy | None = None


# What one delivery attempt can fail with, recorded as that attempt's outcome: the receiver
# refused, reset or timed out, its name did not resolve, or its URI is not one we can reach.
_FAILURES = (aiohttp.ClientError, TimeoutError, OSError, ValueError)
READ_LIMIT = 64 * 1024  # of a receiver's answer (its body is not used)


def failure_kind(exc: BaseException) -> str:
    """A short, fixed word for why an attempt failed. The remote's own error text is never
    recorded: it would tell a customer which inside ports answer (a port-scan oracle)."""
    if isinstance(exc, BlockedAddress):
        return "blocked"
    if isinstance(exc, TimeoutError | aiohttp.ServerTimeoutError):
        return "timeout"
    if isinstance(exc, aiohttp.ClientSSLError | ssl.SSLError):
        return "tls"
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return "dns_failed"
    if isinstance(exc, aiohttp.ClientConnectorError):
        return "connect_failed"
    if isinstance(exc, aiohttp.ServerDisconnectedError | aiohttp.ClientOSError):
        return "connection_lost"
    if isinstance(exc, aiohttp.ClientResponseError | aiohttp.ClientPayloadError):
        return "protocol_error"
    if isinstance(exc, aiohttp.InvalidURL | ValueError):
        return "invalid_uri"
    return "error"


def status_kind(status: int) -> str:
    """`http_3xx` (a redirect, never followed), `http_4xx`, `http_5xx`."""
    return f"http_{status // 100}xx" if 100 <= status < 600 else "protocol_error"


class WebhookWorker:
    def __init__(
        self,
        service: WebhookService,
        clock: Clock,
        config: WebhookConfig | None = None,
        owner: str | None = None,
    ) -> None:
        self.service = service
        self.clock = clock
        self.config = config or WebhookConfig()
        self.network = self.config.network or service.ctx.network
        self.owner = owner or f"webhooks-{uuid.uuid4()}"
        self._session: aiohttp.ClientSession | None = None
        # Per customer: the cursor we left and the events past it that already got through.
        self._sent: dict[uuid.UUID, tuple[tuple[int, int], set[int]]] = {}

    @contextlib.asynccontextmanager
    async def connected(self) -> AsyncIterator[None]:
        """The HTTP session (pooled keep-alive connections) that rounds inside send through.
        aiohttp rather than httpx: its connection pool and C parser cost about a fifth of the
        CPU per delivery (docs/benchmarks.md, issue 5), CPU the dialer shares."""
        if self._session is not None:
            yield
            return
        self._session = aiohttp.ClientSession(
            # Every connection goes to an address the policy allowed when the name was
            # resolved for it (no DNS rebinding between the check and the connect).
            connector=guarded_connector(self.network, limit=self.config.connections),
            timeout=aiohttp.ClientTimeout(total=self.config.timeout_s),
            auto_decompress=False,
        )
        try:
            yield
        finally:
            session, self._session = self._session, None
            await session.close()

    async def run(self, stop: asyncio.Event) -> None:
        try:
            async with self.connected():
                away = False
                while not stop.is_set():
                    try:
                        busy = await self.round()
                    except Unavailable:  # the database is away: try again next round
                        if not away:
                            log.warning("webhook delivery paused: the database is unavailable")
                        away, busy = True, 0
                    except Exception:
                        log.exception("webhook round failed")
                        busy = 0
                    else:
                        if away:
                            log.warning("webhook delivery resumes: the database is back")
                        away = False
                    if busy:
                        continue
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), self.config.poll_s)
        finally:
            with contextlib.suppress(Exception):
                await self.service.release(self.owner)

    async def round(self) -> int:
        """One pass over the due customers; returns how many events were delivered."""
        leases = await self.service.take(self.owner, int(self.config.lease_s * 1_000_000))
        done = await asyncio.gather(*(self._customer(lease) for lease in leases))
        return sum(done)

    async def _customer(self, lease: Lease) -> int:
        found = await self.service.pending(lease, self.config.batch)
        if not found:
            return 0
        key = (lease.next_event_id, lease.attempt)
        remembered = self._sent.get(lease.customer_id)
        sent = remembered[1] if remembered and remembered[0] == key else set()
        groups: dict[uuid.UUID, list[Event]] = defaultdict(list)
        for event in found:
            if event.id not in sent:
                groups[event.resource_id].append(event)
        gate = asyncio.Semaphore(self.config.concurrency)
        attempts: list[Attempt] = []
        failed: list[int] = []
        number = lease.attempt + 1

        async def resource(events: list[Event]) -> None:
            async with gate:
                for event in events:
                    status, error = await self._send(lease, event)
                    ok = status is not None and 200 <= status < 300
                    attempts.append(Attempt(event.id, number, status, error, ok))
                    if not ok:
                        WEBHOOK_FAILURES.labels(error).inc()
                        failed.append(event.id)
                        return  # the rest of this resource waits: order per resource
                    WEBHOOK_DELIVERIES.inc()
                    sent.add(event.id)

        await asyncio.gather(*(resource(events) for events in groups.values()))
        now = to_us(self.clock.now())
        if not failed:
            new_key = (found[-1].id + 1, 0)
            next_try = 0
            sent = set()
        elif number >= self.config.max_attempts:
            log.warning(
                "webhook gave up on %d events after %d attempts",
                len(failed),
                number,
                extra={"customer_id": lease.customer_id, "event_id": min(failed)},
            )
            sent.update(failed)  # given up: skipped from now on
            new_key = (
                min(e.id for e in found if e.id not in sent)
                if _left(found, sent)
                else found[-1].id + 1,
                0,
            )
            next_try = 0
        else:
            new_key = (min(failed), number)
            next_try = now + int(backoff_s(number) * 1_000_000)
        moved = await self.service.settle(
            self.owner, lease, attempts, new_key[0], new_key[1], next_try
        )
        if moved:
            self._sent[lease.customer_id] = (new_key, {i for i in sent if i >= new_key[0]})
        else:
            self._sent.pop(lease.customer_id, None)
        return sum(1 for a in attempts if a.ok)

    async def _send(self, lease: Lease, event: Event) -> tuple[int | None, str]:
        """One attempt: the status code (None when no answer came) and, when it failed, a
        short kind (`failure_kind`, `status_kind`). A URI whose host is blocked is recorded
        `blocked` and nothing is sent."""
        assert self._session is not None, "rounds run inside connected()"
        try:
            check_http_url(lease.uri, self.network)  # literals: aiohttp skips the resolver
        except (BlockedAddress, ValueError) as exc:
            return None, failure_kind(exc)
        body = event.body().encode()
        stamp = int(self.clock.now().timestamp())
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: signature_header(lease.secrets, stamp, body),
            "X-Outdial-Event-Id": str(event.id),
            "X-Outdial-Event-Type": event.type,
        }
        try:
            async with self._session.request(
                lease.method, lease.uri, data=body, headers=headers, allow_redirects=False
            ) as response:
                await response.content.read(READ_LIMIT)
                status = response.status
        except (BlockedAddress, *_FAILURES) as exc:
            return None, failure_kind(exc)
        if 200 <= status < 300:
            return status, ""
        return status, status_kind(status)


def _left(found: list[Event], sent: set[int]) -> bool:
    return any(e.id not in sent for e in found)
