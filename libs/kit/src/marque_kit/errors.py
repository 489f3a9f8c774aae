"""The small set of domain exceptions. The kit maps them to HTTP (RFC 9457) and gRPC in one place.

Domain code raises these with a sentence a person can act on; nothing else needs to know about
status codes.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of every expected, user-facing failure."""

    http_status = 400
    grpc_code = "INVALID_ARGUMENT"
    title = "Bad request"
    slug = "bad-request"

    def __init__(self, detail: str, *, errors: list[dict[str, Any]] | None = None, **extra: Any):
        super().__init__(detail)
        self.detail = detail
        self.errors = errors
        self.extra = extra


class InvalidInput(DomainError):
    """The input breaks a business rule of its own (a wrong VIN check digit, a negative amount)."""

    http_status = 422
    grpc_code = "INVALID_ARGUMENT"
    title = "Invalid input"
    slug = "invalid-input"


class NotFound(DomainError):
    """No such thing, or it belongs to a store the caller cannot see (never say which)."""

    http_status = 404
    grpc_code = "NOT_FOUND"
    title = "Not found"
    slug = "not-found"


class Conflict(DomainError):
    """The move is impossible in the current state (a sold car cannot be reserved)."""

    http_status = 409
    grpc_code = "FAILED_PRECONDITION"
    title = "Conflict with current state"
    slug = "conflict"


class AlreadyExists(DomainError):
    http_status = 409
    grpc_code = "ALREADY_EXISTS"
    title = "Already exists"
    slug = "already-exists"


class StaleVersion(DomainError):
    """If-Match named a version older than the stored one."""

    http_status = 412
    grpc_code = "ABORTED"
    title = "Stale version"
    slug = "stale-version"


class PreconditionRequired(DomainError):
    http_status = 428
    grpc_code = "FAILED_PRECONDITION"
    title = "Precondition required"
    slug = "precondition-required"


class Unauthenticated(DomainError):
    http_status = 401
    grpc_code = "UNAUTHENTICATED"
    title = "Not authenticated"
    slug = "unauthenticated"


class Forbidden(DomainError):
    http_status = 403
    grpc_code = "PERMISSION_DENIED"
    title = "Forbidden"
    slug = "forbidden"


class IdempotencyMismatch(DomainError):
    http_status = 422
    grpc_code = "INVALID_ARGUMENT"
    title = "Idempotency key reused with another request"
    slug = "idempotency-key-reused"


class Unavailable(DomainError):
    """A dependency we cannot go on without is down; the caller may retry."""

    http_status = 503
    grpc_code = "UNAVAILABLE"
    title = "Service unavailable"
    slug = "unavailable"
