"""`/api/v1/<svc>/...` goes to that service, unchanged (DESIGN.md §8).

The gateway forwards method, path, query and the safe headers; it streams the request body up and
the answer back, and adds what the service needs to trust and trace the call:

- `X-Marque-Principal`: the caller, signed with the internal secret (DESIGN.md §7). Whatever the
  client sent in that header, and its own credentials (`Authorization`, `X-API-Key`), never reach
  the service;
- `X-Request-ID`, `X-Correlation-ID`, `traceparent` of this request, `X-Forwarded-For/Proto`.

One connection pool per service (HTTP/1.1 keep-alive, sized for 64+ concurrent calls) is opened
with the app and closed with it. A service that refuses the connection answers 503, one that is too
slow 504, one that answers garbage 502, always as problem+json: the gateway never hangs.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncIterable, AsyncIterator
from typing import Any

import httpcore
import httpx
from fastapi import APIRouter, Request
from prometheus_client import Histogram
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from marque_gateway.edge.audit import client_ip
from marque_gateway.gateway import Gateway
from marque_gateway.settings import GatewaySettings
from marque_kit.auth import HEADER as PRINCIPAL_HEADER
from marque_kit.auth import Principal, sign_principal
from marque_kit.context import correlation_id_var, request_id_var, traceparent_var
from marque_kit.http.problems import problem
from marque_kit.metrics import LATENCY_BUCKETS

log = logging.getLogger("marque.gateway.proxy")

UPSTREAMS_KEY = "upstreams"
SIGNER_KEY = "principal_signer"
PREFIX = "/api/v1/"
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
# Connections kept per service: the benchmark runs 64 concurrent callers.
MAX_CONNECTIONS = 128
KEEPALIVE_SECONDS = 4.0

upstream_latency = Histogram(
    "marque_gateway_upstream_seconds",
    "Time until a service's answer headers arrive, per service and outcome",
    ["service", "outcome"],
    buckets=LATENCY_BUCKETS,
)

# Hop-by-hop headers (RFC 9110 §7.6.1) and what the gateway itself sets or must not pass on.
_HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
    }
)
_NOT_FORWARDED = _HOP_BY_HOP | {
    b"host",
    b"authorization",
    b"x-api-key",
    b"cookie",
    PRINCIPAL_HEADER.lower().encode(),
    b"x-request-id",
    b"x-correlation-id",
    b"traceparent",
    b"x-forwarded-for",
    b"x-forwarded-proto",
}
# The gateway's own server adds these (the request ids come from the kit's middleware).
_NOT_RETURNED = _HOP_BY_HOP | {b"x-request-id", b"x-correlation-id", b"date", b"server"}


# --- the signed internal principal -------------------------------------------------------------


class PrincipalSigner:
    """Signs the internal principal, reusing each caller's token for half its lifetime.

    Signing is an HMAC plus JSON per request; a caller making many requests gets the same token
    until half its ttl has passed, so a service always sees at least ttl/2 of validity left.
    """

    MAX_CACHED = 10_000

    def __init__(self, secret: str, ttl_seconds: int) -> None:
        self.secret = secret
        self.ttl_seconds = ttl_seconds
        self._cache: dict[Principal, tuple[str, float]] = {}

    def token_for(self, principal: Principal) -> str:
        now = time.time()
        cached = self._cache.get(principal)
        if cached is not None and cached[1] > now:
            return cached[0]
        token = sign_principal(principal, self.secret, ttl_seconds=self.ttl_seconds, now=now)
        if len(self._cache) >= self.MAX_CACHED:
            self._cache.clear()
        self._cache[principal] = (token, now + self.ttl_seconds / 2)
        return token


def principal_signer(gateway: Gateway) -> PrincipalSigner:
    signer: PrincipalSigner | None = gateway.extras.get(SIGNER_KEY)
    if signer is None:
        settings = gateway.settings
        signer = PrincipalSigner(settings.internal_secret, settings.principal_ttl_seconds)
        gateway.extras[SIGNER_KEY] = signer
    return signer


GATEWAY_SERVICE_PRINCIPAL = Principal(subject="gateway", kind="service", name="Marque gateway")


# --- one connection pool per service ------------------------------------------------------------


class Upstream:
    """One service: a keep-alive HTTP/1.1 connection pool for forwarding (httpcore, the engine
    under httpx, called directly: it costs ~40% less CPU per request than httpx.AsyncClient.send,
    which adds URL parsing, cookies, auth and redirect handling the gateway has no use for), and an
    `httpx.AsyncClient` for the gateway's own calls (e.g. fetching the OpenAPI document)."""

    def __init__(self, service: str, base_url: str, settings: GatewaySettings) -> None:
        url = httpx.URL(base_url)
        self.service = service
        self.base_url = base_url
        self.scheme = url.scheme.encode()
        self.host = url.host.encode()
        self.port = url.port or (443 if url.scheme == "https" else 80)
        self.host_header = url.netloc
        self.base_path = url.raw_path.rstrip(b"/")
        connect = settings.upstream_connect_timeout_seconds
        read = settings.upstream_timeout_seconds
        self.timeouts = {"connect": connect, "read": read, "write": read, "pool": connect}
        self.pool = httpcore.AsyncConnectionPool(
            max_connections=MAX_CONNECTIONS,
            max_keepalive_connections=MAX_CONNECTIONS,
            # Below uvicorn's 5 s keep-alive, so the service never closes a connection under us.
            keepalive_expiry=KEEPALIVE_SECONDS,
            http1=True,
            http2=False,
        )
        self.client = httpx.AsyncClient(
            base_url=base_url,
            timeout=httpx.Timeout(read, connect=connect, pool=connect),
            limits=httpx.Limits(max_connections=8, keepalive_expiry=KEEPALIVE_SECONDS),
            follow_redirects=False,
            trust_env=False,
        )

    def url(self, target: bytes) -> httpcore.URL:
        return httpcore.URL(
            scheme=self.scheme, host=self.host, port=self.port, target=self.base_path + target
        )

    async def aclose(self) -> None:
        with contextlib.suppress(Exception):
            await self.pool.aclose()
        with contextlib.suppress(Exception):
            await self.client.aclose()


