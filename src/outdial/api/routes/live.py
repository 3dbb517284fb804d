"""Issue 5: campaign stats, the event stream (SSE), customers' webhooks and replay."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, TypeVar

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.types import Receive, Scope, Send

from outdial.api.deps import CustomerId, ServicesDep
from outdial.api.responses import ok
from outdial.api.routes.agent_desk import agent_session
from outdial.domain.agent_sessions import agents_event
from outdial.domain.errors import InvalidArgument
from outdial.domain.ids import parse_id
from outdial.services.agent_sessions import check_agent_id
from outdial.services.container import Services
from outdial.services.events import Event
from outdial.wire import deliveries as wire_deliveries
from outdial.wire import stats as wire_stats

router = APIRouter(prefix="/v1.0", tags=["events"])
T = TypeVar("T")
POLL_S = 0.25  # how often the stream looks for new events
KEEPALIVE_S = 15.0
MAX_EVENT_ID = 2**53 - 1  # the largest integer JSON carries exactly (past it: 400, never an
# overflow in the database, whose ids are 64-bit)
KEY_CHECK_S = 2.0  # how often an open stream asks whether its key still works


class CustomerUpdate(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore")
    webhook_method: str | None = Field(None, description="POST (default) or PUT")
    webhook_uri: str | None = Field(None, description="http(s) URL; empty turns webhooks off")
    allowed_calling_codes: list[str] | None = Field(
        None, description='country calling codes tel destinations must start with ("1", "44")'
    )


class ReplayIn(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore")
    from_event_id: int = Field(..., ge=0, le=MAX_EVENT_ID)


@router.get("/campaigns/{id}/stats", operation_id="get_campaign_stats")
async def campaign_stats(id: str, s: ServicesDep, me: CustomerId) -> JSONResponse:
    return ok(wire_stats.render(await s.stats.campaign(me, parse_id(id))))


@router.get("/customer", operation_id="get_own_customer")
async def get_own_customer(s: ServicesDep, me: CustomerId) -> JSONResponse:
    """The caller's own customer (VoIPBIN's GET /v1.0/customer): who an access key belongs to."""
    return ok(await s.accounts.get(me, me))


@router.get("/customers/{id}", operation_id="get_customer")
async def get_customer(id: str, s: ServicesDep, me: CustomerId) -> JSONResponse:
    return ok(await s.accounts.get(me, parse_id(id)))


@router.put("/customers/{id}", operation_id="update_customer")
async def update_customer(
    id: str, s: ServicesDep, me: CustomerId, body: CustomerUpdate | None = None
) -> JSONResponse:
    fields = body.model_dump(exclude_unset=True) if body else {}
    return ok(await s.accounts.update(me, parse_id(id), fields))


@router.post("/customers/{id}/webhook_secret", operation_id="rotate_webhook_secret")
async def rotate_webhook_secret(id: str, s: ServicesDep, me: CustomerId) -> JSONResponse:
    """A new signing secret (shown only in this answer); the old one signs beside it 24 h."""
    return ok(await s.accounts.rotate_webhook_secret(me, parse_id(id)))


@router.post("/events/replay", operation_id="replay_events")
async def replay(body: ReplayIn, s: ServicesDep, me: CustomerId) -> JSONResponse:
    return ok(await s.events.replay(me, body.from_event_id))


@router.get("/webhook_deliveries", operation_id="list_webhook_deliveries")
async def deliveries(
    s: ServicesDep, me: CustomerId, page_size: Annotated[int, Query(ge=1, le=100)] = 100
) -> JSONResponse:
    found = await s.events.deliveries(me, page_size)
    return ok({"result": [wire_deliveries.render(d) for d in found], "next_page_token": ""})


@router.get("/events", operation_id="stream_events")
async def stream_events(
    request: Request,
    s: ServicesDep,
    me: CustomerId,
    last_event_id: Annotated[str | None, Header()] = None,
    from_id: Annotated[int | None, Query(alias="last_event_id", ge=0, le=MAX_EVENT_ID)] = None,
) -> StreamingResponse:
    """Server-Sent Events: `id` is the event id, `event` its type, `data` the event JSON.
    Resume with the `Last-Event-ID` header (browsers send it on reconnect) or the
    `last_event_id` query; without either the stream starts with the next event."""
    start = await _start(s, me, last_event_id, from_id)
    return _open_stream(request, s, me, start, None)


@router.get("/agents/{id}/events", operation_id="stream_agent_events")
async def stream_agent_events(
    id: str,
    request: Request,
    s: ServicesDep,
    me: CustomerId,
    last_event_id: Annotated[str | None, Header()] = None,
    from_id: Annotated[int | None, Query(alias="last_event_id", ge=0, le=MAX_EVENT_ID)] = None,
) -> StreamingResponse:
    """One agent's events (the agent page): its `agent_status_updated` and the updates of the
    campaigncalls connected to it, as `/events` sends them (same ids, resume alike). The
    agent's own session may open it (and a manager's, a customer's key or user)."""
    agent_id = parse_id(id)
    check_agent_id(agent_session(request), agent_id)
    await s.agents.get(me, agent_id)  # 404 AGENT_NOT_FOUND
    start = await _start(s, me, last_event_id, from_id)

    def keep(event: Event) -> bool:
        return agents_event(event.type, event.resource_id, event.data, agent_id)

    return _open_stream(request, s, me, start, keep)


