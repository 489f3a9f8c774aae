"""RFC 9457 `application/problem+json` for every error, mapped in one place.

DomainError subclasses carry their own status, title and slug; FastAPI's validation errors and
Starlette's HTTP exceptions (404 for unknown routes, 405, ...) get the same shape. Every body names
the request path (`instance`) and the request id, so a user can quote it to support.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.routing import Match

from marque_kit.context import request_id_var
from marque_kit.errors import DomainError

log = logging.getLogger("marque.http")

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_BASE = "https://marque.dev/problems/"
_STANDARD_MEMBERS = frozenset(
    {"type", "title", "status", "detail", "instance", "request_id", "errors"}
)

# Slugs for statuses Starlette raises itself; anything else uses the status phrase.
_HTTP_SLUGS = {
    400: "bad-request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    406: "not-acceptable",
    409: "conflict",
    413: "payload-too-large",
    415: "unsupported-media-type",
    422: "invalid-input",
    429: "too-many-requests",
    500: "internal-error",
    503: "unavailable",
}


def problem_type(slug: str) -> str:
    return PROBLEM_BASE + slug


class ProblemResponse(Response):
    media_type = PROBLEM_MEDIA_TYPE

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, default=str)


def problem(
    *,
    status: int,
    title: str,
    slug: str,
    detail: str,
    instance: str,
    errors: Sequence[Mapping[str, Any]] | None = None,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> ProblemResponse:
    """Build a problem response; extension members never override the standard ones."""
    body: dict[str, Any] = {k: v for k, v in extra.items() if k not in _STANDARD_MEMBERS}
    body.update(
        type=problem_type(slug),
        title=title,
        status=status,
        detail=detail,
        instance=instance,
        request_id=request_id_var.get(),
        errors=list(errors or ()),
    )
    return ProblemResponse(body, status_code=status, headers=dict(headers or {}))


def domain_problem(exc: DomainError, instance: str) -> ProblemResponse:
    return problem(
        status=exc.http_status,
        title=exc.title,
        slug=exc.slug,
        detail=exc.detail,
        instance=instance,
        errors=exc.errors,
        **exc.extra,
    )


def internal_error_problem(instance: str) -> ProblemResponse:
    return problem(
        status=500,
        title="Internal error",
        slug="internal-error",
        detail="Something went wrong on our side; it has been logged. Quote the request id to "
        "support if it happens again.",
        instance=instance,
    )


def _field_name(loc: Sequence[Any]) -> str:
    # loc is ("body", "lines", 0, "qty") or ("query", "limit"): the field follows the source.
    parts = [str(p) for p in loc[1:]] if len(loc) > 1 else [str(p) for p in loc]
    return ".".join(parts)


def validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    out = []
    for err in exc.errors():
        loc = tuple(err.get("loc", ()))
        # A JSON syntax error's loc ends in a character offset, which is not a field.
        field = "body" if err.get("type") == "json_invalid" else _field_name(loc)
        out.append(
            {
                "field": field,
                "location": str(loc[0]) if loc else "request",
                "message": str(err.get("msg", "is not valid")),
                "type": str(err.get("type", "value_error")),
            }
        )
    return out


async def _on_domain_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DomainError)
    if exc.http_status >= 500:
        log.warning("domain error %s: %s", exc.slug, exc.detail)
    return domain_problem(exc, request.url.path)


async def _on_validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = validation_errors(exc)
    described = "; ".join(f"{e['field']} ({e['location']}): {e['message']}" for e in errors)
    noun = "field is" if len(errors) == 1 else f"{len(errors)} fields are"
    return problem(
        status=422,
        title="Request is not valid",
        slug="validation-failed",
        detail=f"The {noun} not valid: {described}.",
        instance=request.url.path,
        errors=errors,
    )


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def _allowed_methods(request: Request) -> str:
    # Starlette's Allow names only the first route on the path; ask every route about each method.
    allowed = [
        method
        for method in _METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] is Match.FULL
            for route in request.app.router.routes
        )
    ]
    return ", ".join(allowed)


async def _on_http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    detail = exc.detail if isinstance(exc.detail, str) and exc.detail != phrase else ""
    if not detail and status == 404:
        detail = f"Nothing is served at {request.url.path}."
    headers = dict(exc.headers or {})
    if status == 405:
        allowed = _allowed_methods(request) or headers.pop("allow", headers.pop("Allow", ""))
        headers = {k: v for k, v in headers.items() if k.lower() != "allow"} | {"Allow": allowed}
    if not detail and status == 405:
        detail = f"{request.method} is not allowed on {request.url.path}" + (
            f"; use {allowed}." if allowed else "."
        )
    elif not detail:
        detail = phrase
    slug = _HTTP_SLUGS.get(status) or phrase.lower().replace(" ", "-")
    return problem(
        status=status,
        title=phrase,
        slug=slug,
        detail=detail,
        instance=request.url.path,
        headers=headers,
    )


def install_problem_handlers(app: FastAPI) -> None:
    """Unexpected exceptions are turned into a 500 problem by `RequestContextMiddleware`."""
    app.add_exception_handler(DomainError, _on_domain_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_exception)
