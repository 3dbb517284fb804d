"""The one error taxonomy. Every layer raises these; the API maps them to HTTP in one place."""

from __future__ import annotations

from enum import Enum


class ErrorStatus(str, Enum):
    INVALID_ARGUMENT = "INVALID_ARGUMENT"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    PERMISSION_DENIED = "PERMISSION_DENIED"
    NOT_FOUND = "NOT_FOUND"
    FAILED_PRECONDITION = "FAILED_PRECONDITION"
    RESOURCE_EXHAUSTED = "RESOURCE_EXHAUSTED"
    INTERNAL = "INTERNAL"
    UNAVAILABLE = "UNAVAILABLE"


class OutdialError(Exception):
    """An error with a stable status and reason, safe to show to the caller."""

    status: ErrorStatus = ErrorStatus.INTERNAL
    reason: str = "INTERNAL"

    def __init__(self, message: str, *, reason: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if reason is not None:
            self.reason = reason


class InvalidArgument(OutdialError):
    status = ErrorStatus.INVALID_ARGUMENT
    reason = "INVALID_ARGUMENT"


class Unauthenticated(OutdialError):
    status = ErrorStatus.UNAUTHENTICATED
    reason = "AUTHENTICATION_REQUIRED"


class PermissionDenied(OutdialError):
    status = ErrorStatus.PERMISSION_DENIED
    reason = "PERMISSION_DENIED"


class NotFound(OutdialError):
    status = ErrorStatus.NOT_FOUND
    reason = "RESOURCE_NOT_FOUND"


class FailedPrecondition(OutdialError):
    status = ErrorStatus.FAILED_PRECONDITION
    reason = "FAILED_PRECONDITION"


class Conflict(FailedPrecondition):
    """A guarded state change found the row in another state than it expected."""

    reason = "STATE_CONFLICT"


class ResourceExhausted(OutdialError):
    """A limit was reached; `retry_after` (whole seconds) is when to try again."""

    status = ErrorStatus.RESOURCE_EXHAUSTED
    reason = "RESOURCE_EXHAUSTED"

    def __init__(self, message: str, *, reason: str | None = None, retry_after: int = 1) -> None:
        super().__init__(message, reason=reason)
        self.retry_after = max(1, retry_after)


class Unavailable(OutdialError):
    """A dependency (the database) cannot be reached just now; try again after `retry_after`
    seconds. Nothing was changed, or the change rolled back whole."""

    status = ErrorStatus.UNAVAILABLE
    reason = "DATABASE_UNAVAILABLE"

    def __init__(self, message: str, *, reason: str | None = None, retry_after: int = 5) -> None:
        super().__init__(message, reason=reason)
        self.retry_after = max(1, retry_after)
