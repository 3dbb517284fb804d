"""HTTP responses of wire bodies (the bodies themselves are rendered by `outdial.wire`)."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse

from outdial.wire.json import dumps


class WireJSON(JSONResponse):
    """Starlette's JSON response, encoded by `wire.json.dumps` (orjson, with a fallback)."""

    def render(self, content: Any) -> bytes:
        return dumps(content)


def ok(body: dict[str, Any]) -> JSONResponse:
    """A 200 with the body as JSON. Routes return responses rather than dicts so that
    FastAPI does not validate and re-encode bodies that are plain JSON values already."""
    return WireJSON(body)
