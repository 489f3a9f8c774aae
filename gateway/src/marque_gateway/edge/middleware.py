"""The gateway's edge: one pure ASGI middleware in front of every route.

For each request outside the public paths it authenticates the caller (`authn.authenticate`) and
leaves the Principal on `request.state.principal`; routes and the proxy take it from there.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from marque_gateway.authn import authenticate
from marque_gateway.gateway import Gateway
from marque_kit.context import principal_var
from marque_kit.errors import DomainError
from marque_kit.http.problems import domain_problem

PUBLIC_PATHS = frozenset(
    {
        "/auth/token",
        "/auth/refresh",
        "/healthz",
        "/readyz",
        "/metrics",
        "/openapi.json",
        "/docs",
        "/docs/oauth2-redirect",
    }
)


def is_public(path: str) -> bool:
    return path in PUBLIC_PATHS


class EdgeMiddleware:
    def __init__(self, app: ASGIApp, *, gateway: Gateway) -> None:
        self.app = app
        self.gateway = gateway

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or is_public(scope["path"]):
            await self.app(scope, receive, send)
            return
        try:
            principal = await authenticate(self.gateway, Headers(scope=scope))
        except DomainError as exc:
            response = domain_problem(exc, scope["path"])
            if exc.http_status == 401:
                response.headers["WWW-Authenticate"] = 'Bearer realm="marque"'
            await response(scope, receive, send)
            return
        scope.setdefault("state", {})["principal"] = principal
        principal_var.set(principal.label())
        await self.app(scope, receive, send)