def upstreams(gateway: Gateway) -> dict[str, Upstream]:
    found: dict[str, Upstream] | None = gateway.extras.get(UPSTREAMS_KEY)
    if found is None:
        found = {}
        gateway.extras[UPSTREAMS_KEY] = found
    return found


def upstream(gateway: Gateway, service: str) -> Upstream | None:
    """The shared pool of a known service (opened at startup, or now if the app has none)."""
    known = upstreams(gateway)
    found = known.get(service)
    if found is None:
        base_url = gateway.settings.upstreams.get(service)
        if base_url is None:
            return None
        found = known[service] = Upstream(service, base_url, gateway.settings)
    return found


def upstream_client(gateway: Gateway, service: str) -> httpx.AsyncClient | None:
    """An httpx client to a known service, for the gateway's own calls."""
    found = upstream(gateway, service)
    return found.client if found is not None else None


@contextlib.asynccontextmanager
async def open_upstreams(gateway: Gateway) -> AsyncIterator[None]:
    """App lifespan part: one pool per service, closed when the app stops."""
    for service in gateway.settings.upstreams:
        upstream(gateway, service)
    principal_signer(gateway)
    try:
        yield
    finally:
        known = upstreams(gateway)
        for found in known.values():
            await found.aclose()
        known.clear()


# --- forwarding ---------------------------------------------------------------------------------


def _forwarded_headers(
    request: Request, up: Upstream, token: str, settings: GatewaySettings
) -> tuple[list[tuple[bytes, bytes]], bool]:
    """The headers the service gets, and whether the request has a body (one pass over them)."""
    scope = request.scope
    raw: list[tuple[bytes, bytes]] = scope["headers"]
    connection_named: frozenset[bytes] = frozenset()
    has_body = False
    chunked = False
    for name, value in raw:
        if name == b"content-length":
            has_body = value.strip() not in (b"", b"0")
        elif name == b"transfer-encoding":
            has_body = chunked = True
        elif name == b"connection":
            connection_named = _connection_named(value)
    headers = [
        (name, value)
        for name, value in raw
        if name not in _NOT_FORWARDED and name not in connection_named
    ]
    headers.append((b"host", up.host_header))
    if chunked:
        headers.append((b"transfer-encoding", b"chunked"))
    headers.append((b"x-marque-principal", token.encode()))
    request_id = request_id_var.get()
    if request_id:
        headers.append((b"x-request-id", request_id.encode()))
    correlation_id = correlation_id_var.get()
    if correlation_id:
        headers.append((b"x-correlation-id", correlation_id.encode()))
    traceparent = traceparent_var.get()
    if traceparent:
        headers.append((b"traceparent", traceparent.encode()))
    caller_ip = client_ip(scope, settings.trusted_proxies)
    if caller_ip:
        headers.append((b"x-forwarded-for", caller_ip.encode()))
    headers.append((b"x-forwarded-proto", b"https" if scope.get("scheme") == "https" else b"http"))
    return headers, has_body


