"""The gateway's edge: one pure ASGI middleware in front of every route.

For each request, in this order:
1. body limit: a Content-Length over `max_body_bytes` is 413 at once; a streamed body is counted
   as it is read and refused with 413 when it passes the limit;
2. authentication, outside the public paths (`authn.authenticate`): the Principal is left on
   `request.state.principal`, where routes and the proxy take it; 401 otherwise;
3. rate limit per API key or user (`edge.ratelimit`, shared through Redis): 429 when over;
4. `Idempotency-Key` on a POST (`edge.idempotency`): claim, replay or refuse;
5. the inner app (the gateway's routes and the router to every service);
6. audit: every write (POST/PUT/PATCH/DELETE), whatever its outcome, gets an `audit_log` row
   (`edge.audit`).

Reads take the short path (no body counting, no audit), and answers stream through untouched
unless an Idempotency-Key needs them stored.
"""

from __future__ import annotations

import time

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from marque_gateway.authn import authenticate
from marque_gateway.edge import audit, body
from marque_gateway.edge.idempotency import run_idempotent
from marque_gateway.edge.ratelimit import RateLimiter, limit_for
from marque_gateway.gateway import Gateway
from marque_kit.context import principal_var, request_id_var
from marque_kit.errors import DomainError, Forbidden
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
LOGIN_PATH = "/auth/token"
# A user holding a temporary password (new account, admin reset) may only do this until they
# change it (POST /auth/password answers a fresh token without the mark).
OPEN_BEFORE_PASSWORD_CHANGE = frozenset({"/auth/password", "/auth/logout", "/api/v1/group/me"})
PASSWORD_CHANGE_FIRST = Forbidden(
    "Your password is temporary: choose your own with POST /auth/password "
    "(current_password, new_password) before doing anything else."
)


def is_public(path: str) -> bool:
    return path in PUBLIC_PATHS


async def answer_problem(exc: DomainError, scope: Scope, receive: Receive, send: Send) -> None:
    response = domain_problem(exc, scope["path"])
    if exc.http_status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="marque"'
    elif exc.http_status == 429:
        response.headers["Retry-After"] = str(exc.extra.get("retry_after_seconds", 1))
    await response(scope, receive, send)


class EdgeMiddleware:
    def __init__(self, app: ASGIApp, *, gateway: Gateway) -> None:
        self.app = app
        self.gateway = gateway
        settings = gateway.settings
        self.max_body = settings.max_body_bytes
        self.user_limit = settings.user_rate_limit_per_minute
        self.default_key_limit = settings.default_key_rate_limit_per_minute
        self.login_limit = settings.login_rate_limit_per_minute
        self.limiter: RateLimiter = gateway.extras.get("rate_limiter") or RateLimiter(
            gateway.redis, prefix=settings.redis_prefix
        )
        gateway.extras["rate_limiter"] = self.limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["method"] not in audit.WRITE_METHODS:
            await self._handle(scope, receive, send, audit.Trace())
            return

        trace = audit.Trace()
        began = time.perf_counter()

        async def send_noting_status(message: Message) -> None:
            if message["type"] == "http.response.start":
                trace.status = message["status"]
            await send(message)

        try:
            await self._handle(scope, receive, send_noting_status, trace)
        finally:
            row = audit.entry(
                scope,
                trace,
                request_id=request_id_var.get() or "",
                duration_ms=int((time.perf_counter() - began) * 1000),
                trusted_proxies=self.gateway.settings.trusted_proxies,
            )
            await audit.record(self.gateway.db, row)

    async def _handle(self, scope: Scope, receive: Receive, send: Send, trace: audit.Trace) -> None:
        started = False

        async def send_unless_cut_off(message: Message) -> None:
            nonlocal started
            if trace.body_too_large and not started:
                return  # the inner app's answer to a body cut off at the limit: ours follows
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self._pipeline(scope, receive, send_unless_cut_off, trace)
        except body.PayloadTooLarge:
            trace.body_too_large = True
            if started:
                raise
        if trace.body_too_large and not started:
            # A streamed body passed the limit while it was read.
            await answer_problem(body.too_large(self.max_body), scope, receive, send)

    async def _pipeline(
        self, scope: Scope, receive: Receive, send: Send, trace: audit.Trace
    ) -> None:
        headers = Headers(scope=scope)
        method = scope["method"]
        path = scope["path"]

        # 1. body limit
        try:
            length = body.declared_length(headers.get("content-length"))
        except DomainError as exc:
            await answer_problem(exc, scope, receive, send)
            return
        if length is not None and length > self.max_body:
            await answer_problem(body.too_large(self.max_body), scope, receive, send)
            return
        if method in audit.WRITE_METHODS or length:
            receive = body.limited(receive, self.max_body, trace.body_exceeded)

        # 2. authentication
        if is_public(path):
            if path == LOGIN_PATH and method == "POST":
                ip = audit.client_ip(scope, self.gateway.settings.trusted_proxies)
                decision = await self.limiter.hit(f"signin:{ip}", self.login_limit)
                send = _with_headers(send, decision.headers())
                if not decision.allowed:
                    why = (
                        f"Too many sign-in attempts from your address; wait "
                        f"{decision.reset_seconds} s and try again."
                    )
                    await answer_problem(decision.refusal(why), scope, receive, send)
                    return
                raw = await body.read_body(receive)
                trace.actor_name = audit.login_username(raw)
                receive = body.replaying(raw, receive)
            await self.app(scope, receive, send)
            return
        try:
            principal = await authenticate(self.gateway, headers)
        except DomainError as exc:
            await answer_problem(exc, scope, receive, send)
            return
        trace.principal = principal
        scope.setdefault("state", {})["principal"] = principal
        principal_var.set(principal.label())
        if principal.claims.get("mcp") and path not in OPEN_BEFORE_PASSWORD_CHANGE:
            await answer_problem(PASSWORD_CHANGE_FIRST, scope, receive, send)
            return

        # 3. rate limit
        limit = limit_for(
            principal, user_limit=self.user_limit, default_key_limit=self.default_key_limit
        )
        if limit is not None:
            decision = await self.limiter.hit(principal.label(), limit)
            send = _with_headers(send, decision.headers())
            if not decision.allowed:
                await answer_problem(decision.refusal(), scope, receive, send)
                return

        # 4. idempotency, 5. the inner app
        raw_key = headers.get("idempotency-key") if method == "POST" else None
        if raw_key is None:
            await self.app(scope, receive, send)
            return
        try:
            await run_idempotent(
                self.app,
                scope,
                receive,
                send,
                db=self.gateway.db,
                principal=principal.label(),
                raw_key=raw_key,
                stale_after_seconds=self.gateway.settings.idempotency_lock_seconds,
                max_answer_bytes=self.max_body,
                at_rest_key=self.gateway.settings.webhook_key,
            )
        except body.PayloadTooLarge:
            raise
        except DomainError as exc:
            # Raised before the inner app ran: a bad key (400), in flight (409), reused (422).
            await answer_problem(exc, scope, receive, send)


def _with_headers(send: Send, extra: list[tuple[bytes, bytes]]) -> Send:
    async def send_with_headers(message: Message) -> None:
        if message["type"] == "http.response.start":
            message["headers"] = [*message.get("headers", ()), *extra]
        await send(message)

    return send_with_headers
