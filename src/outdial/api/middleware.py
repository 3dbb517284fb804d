"""ASGI middleware: a request id on every request, and the 32 MiB body limit (413); a
targets import (`POST /v1.0/outdials/{id}/targets_import`) has its own, larger limit
(`Limits.import_body`, OUTDIAL_IMPORT_MAX_BODY)."""

from __future__ import annotations

import json
import re
import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from outdial.metrics import API_SECONDS
from outdial.wire.errors import error_body

MAX_BODY = 32 * 1024 * 1024


IMPORT_PATH = re.compile(r"/v1\.0/outdials/[^/]+/targets_import")


class BodyTooLarge(Exception):
    """Raised while a route reads a body past the limit; the error handlers answer 413."""

    def __init__(self, limit: int = MAX_BODY) -> None:
        super().__init__(limit)
        self.limit = limit


def body_limit(scope: Scope, default: int) -> int:
    """The body limit of this request: the import's for a targets import, else `default`
    (0: no limit)."""
    if scope.get("method") == "POST" and IMPORT_PATH.fullmatch(scope.get("path", "")):
        services = getattr(scope.get("app"), "state", None)
        services = getattr(services, "services", None)
        if services is not None:
            limit: int = services.ctx.limits.import_body
            return limit
    return default


_JSON = b"application/json"
_FORM = b"application/x-www-form-urlencoded"


def _json_content_type(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """The API speaks only JSON: a body sent without a content type, or with curl's default
    form type, is read as JSON rather than ignored."""
    kept = [(k, v) for k, v in headers if k.lower() != b"content-type"]
    given = [v for k, v in headers if k.lower() == b"content-type"]
    if not given or given[0].split(b";")[0].strip().lower() == _FORM:
        return [*kept, (b"content-type", _JSON)]
    return list(headers)


class RequestGuard:
    def __init__(self, app: ASGIApp, max_body: int = MAX_BODY) -> None:
        self.app = app
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = str(uuid.uuid4())
        state = scope.setdefault("state", {})
        state["request_id"] = rid
        headers = scope.get("headers", [])
        given = [v for k, v in headers if k.lower() == b"content-type"]
        # The content type as sent, before the JSON rewrite (cookie-authenticated writes must
        # carry a JSON one: api/auth.py).
        state["content_type"] = given[0].split(b";")[0].strip().lower() if given else b""
        scope["headers"] = _json_content_type(headers)
        limit = body_limit(scope, self.max_body)
        length = dict(scope.get("headers", [])).get(b"content-length")
        if length is not None and (not length.isdigit() or 0 < limit < int(length)):
            await self._reject(send, rid, limit)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if 0 < limit < seen:
                    raise BodyTooLarge(limit)
            return message

        status = 500

        async def tracked(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = message.setdefault("headers", [])
                if not any(k.lower() == b"x-request-id" for k, _ in headers):
                    headers.append((b"x-request-id", rid.encode()))
            await send(message)

        began = time.perf_counter()
        try:
            await self.app(scope, counted, tracked)
        finally:
            _observe(scope, status, time.perf_counter() - began)

    async def _reject(self, send: Send, rid: str, limit: int) -> None:
        message = f"the request body is larger than {limit} bytes"
        await send_error(
            send,
            rid,
            413,
            "INVALID_ARGUMENT",
            "REQUEST_TOO_LARGE",
            message,
            [(b"x-request-id", rid.encode())],  # `tracked` adds it to the others
        )


async def send_error(
    send: Send,
    rid: str,
    http: int,
    status: str,
    reason: str,
    message: str,
    headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    """The error envelope answered straight from a middleware (before any route runs)."""
    body = error_body(status, reason, message, request_id=rid)
    data = json.dumps(body, ensure_ascii=True).encode()
    await send(
        {
            "type": "http.response.start",
            "status": http,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(data)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": data})


# Label values for the method: anything else is `other`, so that a client sending made-up
# methods cannot create a new time series with each one.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def _observe(scope: Scope, status: int, seconds: float) -> None:
    """API latency by route template (not the raw path: ids would explode the labels).
    The event stream is left out: its duration is the client's connection time."""
    route = scope.get("route")
    template = getattr(route, "path", None) or "unmatched"
    if template == "/v1.0/events":
        return
    method = scope.get("method", "")
    API_SECONDS.labels(method if method in METHODS else "other", template, str(status)).observe(
        seconds
    )
