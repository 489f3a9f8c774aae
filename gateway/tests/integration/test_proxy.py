"""Routing `/api/v1/<svc>/...` to the services: the real inventory, and a real local echo server
that shows exactly what a service receives (headers, streamed bodies), is slow, or talks garbage."""

from __future__ import annotations

import asyncio
import hashlib
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from marque_gateway.gateway import Gateway
from marque_gateway.proxy import Upstream, upstream_latency, upstreams
from marque_kit.auth import verify_principal

ServeApp = Callable[[Any], Awaitable[Any]]

AsUser = Callable[..., Awaitable[dict[str, str]]]
CHUNK = b"0123456789abcdef" * 4096  # 64 KiB


async def _echo(request: Request) -> Response:
    body = await request.body()
    return JSONResponse(
        {
            "method": request.method,
            "path": request.url.path,
            "query": request.url.query,
            "headers": [[k, v] for k, v in request.headers.items()],
            "body_sha256": hashlib.sha256(body).hexdigest(),
            "body_length": len(body),
        }
    )


async def _download(request: Request) -> Response:
    chunks = int(request.query_params.get("chunks", "32"))

    async def produce() -> AsyncIterator[bytes]:
        for _ in range(chunks):
            yield CHUNK
            await asyncio.sleep(0)

    return StreamingResponse(produce(), media_type="application/octet-stream")


async def _slow(request: Request) -> Response:
    await asyncio.sleep(float(request.query_params.get("seconds", "5")))
    return JSONResponse({"late": True})


ECHO_APP = Starlette(
    routes=[
        Route("/api/v1/echo/download", _download, methods=["GET"]),
        Route("/api/v1/echo/slow", _slow, methods=["GET"]),
        Route(
            "/api/v1/echo/{rest:path}",
            _echo,
            methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"],
        ),
    ]
)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def echo_server(serve_app: ServeApp) -> Any:
    return await serve_app(ECHO_APP)


@pytest.fixture
def gateway(gateway_app: FastAPI) -> Gateway:
    gw: Gateway = gateway_app.state.gateway
    return gw


@pytest.fixture
async def extra_upstream(gateway: Gateway) -> AsyncIterator[Callable[..., None]]:
    """`add(name, url, **settings)`: route /api/v1/<name>/ to url for this test only."""
    added: list[str] = []

    def add(name: str, url: str, **overrides: object) -> None:
        gateway.settings.upstreams[name] = url
        client_settings = gateway.settings.model_copy(update=overrides)
        upstreams(gateway)[name] = Upstream(name, url, client_settings)
        added.append(name)

    yield add
    for name in added:
        gateway.settings.upstreams.pop(name, None)
        up = upstreams(gateway).pop(name, None)
        if up is not None:
            await up.aclose()


@pytest.fixture
async def echo(echo_server: Any, extra_upstream: Callable[..., None]) -> Any:
    extra_upstream("echo", echo_server.url)
    return echo_server


def _headers(answer: dict[str, object]) -> dict[str, list[str]]:
    seen: dict[str, list[str]] = {}
    for name, value in answer["headers"]:  # type: ignore[union-attr]
        seen.setdefault(name, []).append(value)
    return seen


# --- the real inventory -------------------------------------------------------------------------


async def test_a_get_reaches_inventory_as_the_caller_scoped_to_their_store(
    client: httpx.AsyncClient, as_user: AsUser
) -> None:
    headers = await as_user(roles=("store_manager",), stores=("SH01",))
    resp = await client.get("/api/v1/inventory/vehicles", params={"limit": 50}, headers=headers)
    assert resp.status_code == 200, resp.text
    items = resp.json()["items"]
    assert items, "the demo group has vehicles in SH01"
    assert {v["store_id"] for v in items} == {"SH01"}


async def test_inventory_problems_come_back_unchanged(
    client: httpx.AsyncClient, as_user: AsUser
) -> None:
    headers = await as_user(roles=("store_manager",), stores=("SH01",))
    resp = await client.get("/api/v1/inventory/vehicles/NOSUCHVIN00000000", headers=headers)
    assert resp.status_code == 404
    assert resp.headers["content-type"].startswith("application/problem+json")


