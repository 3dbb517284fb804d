"""The error envelope, built once for the API's answers and the CLI's:
`{"error": {"status", "reason", "message", ["request_id"], ["errors"]}}`."""

from __future__ import annotations

from typing import Any


def error_body(
    status: str, reason: str, message: str, *, request_id: str | None = None, errors: Any = None
) -> dict[str, Any]:
    """`request_id`: the API's (the CLI has none); `errors`: a list of row errors (an
    import's), when there are several."""
    error: dict[str, Any] = {"status": status, "reason": reason, "message": message}
    if request_id is not None:
        error["request_id"] = request_id
    if errors is not None:
        error["errors"] = errors
    return {"error": error}