async def _start(s: Services, me: uuid.UUID, last_event_id: str | None, from_id: int | None) -> int:
    if last_event_id is not None:
        try:
            start = int(last_event_id)
            if not 0 <= start <= MAX_EVENT_ID:
                raise ValueError
        except ValueError:
            raise InvalidArgument("Last-Event-ID must be an event id") from None
        return start
    if from_id is not None:
        return from_id
    return await s.events.last_id(me)


def _open_stream(
    request: Request,
    s: Services,
    me: uuid.UUID,
    start: int,
    keep: Callable[[Event], bool] | None,
) -> StreamingResponse:
    state = request.scope.get("state", {})
    digest = str(state.get("key_digest", ""))
    check = s.customers.key_valid
    if state.get("session_digest"):  # a user's session: the stream ends with it (issue 14)
        digest, check = str(state["session_digest"]), s.users.session_valid
        if state.get("agent_session") is not None:  # an agent's (the agent page)
            check = s.agent_sessions.session_valid
    s.limits.open_stream(me)  # 429 past the customer's limit of open streams
    return _CountedStream(
        lambda: s.limits.close_stream(me),
        _stream(request, s, me, start, digest, check, keep),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


class _CountedStream(StreamingResponse):
    """A stream that gives its slot back however it ends (also when the client left before
    the first event: the generator would then never run its own cleanup)."""

    def __init__(self, release: Callable[[], None], *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._release = release

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._release()


async def _unbroken(work: Awaitable[T]) -> T:
    """Run a database call to its end even if the stream is cancelled meanwhile (the client
    left): a query cancelled halfway makes the driver throw its connection away, and on
    SQLite (one connection per process) every other request would wait for it."""
    return await asyncio.shield(asyncio.ensure_future(work))


async def _stream(
    request: Request,
    s: Services,
    me: uuid.UUID,
    last: int,
    digest: str,
    check: Callable[[str], Awaitable[bool]],
    keep: Callable[[Event], bool] | None = None,
) -> AsyncIterator[str]:
    """Events as they come; ends when the client goes away or its key stops working
    (revoked, expired: within KEY_CHECK_S plus a poll, in any process)."""
    yield "retry: 2000\n\n"
    quiet = 0.0
    loop = asyncio.get_running_loop()
    next_check = loop.time() + KEY_CHECK_S
    while not await request.is_disconnected():
        if digest and loop.time() >= next_check:
            if not await _unbroken(check(digest)):
                return
            next_check = loop.time() + KEY_CHECK_S
        found = await _unbroken(s.events.after(me, last, 500))
        for event in found:
            if keep is None or keep(event):
                yield f"id: {event.id}\nevent: {event.type}\ndata: {event.body()}\n\n"
                quiet = 0.0  # (others' events skipped still leave the keepalive due)
            last = event.id
        if found:
            continue
        await asyncio.sleep(POLL_S)
        quiet += POLL_S
        if quiet >= KEEPALIVE_S:
            quiet = 0.0
            yield ": keepalive\n\n"
