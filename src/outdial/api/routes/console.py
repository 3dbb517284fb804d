"""The operator console (issue 14): static ES modules served by outdial, no build step, no CDN.

The console is a client of the REST API like any other (it signs in with an access key or a
customer user's session); this module only serves its files. Only names of the console
directory made of lowercase letters, digits, `-`, `_` and one `.js`/`.css` suffix are served,
so no path can leave the directory."""

from __future__ import annotations

import re
from importlib.resources import files

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, JSONResponse, Response

router = APIRouter(tags=["console"], include_in_schema=False)
CONSOLE = files("outdial.api") / "static" / "console"
ASSET = re.compile(r"^[a-z0-9_-]{1,64}\.(js|css)$")
TYPES = {"js": "text/javascript", "css": "text/css"}
HEADERS = {
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
    # Everything comes from outdial itself; recordings play from the API (same origin).
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; media-src 'self' blob:; "
        "object-src 'none'; frame-ancestors 'self'; base-uri 'none'; form-action 'self'"
    ),
}


@router.get("/console", operation_id="console")
async def console() -> HTMLResponse:
    return HTMLResponse((CONSOLE / "index.html").read_text(encoding="utf-8"), headers=HEADERS)


@router.get("/console/agent", operation_id="console_agent")
async def console_agent() -> HTMLResponse:
    """The agent page (issue 14): an agent signs in and takes calls (agent.js)."""
    return HTMLResponse((CONSOLE / "agent.html").read_text(encoding="utf-8"), headers=HEADERS)


@router.get("/console/{name}", operation_id="console_asset")
async def console_asset(name: str) -> Response:
    found = ASSET.match(name)
    resource = CONSOLE / name
    if found is None or not resource.is_file():
        return JSONResponse(
            {"error": {"status": "NOT_FOUND", "reason": "ROUTE_NOT_FOUND",
                       "message": "no such console file", "request_id": ""}},
            status_code=404,
        )  # fmt: skip
    return Response(
        resource.read_text(encoding="utf-8"), media_type=TYPES[found.group(1)], headers=HEADERS
    )
