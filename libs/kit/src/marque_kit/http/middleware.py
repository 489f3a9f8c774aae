"""Request context and RED metrics as one pure ASGI middleware (no BaseHTTPMiddleware overhead).

It sits outside FastAPI's exception middleware, so it also turns any unexpected exception into a
500 problem that still carries the request id, and it counts every answer under its route template.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import MutableMapping
from typing import Any

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from marque_kit import metrics
from marque_kit.context import (
    correlation_id_var,
    principal_var,
    request_id_var,
    traceparent_var,
)
from marque_kit.http.problems import internal_error_problem

log = logging.getLogger("marque.http")

REQUEST_ID_HEADER = "X-Request-ID"
CORRELATION_ID_HEADER = "X-Correlation-ID"
# Ids from outside end up in logs and headers: accept only short, plain tokens.
_SAFE_ID = re.compile(r"^[A-Za-z0-9._:+=/-]{1,128}$")
_TRACEPARENT = re.compile(r"^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$")
UNMATCHED_ROUTE = "<unmatched>"


def _safe_id(value: str | None) -> str | None:
    return value if value and _SAFE_ID.match(value) else None


def route_template(scope: MutableMapping[str, Any]) -> str:
    """The matched route's template (`/api/v1/x/{id}`), never the raw path, to bound cardinality."""
    route = scope.get("route")
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    return str(template) if template else UNMATCHED_ROUTE


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, *, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        headers = Headers(scope=scope)
        request_id = _safe_id(headers.get(REQUEST_ID_HEADER)) or str(uuid.uuid4())
        correlation_id = _safe_id(headers.get(CORRELATION_ID_HEADER)) or request_id
        traceparent = headers.get("traceparent")
        if traceparent is not None and not _TRACEPARENT.match(traceparent):
            traceparent = None
        tokens = (
            request_id_var.set(request_id),
            correlation_id_var.set(correlation_id),
            traceparent_var.set(traceparent),
            principal_var.set(None),
        )
        echoed = [
            (b"x-request-id", request_id.encode()),
            (b"x-correlation-id", correlation_id.encode()),
        ]
        status = 500
        started = False

        async def send_with_ids(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                started = True
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), *echoed]
            await send(message)

        began = time.perf_counter()
        try:
            await self.app(scope, receive, send_with_ids)
        except Exception:
            # A 500 is a bug: log it with its traceback, and still answer in problem+json.
            log.exception("unhandled error on %s %s", scope["method"], scope["path"])
            status = 500
            if started:
                raise
            await internal_error_problem(scope["path"])(scope, receive, send_with_ids)
        finally:
            route = route_template(scope)
            method = scope["method"]
            metrics.http_requests.labels(self.service, method, route, str(status)).inc()
            metrics.http_latency.labels(self.service, method, route).observe(
                time.perf_counter() - began
            )
            for var, token in zip(
                (request_id_var, correlation_id_var, traceparent_var, principal_var),
                tokens,
                strict=True,
            ):
                var.reset(token)
