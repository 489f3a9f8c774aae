"""`/api/v1/<svc>/...` goes to that service, unchanged (DESIGN.md §8).

The gateway forwards method, path, query and the safe headers; it streams the request body up and
the answer back, and adds what the service needs to trust and trace the call:

- `X-Marque-Principal`: the caller, signed with the internal secret (DESIGN.md §7). Whatever the
  client sent in that header, and its own credentials (`Authorization`, `X-API-Key`), never reach
  the service;
- `X-Request-ID`, `X-Correlation-ID`, `traceparent` of this request, `X-Forwarded-For/Proto`.

One connection pool per service (aiohttp, HTTP/1.1 keep-alive, sized for 128 concurrent calls) is
opened with the app and closed with it. A service that refuses the connection (or cannot be
reached in time) answers 503, one that is too slow 504, one that answers garbage 502, always as
problem+json: the gateway never hangs.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import httpx
from fastapi import APIRouter, Request
from prometheus_client import Histogram
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send
from yarl import URL

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
GATEWAY_NAMESPACE = "group"  # /api/v1/group/... is the gateway's own API (DESIGN.md §8)
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
_METHODS = frozenset(METHODS)
# Connections kept per service: the benchmark runs 64 concurrent callers; room for twice that.
MAX_CONNECTIONS = 128
# Below uvicorn's 5 s keep-alive, so a service never closes an idle connection under us.
KEEPALIVE_SECONDS = 4.0
# Headers aiohttp would otherwise add on its own: the service gets the caller's, or none.
_SKIP_AUTO_HEADERS = ("User-Agent", "Accept", "Accept-Encoding", "Content-Type")

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
    """One service: a keep-alive HTTP/1.1 connection pool for forwarding (an aiohttp session that
    adds nothing of its own: no cookies, no decompression, no default headers), and an
    `httpx.AsyncClient` for the gateway's own calls (e.g. fetching the OpenAPI document).

    (httpcore's pool, used before, scans every connection and polls its socket on each request
    and release; at 64 concurrent callers that was half the gateway's CPU.)"""

    def __init__(self, service: str, base_url: str, settings: GatewaySettings) -> None:
        url = URL(base_url)
        self.service = service
        self.base_url = base_url
        self.scheme = url.scheme
        self.host = url.raw_host or "127.0.0.1"
        self.port = url.port
        self.host_header = url.host_port_subcomponent or self.host
        self.base_path = url.raw_path.rstrip("/")
        connect = settings.upstream_connect_timeout_seconds
        read = settings.upstream_timeout_seconds
        # `connect` bounds waiting for a free pooled connection plus opening one; `sock_read`
        # bounds every wait for the service's bytes (the headers, then each piece of the body).
        self.timeout = aiohttp.ClientTimeout(
            total=None, connect=connect, sock_connect=connect, sock_read=read
        )
        self._session: aiohttp.ClientSession | None = None
        self.client = httpx.AsyncClient(
            base_url=base_url,
            timeout=httpx.Timeout(read, connect=connect, pool=connect),
            limits=httpx.Limits(max_connections=8, keepalive_expiry=KEEPALIVE_SECONDS),
            follow_redirects=False,
            trust_env=False,
        )
        self.latency = {
            outcome: upstream_latency.labels(service, outcome)
            for outcome in ("1xx", "2xx", "3xx", "4xx", "5xx", "refused", "timeout", "busy")
        }

    @property
    def session(self) -> aiohttp.ClientSession:
        """The forwarding pool, opened on first use (it belongs to the running event loop)."""
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(
                limit=MAX_CONNECTIONS,
                limit_per_host=0,
                keepalive_timeout=KEEPALIVE_SECONDS,
                force_close=False,
                enable_cleanup_closed=False,
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                cookie_jar=aiohttp.DummyCookieJar(),
                auto_decompress=False,
                skip_auto_headers=_SKIP_AUTO_HEADERS,
                timeout=self.timeout,
                raise_for_status=False,
                trust_env=False,
            )
        return self._session

    def url(self, raw_path: str, query: str) -> URL:
        return URL.build(
            scheme=self.scheme,
            host=self.host,
            port=self.port,
            path=self.base_path + raw_path,
            query_string=query,
            encoded=True,
        )

    def observe(self, outcome: str, seconds: float) -> None:
        child = self.latency.get(outcome)
        if child is None:
            child = self.latency[outcome] = upstream_latency.labels(self.service, outcome)
        child.observe(seconds)

    async def aclose(self) -> None:
        if self._session is not None:
            with contextlib.suppress(Exception):
                await self._session.close()
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


def _text(value: bytes) -> str:
    # aiohttp writes header values as UTF-8: valid UTF-8 goes through byte for byte.
    try:
        return value.decode()
    except UnicodeDecodeError:
        return value.decode("utf-8", "replace")


def _forwarded_headers(
    scope: Scope, up: Upstream, token: str, settings: GatewaySettings
) -> tuple[list[tuple[str, str]], bool]:
    """The headers the service gets, and whether the request has a body (one pass over them)."""
    raw: list[tuple[bytes, bytes]] = scope["headers"]
    headers: list[tuple[str, str]] = [("Host", up.host_header)]
    has_body = False
    connection_named: frozenset[bytes] = frozenset()
    for name, value in raw:
        if name in _NOT_FORWARDED:
            if name == b"transfer-encoding":
                has_body = True  # aiohttp sends a body of unknown length chunked
            elif name == b"connection":
                connection_named = _connection_named(value)
            continue
        if name == b"content-length":
            has_body = value.strip() not in (b"", b"0")
        headers.append((name.decode("latin-1"), _text(value)))
    if connection_named:
        headers = [(n, v) for n, v in headers if n.encode("latin-1") not in connection_named]
    headers.append(("X-Marque-Principal", token))
    request_id = request_id_var.get()
    if request_id:
        headers.append(("X-Request-ID", request_id))
    correlation_id = correlation_id_var.get()
    if correlation_id:
        headers.append(("X-Correlation-ID", correlation_id))
    traceparent = traceparent_var.get()
    if traceparent:
        headers.append(("traceparent", traceparent))
    caller_ip = client_ip(scope, settings.trusted_proxies)
    if caller_ip:
        headers.append(("X-Forwarded-For", caller_ip))
    headers.append(("X-Forwarded-Proto", "https" if scope.get("scheme") == "https" else "http"))
    return headers, has_body


def _connection_named(value: bytes) -> frozenset[bytes]:
    """Headers a `Connection` header names are hop-by-hop too (RFC 9110 §7.6.1)."""
    return frozenset(part.strip().lower() for part in value.split(b","))


class _RequestBody:
    """The caller's body as it arrives, remembering why reading it failed (a body over the limit,
    a caller gone): aiohttp wraps that in its own error, and the edge needs the original."""

    def __init__(self, request: Request) -> None:
        self.request = request
        self.failed: BaseException | None = None

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self.request.stream():
                if chunk:
                    yield chunk
        except Exception as exc:
            self.failed = exc
            raise


class UpstreamResponse(Response):
    """Relays a service's answer as it arrives, and always closes it afterwards."""

    def __init__(self, upstream: aiohttp.ClientResponse) -> None:
        self.upstream = upstream
        self.status_code = upstream.status
        self.background = None
        self.raw_headers = [
            (name, value)
            for name, value in upstream.raw_headers
            if name.lower() not in _NOT_RETURNED
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        done = False
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": self.status_code,
                    "headers": self.raw_headers,
                }
            )
            more = True
            if scope.get("method") != "HEAD":
                content = self.upstream.content
                async for chunk in content.iter_any():
                    # The piece that ends the answer says so (one message less per request).
                    more = not content.at_eof()
                    await send({"type": "http.response.body", "body": chunk, "more_body": more})
                    if not more:
                        break
            if more:
                await send({"type": "http.response.body", "body": b"", "more_body": False})
            done = True
        except (TimeoutError, aiohttp.ClientError) as exc:
            log.warning(
                "service stopped sending its answer",
                extra={"status": self.status_code, "error": type(exc).__name__},
            )
            raise
        finally:
            if done:
                self.upstream.release()  # the connection goes back to the pool
            else:
                self.upstream.close()  # a half-read answer: the connection is dropped


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


