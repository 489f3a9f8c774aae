"""The fast path to the services (`proxy.ServiceRouting` + the aiohttp pool) keeps every promise of
the router it bypasses, and the rate limiter's shared round trips count exactly: a real local
service that shows what it receives, and the real Redis."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from fastapi import FastAPI
from prometheus_client import REGISTRY
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from marque_gateway.edge.ratelimit import RateLimiter, degraded_gauge
from marque_gateway.gateway import Gateway
from marque_gateway.proxy import Upstream, upstreams

ServeApp = Callable[[Any], Awaitable[Any]]
AsUser = Callable[..., Awaitable[dict[str, str]]]


async def _who(request: Request) -> Response:
    """What the service saw: the method, the headers and the gateway's TCP port."""
    body = await request.body()
    client = request.client
    return JSONResponse(
        {
            "method": request.method,
            "headers": [[k, v] for k, v in request.headers.items()],
            "peer_port": client.port if client else None,
            "body_length": len(body),
        },
        headers={"X-Service": "seen"},
    )


SEEN_APP = Starlette(
    routes=[
        Route(
            "/api/v1/seen/{rest:path}",
            _who,
            methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
        )
    ]
)


@pytest.fixture
async def seen(gateway_app: FastAPI, serve_app: ServeApp) -> AsyncIterator[Any]:
    """Route /api/v1/seen/ to a real local service for this test only."""
    server = await serve_app(SEEN_APP)
    gateway: Gateway = gateway_app.state.gateway
    gateway.settings.upstreams["seen"] = server.url
    upstreams(gateway)["seen"] = Upstream("seen", server.url, gateway.settings)
    yield server
    gateway.settings.upstreams.pop("seen", None)
    up = upstreams(gateway).pop("seen", None)
    if up is not None:
        await up.aclose()


def _headers(answer: dict[str, Any]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for name, value in answer["headers"]:
        found.setdefault(name, []).append(value)
    return found


async def test_the_requests_are_counted_under_the_route_template(
    client: httpx.AsyncClient, as_user: AsUser, seen: Any
) -> None:
    labels = {
        "service": "gateway",
        "method": "GET",
        "route": "/api/v1/{service}/{path}",
        "status": "200",
    }
    before = REGISTRY.get_sample_value("marque_http_requests_total", labels) or 0
    resp = await client.get("/api/v1/seen/vehicles/1", headers=await as_user())
    assert resp.status_code == 200, resp.text
    assert resp.headers["x-service"] == "seen"
    assert REGISTRY.get_sample_value("marque_http_requests_total", labels) == before + 1


async def test_headers_a_connection_header_names_are_not_forwarded(
    client: httpx.AsyncClient, as_user: AsUser, seen: Any
) -> None:
    resp = await client.get(
        "/api/v1/seen/x",
        headers={
            **await as_user(),
            "Connection": "keep-alive, X-Hop-Secret",
            "X-Hop-Secret": "do not pass",
            "X-Kept": "pass",
        },
    )
    got = _headers(resp.json())
    assert "x-hop-secret" not in got
    assert got["x-kept"] == ["pass"]
    assert "user-agent" in got  # the caller's (httpx), not one aiohttp made up
    assert not got["user-agent"][0].startswith("Python/")


async def test_a_head_has_no_body_and_keeps_the_connection(
    client: httpx.AsyncClient, as_user: AsUser, seen: Any
) -> None:
    headers = await as_user()
    head = await client.head("/api/v1/seen/x", headers=headers)
    assert head.status_code == 200 and head.content == b""
    first = (await client.get("/api/v1/seen/x", headers=headers)).json()["peer_port"]
    second = (await client.get("/api/v1/seen/x", headers=headers)).json()["peer_port"]
    assert first == second  # one pooled keep-alive connection, reused


async def test_a_post_without_a_body_reaches_the_service_empty(
    client: httpx.AsyncClient, as_user: AsUser, seen: Any
) -> None:
    resp = await client.post("/api/v1/seen/x", headers=await as_user())
    assert resp.status_code == 200
    answer = resp.json()
    assert answer["method"] == "POST" and answer["body_length"] == 0
    assert "content-type" not in _headers(answer)  # none invented


async def test_a_method_the_router_does_not_know_is_405(
    client: httpx.AsyncClient, as_user: AsUser, seen: Any
) -> None:
    resp = await client.request("TRACE", "/api/v1/seen/x", headers=await as_user())
    assert resp.status_code == 405


async def test_many_concurrent_calls_all_get_their_own_answer(
    client: httpx.AsyncClient, as_user: AsUser, seen: Any
) -> None:
    headers = await as_user()

    async def call(i: int) -> tuple[int, str]:
        resp = await client.get(f"/api/v1/seen/n/{i}", headers={**headers, "X-N": str(i)})
        return resp.status_code, _headers(resp.json())["x-n"][0]

    answers = await asyncio.gather(*(call(i) for i in range(150)))
    assert answers == [(200, str(i)) for i in range(150)]


# --- the rate limiter's shared round trips ------------------------------------------------------


@pytest.fixture
async def limiter(marque_redis_url: str, marque_run_id: str) -> AsyncIterator[RateLimiter]:
    client = aioredis.from_url(marque_redis_url)
    yield RateLimiter(client, prefix=f"marque:{marque_run_id}:batch:")
    await client.aclose()


async def test_concurrent_hits_of_one_caller_are_each_counted_once(
    limiter: RateLimiter,
) -> None:
    decisions = await asyncio.gather(*(limiter.hit("user:many", 40) for _ in range(60)))
    assert sorted(d.remaining for d in decisions if d.allowed) == list(range(40))
    assert sum(not d.allowed for d in decisions) == 20
    assert not limiter.degraded


async def test_concurrent_hits_of_different_callers_do_not_mix(limiter: RateLimiter) -> None:
    callers = [f"key:{i}" for i in range(10)]
    first = await asyncio.gather(*(limiter.hit(c, 5) for c in callers for _ in range(3)))
    assert all(d.allowed for d in first)
    again = await asyncio.gather(*(limiter.hit(c, 5) for c in callers))
    assert [d.remaining for d in again] == [1] * 10


async def test_concurrent_hits_without_redis_are_all_served_per_process() -> None:
    dead = aioredis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.5)
    try:
        limiter = RateLimiter(dead, prefix="marque:dead:")
        decisions = await asyncio.gather(*(limiter.hit("user:x", 100) for _ in range(20)))
    finally:
        await dead.aclose()
        degraded_gauge.set(0)  # this limiter is gone; the gauge belongs to the app's
    assert all(d.allowed for d in decisions)
    assert limiter.degraded