async def test_the_request_id_reaches_the_service_and_comes_back_once(
    client: httpx.AsyncClient, as_user: AsUser
) -> None:
    headers = await as_user(roles=("store_manager",), stores=("SH01",))
    resp = await client.get(
        "/api/v1/inventory/catalog/stores",
        headers={**headers, "X-Request-ID": "req-proxy-inventory-1"},
    )
    assert resp.status_code == 200
    assert resp.headers.get_list("x-request-id") == ["req-proxy-inventory-1"]


async def test_an_unknown_service_is_404_naming_the_known_ones(
    client: httpx.AsyncClient, as_user: AsUser
) -> None:
    headers = await as_user()
    resp = await client.get("/api/v1/nosuch/things", headers=headers)
    assert resp.status_code == 404
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert "inventory" in resp.json()["detail"]


# --- what a service receives ---------------------------------------------------------------------


async def test_the_service_gets_a_signed_principal_and_no_client_credentials(
    client: httpx.AsyncClient,
    as_user: AsUser,
    echo: Any,
    gateway: Gateway,
) -> None:
    headers = await as_user(roles=("sales_consultant",), stores=("SH01",))
    resp = await client.get(
        "/api/v1/echo/things/1?b=2&a=1",
        headers={
            **headers,
            "X-Marque-Principal": "forged.by.client",
            "Cookie": "session=secret",
            "X-Request-ID": "req-echo-1",
            "X-Correlation-ID": "corr-echo-1",
            "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            "X-Forwarded-For": "6.6.6.6",
            "Accept-Language": "zh-CN",
            "Accept-Encoding": "identity",
        },
    )
    assert resp.status_code == 200, resp.text
    answer = resp.json()
    assert answer["path"] == "/api/v1/echo/things/1"
    assert answer["query"] == "b=2&a=1"
    seen = _headers(answer)
    assert "authorization" not in seen
    assert "cookie" not in seen
    [token] = seen["x-marque-principal"]
    principal = verify_principal(token, gateway.settings.internal_secret)
    assert principal.roles == ("sales_consultant",)
    assert principal.stores == ("SH01",)
    assert seen["x-request-id"] == ["req-echo-1"]
    assert seen["x-correlation-id"] == ["corr-echo-1"]
    assert seen["traceparent"] == ["00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"]
    assert seen["x-forwarded-for"] == ["203.0.113.7"]  # the caller, not what it claimed
    assert seen["x-forwarded-proto"] == ["http"]
    assert seen["accept-language"] == ["zh-CN"]
    assert seen["accept-encoding"] == ["identity"]  # the caller's, not the gateway's own


async def test_a_partners_scopes_travel_in_the_principal(
    client: httpx.AsyncClient,
    partner_key: Callable[..., Awaitable[tuple[str, dict[str, str]]]],
    echo: Any,
    gateway: Gateway,
) -> None:
    _, headers = await partner_key(scopes=["inventory.vehicles:read"], stores=["SH01"])
    resp = await client.get("/api/v1/echo/ping", headers=headers)
    assert resp.status_code == 200, resp.text
    seen = _headers(resp.json())
    assert "x-api-key" not in seen
    [token] = seen["x-marque-principal"]
    principal = verify_principal(token, gateway.settings.internal_secret)
    assert principal.kind == "partner"
    assert principal.scopes == ("inventory.vehicles:read",)
    assert principal.stores == ("SH01",)


async def test_the_signed_principal_is_reused_while_fresh(
    client: httpx.AsyncClient, as_user: AsUser, echo: Any
) -> None:
    headers = await as_user(roles=("store_manager",), stores=("SH01",))
    first = await client.get("/api/v1/echo/a", headers=headers)
    second = await client.get("/api/v1/echo/b", headers=headers)
    assert (
        _headers(first.json())["x-marque-principal"]
        == _headers(second.json())["x-marque-principal"]
    )