def _unavailable(request: Request, service: str, why: str) -> Response:
    return _upstream_problem(
        request,
        503,
        "unavailable",
        "Service unavailable",
        f"{service} {why}; try again shortly.",
        service=service,
    )


async def forward(request: Request) -> Response:
    """The `/api/v1/{service}/{path}` route: what `ServiceRouting` did not take (an unknown
    service, or a path the fast check does not recognise)."""
    return await forward_to(request, request.path_params["service"], request.app.state.gateway)


async def forward_to(request: Request, service: str, gateway: Gateway) -> Response:
    """Route one request to its service and relay the answer."""
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
    scope = request.scope
    token = principal_signer(gateway).token_for(principal)
    headers, has_body = _forwarded_headers(scope, up, token, gateway.settings)
    raw_path: bytes = scope.get("raw_path") or scope["path"].encode()
    url = up.url(raw_path.decode("latin-1"), scope.get("query_string", b"").decode("latin-1"))
    body = _RequestBody(request) if has_body else None
    started = time.perf_counter()
    outcome = "error"
    try:
        answer = await up.session.request(
            scope["method"], url, headers=headers, data=body, allow_redirects=False
        )
        outcome = f"{answer.status // 100}xx"
        return UpstreamResponse(answer)
    except aiohttp.ClientConnectorError:
        outcome = "refused"
        log.warning("service refused the connection", extra={"upstream": service})
        return _unavailable(request, service, "is not answering")
    except aiohttp.ConnectionTimeoutError:
        # No connection within the connect timeout (none free in the pool, or the service does
        # not accept): the request never left, so trying again is safe.
        outcome = "busy"
        log.warning("no connection to the service in time", extra={"upstream": service})
        return _unavailable(request, service, "is too busy right now")
    except TimeoutError:  # aiohttp.SocketTimeoutError, and any other deadline
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
    except aiohttp.ClientError as exc:
        if body is not None and body.failed is not None:
            raise body.failed from exc  # the caller's body, not the service, failed
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
        up.observe(outcome, time.perf_counter() - started)