def _connection_named(value: bytes) -> frozenset[bytes]:
    """Headers a `Connection` header names are hop-by-hop too (RFC 9110 §7.6.1)."""
    return frozenset(part.strip().lower() for part in value.split(b","))


async def _body(request: Request) -> AsyncIterator[bytes]:
    async for chunk in request.stream():
        if chunk:
            yield chunk


class UpstreamResponse(Response):
    """Relays a service's answer as it arrives, and always closes it afterwards."""

    def __init__(self, upstream: httpcore.Response) -> None:
        self.upstream = upstream
        self.status_code = upstream.status
        self.background = None
        self.raw_headers = [
            (name, value) for name, value in upstream.headers if name.lower() not in _NOT_RETURNED
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": self.status_code,
                    "headers": self.raw_headers,
                }
            )
            if scope.get("method") != "HEAD":
                stream: AsyncIterable[bytes] = self.upstream.stream  # type: ignore[assignment]
                async for chunk in stream:
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except httpcore.TimeoutException:
            log.warning("service stopped sending its answer", extra={"status": self.status_code})
            raise
        finally:
            await self.upstream.aclose()


def _upstream_problem(
    request: Request, status: int, slug: str, title: str, detail: str, **extra: Any
) -> Response:
    headers = {"Retry-After": "5"} if status == 503 else None
    return problem(
        status=status,
        title=title,
        slug=slug,
        detail=detail,
        instance=request.url.path,
        headers=headers,
        **extra,
    )


def _target(scope: Scope) -> bytes:
    raw_path: bytes = scope.get("raw_path") or scope["path"].encode()
    query: bytes = scope.get("query_string", b"")
    return raw_path + b"?" + query if query else raw_path


async def forward(request: Request) -> Response:
    """Route one request to its service and relay the answer."""
    service: str = request.path_params["service"]
    gateway: Gateway = request.app.state.gateway
    up = upstream(gateway, service)
    if up is None:
        known = ", ".join(sorted(gateway.settings.upstreams)) or "none"
        return _upstream_problem(
            request,
            404,
            "not-found",
            "Not found",
            f"There is no service called {service!r}; the services are: {known}.",
            services=sorted(gateway.settings.upstreams),
        )
    principal: Principal | None = getattr(request.state, "principal", None)
    if principal is None:  # the edge middleware authenticates every /api path
        return _upstream_problem(
            request, 401, "unauthenticated", "Not authenticated", "Sign in first."
        )
    token = principal_signer(gateway).token_for(principal)
    headers, has_body = _forwarded_headers(request, up, token, gateway.settings)
    upstream_request = httpcore.Request(
        request.method.encode(),
        up.url(_target(request.scope)),
        headers=headers,
        content=_body(request) if has_body else None,
        extensions={"timeout": up.timeouts},
    )
    started = time.perf_counter()
    outcome = "error"
    try:
        answer = await up.pool.handle_async_request(upstream_request)
        outcome = f"{answer.status // 100}xx"
        return UpstreamResponse(answer)
    except httpcore.ConnectError:
        outcome = "refused"
        log.warning("service refused the connection", extra={"upstream": service})
        return _upstream_problem(
            request,
            503,
            "unavailable",
            "Service unavailable",
            f"{service} is not answering; try again shortly.",
            service=service,
        )
    except httpcore.PoolTimeout:
        outcome = "busy"
        log.warning("no free connection to the service", extra={"upstream": service})
        return _upstream_problem(
            request,
            503,
            "unavailable",
            "Service unavailable",
            f"{service} is too busy right now; try again shortly.",
            service=service,
        )
    except httpcore.TimeoutException:
        outcome = "timeout"
        log.warning("service timed out", extra={"upstream": service})
        return _upstream_problem(
            request,
            504,
            "gateway-timeout",
            "Gateway timeout",
            f"{service} did not answer in time; try again, and check whether a write landed "
            "before repeating it.",
            service=service,
        )
    except (httpcore.ProtocolError, httpcore.NetworkError) as exc:
        outcome = "bad_answer"
        log.warning(
            "service answered badly", extra={"upstream": service, "error": type(exc).__name__}
        )
        return _upstream_problem(
            request,
            502,
            "bad-gateway",
            "Bad gateway",
            f"{service} gave an answer the gateway could not read; try again shortly.",
            service=service,
        )
    finally:
        upstream_latency.labels(service, outcome).observe(time.perf_counter() - started)


router = APIRouter()
router.add_api_route(
    PREFIX + "{service}/{path:path}",
    forward,
    methods=METHODS,
    include_in_schema=False,
    name="forward_to_service",
)
