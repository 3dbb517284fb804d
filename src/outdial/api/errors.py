"""The one place that maps errors to HTTP: `{"error": {status, reason, message, request_id}}`."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from outdial.api.middleware import BodyTooLarge
from outdial.domain.errors import ErrorStatus, OutdialError, ResourceExhausted, Unavailable
from outdial.wire.errors import error_body

log = logging.getLogger("outdial.api")

HTTP_CODES = {
    ErrorStatus.INVALID_ARGUMENT: 400,
    ErrorStatus.UNAUTHENTICATED: 401,
    ErrorStatus.PERMISSION_DENIED: 403,
    ErrorStatus.NOT_FOUND: 404,
    ErrorStatus.FAILED_PRECONDITION: 409,
    ErrorStatus.RESOURCE_EXHAUSTED: 429,
    ErrorStatus.INTERNAL: 500,
    ErrorStatus.UNAVAILABLE: 503,
}


def request_id(request: Request) -> str:
    return str(request.scope.get("state", {}).get("request_id", ""))


def envelope(
    request: Request,
    http: int,
    status: str,
    reason: str,
    message: str,
    headers: dict[str, str] | None = None,
    errors: Any = None,
) -> JSONResponse:
    """`errors`: the row errors of a rejected import, listed as the CLI lists them."""
    rid = request_id(request)
    body = error_body(status, reason, message, request_id=rid, errors=errors)
    # Named here too: a 500 is sent by Starlette's outermost middleware, past RequestGuard.
    headers = {**(headers or {}), "X-Request-Id": rid} if rid else headers
    if http == 401:
        headers = {**(headers or {}), "WWW-Authenticate": "Bearer"}
    return ErrorResponse(body, status_code=http, headers=headers)


class ErrorResponse(JSONResponse):
    """ASCII-only JSON, so that no message (which may quote the input) can fail to encode."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=True, separators=(",", ":")).encode("ascii")


_SOURCES = ("body", "query", "path", "header", "cookie")
_FIELD = re.compile(r"[a-z_][a-z0-9_]*")
_TYPE_TAGS = frozenset({"str", "int", "float", "bool", "list", "dict", "none"})


def _where(loc: Sequence[Any]) -> tuple[str, str]:
    """(item, field): `item 3` for an item of a JSON array body, and the field inside it
    (`destination_0.type`, `actions[2].type`); empty strings when absent.

    pydantic also puts the tried member of a union in the location (`AddressIn`, `str`);
    those are not fields and are left out."""
    parts = list(loc)
    if parts and parts[0] in _SOURCES:
        parts = parts[1:]
    item = ""
    if parts and isinstance(parts[0], int):
        item, parts = f"item {parts[0]}", parts[1:]
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _FIELD.fullmatch(str(part)) and part not in _TYPE_TAGS:
            out += f".{part}" if out else str(part)
    return item, out


def _validation_message(errors: Sequence[Any]) -> tuple[str, str]:
    for err in errors:
        if err.get("type") == "json_invalid":
            return "INVALID_JSON_BODY", "the request body is not valid JSON"
    if not errors:
        return "INVALID_ARGUMENT", "the request is not valid"
    first = errors[0]
    item, field = _where(first.get("loc", ()))
    subject = ": ".join(p for p in (item, field) if p) or "the request body"
    same_place = [e for e in errors if _where(e.get("loc", ())) == (item, field)]
    if len(same_place) > 1:  # every member of a union failed
        return "INVALID_ARGUMENT", f"{subject} has the wrong type"
    if first.get("type") in ("model_attributes_type", "model_type", "dict_type"):
        return "INVALID_ARGUMENT", f"{subject} must be a JSON object"
    return "INVALID_ARGUMENT", f"{subject}: {first.get('msg', 'invalid value')}"


def _allowed(request: Request) -> str:
    """Every method the API answers on this path, from its OpenAPI document (Starlette names
    only the first matching route's, and FastAPI makes one route per method)."""
    methods: set[str] = set()
    path = request.url.path
    for template, operations in request.app.openapi().get("paths", {}).items():
        pattern = re.sub(r"\\{[^/]+?\\}", "[^/]+", re.escape(template))
        if re.fullmatch(pattern, path):
            methods |= {m.upper() for m in operations if m.upper() in _METHODS}
    return ", ".join(sorted(methods))


_METHODS = frozenset({"GET", "PUT", "POST", "DELETE", "PATCH", "OPTIONS", "HEAD", "TRACE"})


def install(app: FastAPI) -> None:
    @app.exception_handler(OutdialError)
    async def _domain(request: Request, exc: OutdialError) -> JSONResponse:
        headers = None
        if isinstance(exc, ResourceExhausted | Unavailable):
            headers = {"Retry-After": str(exc.retry_after)}
        return envelope(
            request,
            HTTP_CODES[exc.status],
            exc.status.value,
            exc.reason,
            exc.message,
            headers,
            getattr(exc, "errors", None),
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        reason, message = _validation_message(list(exc.errors()))
        return envelope(request, 400, "INVALID_ARGUMENT", reason, message)

    @app.exception_handler(BodyTooLarge)
    async def _too_large(request: Request, exc: BodyTooLarge) -> JSONResponse:
        return envelope(
            request,
            413,
            "INVALID_ARGUMENT",
            "REQUEST_TOO_LARGE",
            f"the request body is larger than {exc.limit} bytes",
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400:
            # FastAPI's "error parsing the body": the body could not be read or decoded
            # (too large while streaming, nested too deep, a number too long, ...).
            if isinstance(exc.__cause__, BodyTooLarge):
                return await _too_large(request, exc.__cause__)
            return envelope(
                request,
                400,
                "INVALID_ARGUMENT",
                "INVALID_JSON_BODY",
                "the request body is not valid JSON",
            )
        if exc.status_code == 404:
            return envelope(request, 404, "NOT_FOUND", "ROUTE_NOT_FOUND", "no such route")
        if exc.status_code == 405:
            response = envelope(
                request,
                405,
                "INVALID_ARGUMENT",
                "METHOD_NOT_ALLOWED",
                "method not allowed on this route",
            )
            response.headers["Allow"] = _allowed(request)  # RFC 9110: a 405 names them
            return response
        return envelope(request, exc.status_code, "INVALID_ARGUMENT", "HTTP_ERROR", str(exc.detail))

    @app.exception_handler(Exception)
    async def _internal(request: Request, exc: Exception) -> JSONResponse:
        gone = _unavailable_cause(exc)
        if gone is not None:  # raised inside an exception group (a task group, say)
            return await _domain(request, gone)
        log.exception("unhandled error", extra={"request_id": request_id(request)})
        return envelope(request, 500, "INTERNAL", "INTERNAL", "internal error")


def _unavailable_cause(exc: BaseException) -> Unavailable | None:
    """The `Unavailable` that `exc` is, wraps or groups, if any."""
    seen = 0
    stack: list[BaseException | None] = [exc]
    while stack and seen < 20:
        err = stack.pop()
        seen += 1
        if err is None:
            continue
        if isinstance(err, Unavailable):
            return err
        stack.extend([err.__cause__, err.__context__])
        if isinstance(err, BaseExceptionGroup):
            stack.extend(err.exceptions)
    return None