class ServiceRouting:
    """The fast path to the services, as the innermost middleware: `/api/v1/<svc>/...` of a
    service the gateway routes to goes straight to `forward_to`, past FastAPI's router. (Matching
    the gateway's routes, the exception and exit-stack layers and solving the endpoint's
    dependencies cost more CPU than forwarding the request.) Everything else, `/api/v1/group/...`
    (the gateway's own API) included, goes on to the app's routes, where `router` answers what is
    left under `/api/v1/` (an unknown service: 404 naming the known ones)."""

    def __init__(self, app: ASGIApp, *, gateway: Gateway) -> None:
        self.app = app
        self.gateway = gateway

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        service = _routed_service(scope, self.gateway) if scope["type"] == "http" else None
        if service is None:
            await self.app(scope, receive, send)
            return
        scope["route"] = FORWARD_ROUTE  # what the request metrics are labelled with
        rest = scope["path"][len(PREFIX) + len(service) + 1 :]
        scope["path_params"] = {"service": service, "path": rest}
        request = Request(scope, receive)
        response = await forward_to(request, service, self.gateway)
        await response(scope, receive, send)


def _routed_service(scope: Scope, gateway: Gateway) -> str | None:
    """The service of `/api/v1/<svc>/...` if the gateway routes to it (never `group`)."""
    path: str = scope["path"]
    if not path.startswith(PREFIX) or scope["method"] not in _METHODS:
        return None
    service, slash, _ = path[len(PREFIX) :].partition("/")
    if not slash or service == GATEWAY_NAMESPACE or service not in gateway.settings.upstreams:
        return None
    return service


# LAST among the gateway's routers, so /api/v1/group/* wins.
router = APIRouter()
router.add_api_route(
    PREFIX + "{service}/{path:path}",
    forward,
    methods=METHODS,
    include_in_schema=False,
    name="forward_to_service",
)
FORWARD_ROUTE = router.routes[0]
