"""The one place that maps errors to HTTP: `{"error": {status, reason, message, request_id}}`."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from outdial.api.middleware import MAX_BODY, BodyTooLarge
from outdial.domain.errors import ErrorStatus, OutdialError

log = logging.getLogger("outdial.api")

HTTP_CODES = {
    ErrorStatus.INVALID_ARGUMENT: 400,
    ErrorStatus.UNAUTHENTICATED: 401,
    ErrorStatus.PERMISSION_DENIED: 403,
    ErrorStatus.NOT_FOUND: 404,
    ErrorStatus.FAILED_PRECONDITION: 409,
    ErrorStatus.RESOURCE_EXHAUSTED: 429,
    ErrorStatus.INTERNAL: 500,
}


def request_id(request: Request) -> str:
    return str(request.scope.get("state", {}).get("request_id", ""))


def envelope(request: Request, http: int, status: str, reason: str, message: str) -> JSONResponse:
    body = {
        "error": {
            "status": status,
            "reason": reason,
            "message": message,
            "request_id": request_id(request),
        }
    }
    headers = {"WWW-Authenticate": "Bearer"} if http == 401 else None
    return JSONResponse(body, status_code=http, headers=headers)


def _validation_message(errors: list[Any]) -> tuple[str, str]:
    for err in errors:
        if err.get("type") == "json_invalid":
            return "INVALID_JSON_BODY", "the request body is not valid JSON"
    first = errors[0] if errors else {}
    loc = [str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path", "header")]
    where = ".".join(loc) or "body"
    if first.get("type") == "model_attributes_type":
        return "INVALID_ARGUMENT", "the request body must be a JSON object"
    return "INVALID_ARGUMENT", f"{where}: {first.get('msg', 'invalid value')}"


def install(app: FastAPI) -> None:
    @app.exception_handler(OutdialError)
    async def _domain(request: Request, exc: OutdialError) -> JSONResponse:
        return envelope(request, HTTP_CODES[exc.status], exc.status.value, exc.reason, exc.message)

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
            f"the request body is larger than {MAX_BODY} bytes",
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 404:
            return envelope(request, 404, "NOT_FOUND", "ROUTE_NOT_FOUND", "no such route")
        if exc.status_code == 405:
            return envelope(
                request,
                405,
                "INVALID_ARGUMENT",
                "METHOD_NOT_ALLOWED",
                "method not allowed on this route",
            )
        return envelope(request, exc.status_code, "INVALID_ARGUMENT", "HTTP_ERROR", str(exc.detail))

    @app.exception_handler(Exception)
    async def _internal(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", extra={"request_id": request_id(request)})
        return envelope(request, 500, "INTERNAL", "INTERNAL", "internal error")
