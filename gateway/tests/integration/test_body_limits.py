"""Request body limits: a declared Content-Length over the limit is 413 before a byte is read; a
chunked body is counted while it streams (gateway routes, proxied routes, idempotent POSTs)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy import select

from marque_gateway.main import create_app
from marque_gateway.models import AuditEntry
from marque_gateway.settings import GatewaySettings

AsUser = Callable[..., Awaitable[dict[str, str]]]
LIMIT = 1024


@pytest.fixture(scope="module")
async def small_app(gateway_settings: GatewaySettings) -> AsyncIterator[FastAPI]:
    app = create_app(gateway_settings.model_copy(update={"max_body_bytes": LIMIT}))
    async with LifespanManager(app, startup_timeout=30, shutdown_timeout=30):
        yield app


@pytest.fixture
async def small(small_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=small_app, client=("203.0.113.10", 50004))
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as c:
        yield c


def big_json() -> bytes:
    return b'{"partner": "autohome", "name": "' + b"x" * (2 * LIMIT) + b'"}'


async def chunked(payload: bytes) -> AsyncIterator[bytes]:
    for i in range(0, len(payload), 256):
        yield payload[i : i + 256]


def assert_413(resp: httpx.Response) -> None:
    assert resp.status_code == 413, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    body = resp.json()
    assert body["max_body_bytes"] == LIMIT and str(LIMIT) in body["detail"]


async def test_a_declared_length_over_the_limit_is_413_at_once(
    small: httpx.AsyncClient, small_app: FastAPI, as_user: AsUser
) -> None:
    request_id = uuid.uuid4().hex
    resp = await small.post(
        "/api/v1/group/keys",
        content=big_json(),
        headers={
            **await as_user(),
            "Content-Type": "application/json",
            "X-Request-ID": request_id,
        },
    )
    assert "content-length" in resp.request.headers
    assert_413(resp)
    async with small_app.state.gateway.db.session() as session:
        row = (
            await session.execute(select(AuditEntry).where(AuditEntry.request_id == request_id))
        ).scalar_one()
    assert row.status == 413


async def test_an_unauthenticated_oversized_body_is_refused_before_anything_else(
    small: httpx.AsyncClient,
) -> None:
    assert_413(await small.post("/api/v1/group/keys", content=big_json()))


@pytest.mark.parametrize(
    "path",
    ["/api/v1/group/keys", "/api/v1/inventory/stores/SH01/parts/receipts"],
)
async def test_a_chunked_body_is_counted_while_it_streams(
    small: httpx.AsyncClient, as_user: AsUser, path: str
) -> None:
    resp = await small.post(
        path,
        content=chunked(big_json()),
        headers={**await as_user(), "Content-Type": "application/json"},
    )
    assert "content-length" not in resp.request.headers
    assert_413(resp)


async def test_an_idempotent_chunked_body_over_the_limit_is_413_and_claims_nothing(
    small: httpx.AsyncClient, as_user: AsUser
) -> None:
    admin = await as_user()
    headers = {**admin, "Content-Type": "application/json", "Idempotency-Key": str(uuid.uuid4())}
    assert_413(await small.post("/api/v1/group/keys", content=chunked(big_json()), headers=headers))
    small_body = b'{"partner": "autohome", "scopes": ["crm.leads:create"], "stores": ["SH01"]}'
    ok = await small.post("/api/v1/group/keys", content=small_body, headers=headers)
    assert ok.status_code == 201, ok.text


async def test_a_body_within_the_limit_passes(small: httpx.AsyncClient, as_user: AsUser) -> None:
    body = b'{"partner": "autohome", "scopes": ["crm.leads:create"], "stores": ["SH01"]}'
    resp = await small.post(
        "/api/v1/group/keys",
        content=chunked(body),
        headers={**await as_user(), "Content-Type": "application/json"},
    )
    assert resp.status_code == 201, resp.text


async def test_a_content_length_that_is_not_a_number_is_400(
    small: httpx.AsyncClient, as_user: AsUser
) -> None:
    # h11 would refuse it on the wire; inside the ASGI app the edge still answers clearly.
    scope_headers = {**await as_user(), "Content-Length": "lots"}
    request = small.build_request("POST", "/api/v1/group/keys", headers=scope_headers)
    resp = await small.send(request)
    assert resp.status_code == 400
    assert "Content-Length" in resp.json()["detail"]
