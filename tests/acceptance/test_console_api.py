"""Issue 14: the console's API client (`api/static/console/api.js`) names each REST operation
by its OpenAPI operationId with a method and path; this holds that table equal to the document
the server serves, so the console cannot drift from the contract. Also: the console's files
are served, and nothing outside its directory is."""

from __future__ import annotations

import re
from importlib.resources import files
from typing import Any, cast

import httpx
import pytest

from outdial.api.app import create_app
from outdial.services.container import Services

CONSOLE = files("outdial.api") / "static" / "console"
ENTRY = re.compile(r'^\s+(\w+): \["(GET|POST|PUT|DELETE)", "([^"]+)"\],$', re.M)


def _table(name: str) -> dict[str, tuple[str, str]]:
    text = (CONSOLE / "api.js").read_text(encoding="utf-8")
    body = re.search(rf"export const {name} = \{{\n(.*?)\n\}};", text, re.S)
    assert body is not None, f"{name} not found in api.js"
    found = {op: (method, path) for op, method, path in ENTRY.findall(body.group(1))}
    assert len(found) == body.group(1).count("\n") + 1, f"an entry of {name} is not parsed"
    return found


def _documented() -> dict[str, tuple[str, str]]:
    doc: dict[str, Any] = create_app(cast(Services, None)).openapi()
    out = {}
    for path, operations in doc["paths"].items():
        for method, op in operations.items():
            out[op["operationId"]] = (method.upper(), path)
    return out


def test_every_console_operation_is_in_the_openapi_document() -> None:
    documented = _documented()
    table = _table("OPERATIONS")
    assert len(table) > 40
    for op, (method, path) in table.items():
        assert op in documented, f"{op} is not an operation of the OpenAPI document"
        assert documented[op] == (method, "/v1.0" + path), op


def test_optional_operations_are_not_served_under_other_names() -> None:
    """Operations the console uses only when the server has them (other issues build them):
    if the document has one, it must have the console's method and path."""
    documented = _documented()
    by_route = {route: op for op, route in documented.items()}
    for op, (method, path) in _table("OPTIONAL").items():
        if op in documented:
            assert documented[op] == (method, "/v1.0" + path), op
        other = by_route.get((method, "/v1.0" + path))
        assert other in (None, op), (
            f"{method} {path} is documented as {other}, the console says {op}"
        )


def _client() -> httpx.AsyncClient:
    app = create_app(cast(Services, None))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


async def test_the_console_and_its_modules_are_served() -> None:
    async with _client() as client:
        page = await client.get("/console")
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert "default-src 'self'" in page.headers["content-security-policy"]
        pages = ("app.js", "campaigns.js", "lists.js")
        sources = [(CONSOLE / n).read_text(encoding="utf-8") for n in pages]
        modules = set(re.findall(r'from "\./([a-z0-9_-]+\.js)"', "".join(sources)))
        assert {"api.js", "ui.js", "upload.js", "actions.js", "calls.js"} <= modules
        for name in [*sorted(modules), "app.js", "console.css"]:
            r = await client.get(f"/console/{name}")
            assert r.status_code == 200, name
            kind = "text/css" if name.endswith(".css") else "text/javascript"
            assert r.headers["content-type"].startswith(kind), name


@pytest.mark.parametrize(
    "path",
    ["/console/index.html", "/console/..%2fauth.py", "/console/%2e%2e/dashboard.js",
     "/console/nothing.js", "/console/API.JS", "/console/app.js.map"],
)  # fmt: skip
async def test_nothing_else_is_served(path: str) -> None:
    async with _client() as client:
        r = await client.get(path)
        assert r.status_code == 404, path
