"""The live dashboard: one static page and its script (no build step). The page signs in
with an access key and talks to the REST API and the event stream like any client."""

from __future__ import annotations

from importlib.resources import files

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

router = APIRouter(tags=["dashboard"], include_in_schema=False)
STATIC = files("outdial.api") / "static"


@router.get("/dashboard", operation_id="dashboard")
async def dashboard() -> HTMLResponse:
    return HTMLResponse((STATIC / "dashboard.html").read_text(encoding="utf-8"))


@router.get("/dashboard/app.js", operation_id="dashboard_script")
async def dashboard_script() -> Response:
    return Response(
        (STATIC / "dashboard.js").read_text(encoding="utf-8"),
        media_type="text/javascript",
        headers={"Cache-Control": "no-cache"},
    )
