"""Idempotency-Key on every POST through the gateway: replay byte for byte, 422 on another body,
409 while the first is in flight, 5xx answers never stored. Also: answers stream through the edge
when no key is involved."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse
from sqlalchemy import select

from marque_gateway.main import create_app
from marque_gateway.models import IdempotencyRecord
from marque_gateway.settings import GatewaySettings

AsUser = Callable[..., Awaitable[dict[str, str]]]
KEYS = "/api/v1/group/keys"
# Headers that belong to one exchange, not to the stored answer.
PER_EXCHANGE = {
    "x-request-id",
    "x-correlation-id",
    "ratelimit-limit",
    "ratelimit-remaining",
    "ratelimit-reset",
    "idempotent-replayed",
}


class Probe:
    """Test-only routes: a slow one (held until released), a flaky one (503 first), a crashing
    one, and a streaming one."""

    def __init__(self) -> None:
        self.entered = asyncio.Event()
        self.release = asyncio.Event()
        self.calls: dict[str, int] = {}

    def count(self, name: str) -> int:
        self.calls[name] = self.calls.get(name, 0) + 1
        return self.calls[name]

    def install(self, app: FastAPI) -> None:
        @app.post("/_test/slow", status_code=201)
        async def slow(request: Request) -> dict[str, Any]:
            n = self.count("slow")
            self.entered.set()
            await self.release.wait()
            return {"call": n, "echo": (await request.json())}

        @app.post("/_test/flaky")
        async def flaky() -> JSONResponse:
            n = self.count("flaky")
            return JSONResponse({"call": n}, status_code=503 if n == 1 else 201)

        @app.post("/_test/crash")
        async def crash() -> None:
            self.count("crash")
            raise RuntimeError("a bug on purpose")

        @app.api_route("/_test/stream", methods=["GET", "POST"])
        async def stream() -> StreamingResponse:
            async def chunks() -> AsyncIterator[bytes]:
                yield b"first;"
                await self.release.wait()
                yield b"second"

            return StreamingResponse(chunks(), media_type="text/plain")


@pytest.fixture(scope="module")
async def probe() -> Probe:
    return Probe()


@pytest.fixture(scope="module")
async def edge_app(gateway_settings: GatewaySettings, probe: Probe) -> AsyncIterator[FastAPI]:
    app = create_app(gateway_settings)
    probe.install(app)
    async with LifespanManager(app, startup_timeout=30, shutdown_timeout=30):
        yield app


@pytest.fixture
async def edge(edge_app: FastAPI, probe: Probe) -> AsyncIterator[httpx.AsyncClient]:
    probe.entered.clear()
    probe.release.clear()
    transport = httpx.ASGITransport(app=edge_app, client=("203.0.113.9", 50002))
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as c:
        yield c


def key_body(partner: str) -> dict[str, object]:
    return {"partner": partner, "scopes": ["inventory.vehicles:read"], "stores": ["SH01"]}


async def stored_row(app: FastAPI, principal_headers: dict[str, str], key: str) -> Any:
    async with app.state.gateway.db.session() as session:
        rows = (
            await session.execute(select(IdempotencyRecord).where(IdempotencyRecord.key == key))
        ).scalars()
        return list(rows)


async def test_a_repeat_returns_the_stored_answer_byte_for_byte(
    client: httpx.AsyncClient, gateway_app: FastAPI, as_user: AsUser
) -> None:
    admin = await as_user()
    partner = f"idem-{uuid.uuid4().hex[:8]}"
    headers = {**admin, "Idempotency-Key": str(uuid.uuid4())}

    first = await client.post(KEYS, json=key_body(partner), headers=headers)
    assert first.status_code == 201, first.text
    assert "idempotent-replayed" not in first.headers
    again = await client.post(KEYS, json=key_body(partner), headers=headers)

    assert again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert again.content == first.content  # the same raw key, not a second one
    assert [(k, v) for k, v in again.headers.multi_items() if k not in PER_EXCHANGE] == [
        (k, v) for k, v in first.headers.multi_items() if k not in PER_EXCHANGE
    ]
    listed = await client.get(KEYS, params={"partner": partner}, headers=admin)
    assert len(listed.json()["items"]) == 1  # the change happened once

    rows = await stored_row(gateway_app, admin, headers["Idempotency-Key"])
    assert len(rows) == 1 and rows[0].state == "done" and rows[0].principal.startswith("user:")
    # The answer carried a one-time secret (no-store): it is kept encrypted, never in plain text.
    raw_key = first.json()["key"]
    assert rows[0].response_body is not None
    assert raw_key.encode() not in rows[0].response_body
    assert rows[0].response_body.startswith(b"marque-sealed:v1:")


async def test_the_same_key_with_another_body_is_422(
    client: httpx.AsyncClient, as_user: AsUser
) -> None:
    admin = await as_user()
    headers = {**admin, "Idempotency-Key": str(uuid.uuid4())}
    first = await client.post(KEYS, json=key_body(f"idem-{uuid.uuid4().hex[:8]}"), headers=headers)
    assert first.status_code == 201
    other = await client.post(KEYS, json=key_body("someone-else"), headers=headers)
    assert other.status_code == 422
    assert other.headers["content-type"].startswith("application/problem+json")
    assert other.json()["type"].endswith("idempotency-key-reused")
    # Another path with the key is "another request" as well.
    path = await client.post("/_test/nowhere", json={}, headers=headers)
    assert path.status_code == 422


async def test_keys_are_scoped_by_caller(client: httpx.AsyncClient, as_user: AsUser) -> None:
    key = str(uuid.uuid4())
    partner = f"idem-{uuid.uuid4().hex[:8]}"
    first = await client.post(
        KEYS, json=key_body(partner), headers={**await as_user(), "Idempotency-Key": key}
    )
    second = await client.post(
        KEYS, json=key_body(partner), headers={**await as_user(), "Idempotency-Key": key}
    )
    assert first.status_code == second.status_code == 201
    assert "idempotent-replayed" not in second.headers
    assert first.json()["id"] != second.json()["id"]


async def test_a_key_over_200_characters_is_400(client: httpx.AsyncClient, as_user: AsUser) -> None:
    resp = await client.post(
        KEYS, json=key_body("x-partner"), headers={**await as_user(), "Idempotency-Key": "k" * 201}
    )
    assert resp.status_code == 400
    assert "200" in resp.json()["detail"]


async def test_a_concurrent_duplicate_is_409_then_the_answer_is_replayed(
    edge: httpx.AsyncClient, probe: Probe, as_user: AsUser
) -> None:
    headers = {**await as_user(), "Idempotency-Key": str(uuid.uuid4())}
    first = asyncio.create_task(edge.post("/_test/slow", json={"n": 1}, headers=headers))
    await asyncio.wait_for(probe.entered.wait(), 10)

    duplicate = await edge.post("/_test/slow", json={"n": 1}, headers=headers)
    assert duplicate.status_code == 409
    assert duplicate.headers["content-type"].startswith("application/problem+json")
    assert "still being processed" in duplicate.json()["detail"]

    probe.release.set()
    done = await asyncio.wait_for(first, 10)
    assert done.status_code == 201
    replayed = await edge.post("/_test/slow", json={"n": 1}, headers=headers)
    assert replayed.status_code == 201 and replayed.content == done.content
    assert replayed.headers["idempotent-replayed"] == "true"
    assert probe.calls["slow"] == 1


async def test_a_5xx_is_not_stored_so_a_retry_runs(
    edge: httpx.AsyncClient, edge_app: FastAPI, probe: Probe, as_user: AsUser
) -> None:
    user = await as_user()
    headers = {**user, "Idempotency-Key": str(uuid.uuid4())}
    failed = await edge.post("/_test/flaky", json={}, headers=headers)
    assert failed.status_code == 503
    assert await stored_row(edge_app, user, headers["Idempotency-Key"]) == []

    retried = await edge.post("/_test/flaky", json={}, headers=headers)
    assert retried.status_code == 201 and "idempotent-replayed" not in retried.headers
    replayed = await edge.post("/_test/flaky", json={}, headers=headers)
    assert replayed.status_code == 201 and replayed.headers["idempotent-replayed"] == "true"
    assert probe.calls["flaky"] == 2


async def test_a_crash_releases_the_key(
    edge: httpx.AsyncClient, edge_app: FastAPI, probe: Probe, as_user: AsUser
) -> None:
    user = await as_user()
    headers = {**user, "Idempotency-Key": str(uuid.uuid4())}
    for _ in range(2):
        resp = await edge.post("/_test/crash", json={}, headers=headers)
        assert resp.status_code == 500
    assert probe.calls["crash"] == 2  # the retry ran: the first claim was released
    assert await stored_row(edge_app, user, headers["Idempotency-Key"]) == []


async def stream_through(
    app: FastAPI, method: str, headers: dict[str, str], probe: Probe
) -> tuple[bytes, bytes]:
    """Drive the app by hand: the body the client had while the route still held back its second
    chunk, and the whole body at the end."""
    raw_headers = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": "/_test/stream",
        "raw_path": b"/_test/stream",
        "query_string": b"",
        "headers": [(b"host", b"gateway"), (b"content-length", b"0"), *raw_headers],
        "client": ("203.0.113.9", 50003),
        "server": ("gateway", 80),
    }
    sent: list[dict[str, Any]] = []
    first_chunk = asyncio.Event()
    body_given = False

    async def receive() -> dict[str, Any]:
        nonlocal body_given
        if not body_given:
            body_given = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.Event().wait()  # the client never disconnects
        raise AssertionError

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)
        if message["type"] == "http.response.body" and message.get("body"):
            first_chunk.set()

    task = asyncio.create_task(app(scope, receive, send))
    await asyncio.wait_for(first_chunk.wait(), 10)
    assert not task.done(), "the route finished before its first chunk was seen"
    early = b"".join(m.get("body", b"") for m in sent[1:])
    probe.release.set()
    await asyncio.wait_for(task, 10)
    assert sent[0]["status"] == 200
    return early, b"".join(m.get("body", b"") for m in sent[1:])


async def test_answers_stream_when_no_idempotency_key_is_involved(
    edge: httpx.AsyncClient, edge_app: FastAPI, probe: Probe, as_user: AsUser
) -> None:
    user = await as_user()
    assert await stream_through(edge_app, "GET", user, probe) == (b"first;", b"first;second")
    probe.release.clear()
    assert await stream_through(edge_app, "POST", user, probe) == (b"first;", b"first;second")


async def test_old_answers_are_purged(
    client: httpx.AsyncClient, gateway_app: FastAPI, as_user: AsUser
) -> None:
    from datetime import timedelta

    from marque_gateway.edge.idempotency import purge

    admin = await as_user()
    key = str(uuid.uuid4())
    partner = f"idem-{uuid.uuid4().hex[:8]}"
    await client.post(KEYS, json=key_body(partner), headers={**admin, "Idempotency-Key": key})
    db = gateway_app.state.gateway.db
    assert await purge(db, older_than=timedelta(hours=1)) >= 0
    assert len(await stored_row(gateway_app, admin, key)) == 1  # recent answers stay
    assert await purge(db, older_than=timedelta(seconds=-1)) >= 1
    assert await stored_row(gateway_app, admin, key) == []
