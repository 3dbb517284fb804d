"""The FastAPI app factory. It builds nothing itself: the services are passed in."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse, Response

from outdial import __version__
from outdial.api import errors, openapi
from outdial.api.auth import Authenticate
from outdial.api.middleware import RequestGuard
from outdial.api.routes import (
    accesskeys,
    agent_desk,
    agents,
    campaigns,
    compliance,
    console,
    dashboard,
    dnclists,
    live,
    media,
    outdials,
    outplans,
    recordings,
    users,
)
from outdial.metrics import exposition
from outdial.services.container import Services

Hook = Callable[[], Awaitable[None]]


def create_app(
    services: Services,
    *,
    on_startup: Hook | None = None,
    on_shutdown: Hook | None = None,
    health_detail: Callable[[], dict[str, Any]] | None = None,
    metrics: bool = True,
    phones: Any = None,
) -> FastAPI:
    """`metrics`: serve `GET /metrics` on this app (off when the operator turns it off or
    binds it elsewhere). `phones`: the agents' browser phones (telephony/webrtc.py
    `PhoneBook`); None: `/agents/{id}/phone` answers 409 WEBRTC_UNAVAILABLE."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if on_startup is not None:
            await on_startup()
        app.state.ready = True
        try:
            yield
        finally:
            app.state.ready = False
            if on_shutdown is not None:
                await on_shutdown()

    app = FastAPI(
        title="outdial",
        version=__version__,
        description="Outbound calling campaigns, wire-compatible with the VoIPBIN campaign API.",
        lifespan=lifespan,
        # `/v1.0/outdials/` is a 404, not a redirect built from the request's Host header.
        redirect_slashes=False,
    )
    app.state.services = services
    app.state.phones = phones
    app.state.ready = False
    errors.install(app)
    app.add_middleware(Authenticate)  # inside RequestGuard: it sees the request id
    app.add_middleware(RequestGuard)
    for module in (
        outdials,
        outplans,
        campaigns,
        dnclists,
        compliance,
        live,
        media,
        recordings,
        users,
        agent_desk,
        agents,
        accesskeys,
        dashboard,
        console,
    ):
        app.include_router(module.router)

    if metrics:

        @app.get("/metrics", operation_id="metrics", tags=["health"], include_in_schema=False)
        async def serve_metrics() -> Response:
            body, content_type = exposition()
            return Response(body, media_type=content_type)

    @app.get("/health", operation_id="health", tags=["health"])
    async def health() -> Any:
        if not app.state.ready:
            return JSONResponse({"status": "starting"}, status_code=503)
        current: Services | None = app.state.services  # (tests may set it after creation)
        if current is not None and not await current.database_reachable():
            # not ready: requests would be answered 503 UNAVAILABLE; recovers by itself
            return JSONResponse(
                {"status": "unavailable", "database": "unreachable", "version": __version__},
                status_code=503,
                headers={"Retry-After": "5"},
            )
        body: dict[str, Any] = {"status": "ok", "version": __version__, "database": "ok"}
        if health_detail is not None:  # e.g. the SIP registration with the trunk
            body.update(health_detail())
        return body

    openapi.install(app)
    return app