async def test_a_large_body_streams_up_and_a_large_answer_streams_back(
    client: httpx.AsyncClient, as_user: AsUser, echo: Any
) -> None:
    headers = await as_user()
    body = CHUNK * 16  # 1 MiB

    async def upload() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 100_000):
            yield body[start : start + 100_000]

    resp = await client.post(
        "/api/v1/echo/upload",
        content=upload(),
        headers={**headers, "Content-Type": "application/octet-stream"},
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["body_length"] == len(body)
    assert resp.json()["body_sha256"] == hashlib.sha256(body).hexdigest()

    sized = await client.put(
        "/api/v1/echo/sized", content=body[:1000], headers={**headers, "Content-Length": "1000"}
    )
    assert sized.json()["body_length"] == 1000

    download = await client.get("/api/v1/echo/download", params={"chunks": 32}, headers=headers)
    assert download.status_code == 200
    assert download.content == CHUNK * 32


# --- a service that is down, slow or broken -----------------------------------------------------


async def test_a_service_that_refuses_connections_is_503(
    client: httpx.AsyncClient, as_user: AsUser, extra_upstream: Callable[..., None]
) -> None:
    extra_upstream("down", f"http://127.0.0.1:{closed_port()}")
    headers = await as_user()
    resp = await client.get("/api/v1/down/anything", headers=headers)
    assert resp.status_code == 503
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert resp.json()["detail"] == "down is not answering; try again shortly."
    assert resp.headers["retry-after"]


async def test_a_service_that_is_too_slow_is_504_in_time(
    client: httpx.AsyncClient,
    as_user: AsUser,
    echo_server: Any,
    extra_upstream: Callable[..., None],
) -> None:
    extra_upstream("echo", echo_server.url, upstream_timeout_seconds=0.3)
    headers = await as_user()
    before = upstream_latency.labels("echo", "timeout")._sum.get()
    started = asyncio.get_running_loop().time()
    resp = await client.get("/api/v1/echo/slow", params={"seconds": 1.5}, headers=headers)
    assert asyncio.get_running_loop().time() - started < 3
    assert resp.status_code == 504
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert "did not answer in time" in resp.json()["detail"]
    assert upstream_latency.labels("echo", "timeout")._sum.get() > before


@pytest.fixture
async def garbage_server() -> AsyncIterator[str]:
    """A TCP server that answers every request with bytes that are not HTTP."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1024)
        writer.write(b"this is not http at all\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.close()
    await server.wait_closed()


async def test_a_service_answering_garbage_is_502(
    client: httpx.AsyncClient,
    as_user: AsUser,
    garbage_server: str,
    extra_upstream: Callable[..., None],
) -> None:
    extra_upstream("broken", garbage_server)
    headers = await as_user()
    resp = await client.get("/api/v1/broken/anything", headers=headers)
    assert resp.status_code == 502
    assert resp.headers["content-type"].startswith("application/problem+json")


@pytest.fixture
async def forgetful_server() -> AsyncIterator[tuple[str, list[int]]]:
    """Answers the first request on each connection with keep-alive, then drops the connection
    as the second request arrives, like a service restarted under a pooled connection."""
    connections: list[int] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(len(connections) + 1)
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok")
        await writer.drain()
        await reader.readuntil(b"\r\n\r\n")  # the next request on the pooled connection...
        writer.close()  # ...is dropped unanswered

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}", connections
    server.close()


async def test_a_get_on_a_pooled_connection_the_service_dropped_is_tried_once_more(
    client: httpx.AsyncClient,
    as_user: AsUser,
    forgetful_server: tuple[str, list[int]],
    extra_upstream: Callable[..., None],
) -> None:
    url, connections = forgetful_server
    extra_upstream("forgetful", url)
    headers = await as_user()

    first = await client.get("/api/v1/forgetful/a", headers=headers)
    second = await client.get("/api/v1/forgetful/b", headers=headers)

    assert (first.status_code, first.text) == (200, "ok")
    assert (second.status_code, second.text) == (200, "ok"), second.text
    # aiohttp retries an idempotent request once on a fresh connection when a pooled one dies.
    assert connections == [1, 2]
