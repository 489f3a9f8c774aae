"""The HTTP platform against a real PostgreSQL: a tiny `widgets` service built with the kit."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import APIRouter, Depends, FastAPI, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy import (
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped

from marque_kit.auth import HEADER, Principal, sign_principal
from marque_kit.context import (
    correlation_id_var,
    principal_var,
    request_id_var,
    traceparent_var,
)
from marque_kit.db import Database
from marque_kit.errors import Conflict, NotFound
from marque_kit.http import (
    CurrentPrincipal,
    IdempotencyDep,
    IfMatch,
    Page,
    PageParams,
    PageQuery,
    check_version,
    create_http_app,
    encode_cursor,
    etag,
    paginate,
    purge_idempotency_keys,
    require_scope,
    scope_to_stores,
)
from marque_kit.settings import ServiceSettings
from marque_kit.tables import idempotency_keys, platform_metadata

SECRET = "test-internal-secret-0123456789abcdef"
PROBLEM = "application/problem+json"

widget_metadata = MetaData()
widgets = Table(
    "widgets",
    widget_metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("store_id", String(40), nullable=False),
    Column("name", String(100), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("version", Integer, nullable=False, server_default="1"),
)


class Base(DeclarativeBase):
    pass


class WidgetRow(Base):
    __table__ = widgets
    id: Mapped[uuid.UUID]
    store_id: Mapped[str]
    created_at: Mapped[datetime]


class WidgetIn(BaseModel):
    store_id: str
    name: str = Field(min_length=1, max_length=100)


class WidgetOut(BaseModel):
    id: uuid.UUID
    store_id: str
    name: str
    version: int


class Rename(BaseModel):
    name: str = Field(min_length=1, max_length=100)


async def get_db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


DbDep = Annotated[Database, Depends(get_db)]
CanCreate = Annotated[Principal, Depends(require_scope("inventory.widgets:create"))]


def build_router() -> APIRouter:
    router = APIRouter(prefix="/api/v1/test")

    @router.get("/widgets", response_model=Page[WidgetOut])
    async def list_widgets(principal: CurrentPrincipal, page: PageQuery, db: DbDep) -> Any:
        stmt = scope_to_stores(select(widgets), widgets.c.store_id, principal)
        async with db.session() as session:
            rows, next_cursor = await paginate(
                session, stmt, page, order=(widgets.c.created_at, widgets.c.id)
            )
        return Page[WidgetOut](
            items=[WidgetOut.model_validate(r, from_attributes=True) for r in rows],
            next_cursor=next_cursor,
        )

    @router.get("/widgets/{widget_id}")
    async def get_widget(
        widget_id: uuid.UUID, principal: CurrentPrincipal, db: DbDep, response: Response
    ) -> WidgetOut:
        stmt = scope_to_stores(
            select(widgets).where(widgets.c.id == widget_id), widgets.c.store_id, principal
        )
        async with db.session() as session:
            row = (await session.execute(stmt)).first()
        if row is None:
            raise NotFound("That widget was not found in your stores.")
        response.headers["ETag"] = etag(row.version)
        return WidgetOut.model_validate(row, from_attributes=True)

    @router.post("/widgets", status_code=201, response_model=WidgetOut)
    async def create_widget(
        body: WidgetIn, principal: CanCreate, idem: IdempotencyDep, db: DbDep, request: Request
    ) -> Response:
        principal.require_store(body.store_id, what="That store")
        async with db.session() as session, session.begin():
            if replay := await idem.begin(session, body):
                return replay
            widget_id = uuid.uuid4()
            await session.execute(
                insert(widgets).values(id=widget_id, store_id=body.store_id, name=body.name)
            )
            # Widen the window in which a concurrent duplicate meets the uncommitted key row.
            await asyncio.sleep(0.02)
            if request.app.state.fail_next_create:
                request.app.state.fail_next_create = False
                raise Conflict("The widget press jammed; try again.")
            out = WidgetOut(id=widget_id, store_id=body.store_id, name=body.name, version=1)
            return await idem.complete(
                session,
                201,
                out,
                headers={"ETag": etag(1), "Location": f"/api/v1/test/widgets/{widget_id}"},
            )

    @router.post("/echo")
    async def echo(request: Request, idem: IdempotencyDep, db: DbDep) -> Response:
        async with db.session() as session, session.begin():
            if replay := await idem.begin(session):
                return replay
            return await idem.complete(session, 200, {"echo": (await request.body()).decode()})

    @router.patch("/widgets/{widget_id}")
    async def rename_widget(
        widget_id: uuid.UUID,
        body: Rename,
        expected: IfMatch,
        principal: CurrentPrincipal,
        db: DbDep,
        response: Response,
    ) -> WidgetOut:
        async with db.session() as session, session.begin():
            stmt = scope_to_stores(
                select(widgets).where(widgets.c.id == widget_id), widgets.c.store_id, principal
            )
            row = (await session.execute(stmt.with_for_update())).first()
            if row is None:
                raise NotFound("That widget was not found in your stores.")
            check_version(row.version, expected)
            await session.execute(
                update(widgets)
                .where(widgets.c.id == widget_id)
                .values(name=body.name, version=row.version + 1)
            )
        response.headers["ETag"] = etag(row.version + 1)
        return WidgetOut(id=row.id, store_id=row.store_id, name=body.name, version=row.version + 1)

    @router.get("/conflict")
    async def conflict(principal: CurrentPrincipal) -> None:
        raise Conflict(
            "VIN LSVAU2180N2000001 is already sold.",
            errors=[{"field": "vin", "message": "sold"}],
            vin="LSVAU2180N2000001",
        )

    @router.get("/boom")
    async def boom(principal: CurrentPrincipal) -> None:
        raise RuntimeError("a bug")

    @router.get("/context")
    async def context(principal: CurrentPrincipal) -> dict[str, str | None]:
        return {
            "request_id": request_id_var.get(),
            "correlation_id": correlation_id_var.get(),
            "traceparent": traceparent_var.get(),
            "principal": principal_var.get(),
        }

    return router


def build_app(
    url: str, *, extra_checks: dict[str, Callable[[], Awaitable[None]]] | None = None
) -> FastAPI:
    settings = ServiceSettings(service="kit-test", database_url=url, internal_secret=SECRET)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.db = Database(url, pool_size=6)
        app.state.fail_next_create = False
        yield
        await app.state.db.dispose()

    async def database() -> None:
        await service_app.state.db.ping()

    service_app = create_http_app(
        service="kit-test",
        settings=settings,
        routers=[build_router()],
        lifespan=lifespan,
        readiness_checks={"database": database, **(extra_checks or {})},
    )
    return service_app


@pytest.fixture(scope="module")
def empty_database_url(make_database: Callable[[str], str]) -> str:
    # make_database runs its own event loop, so it is called from a sync fixture.
    return make_database("kit_http")


@pytest.fixture(scope="module")
async def database_url(empty_database_url: str) -> str:
    url = empty_database_url
    engine = create_async_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(platform_metadata.create_all)
        await conn.run_sync(widget_metadata.create_all)
    await engine.dispose()
    return url


@pytest.fixture(scope="module")
async def app(database_url: str) -> AsyncIterator[FastAPI]:
    app = build_app(database_url)
    async with LifespanManager(app):
        yield app


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


def token(
    *stores: str,
    subject: str = "u1",
    roles: tuple[str, ...] = ("store_manager",),
    secret: str = SECRET,
    now: float | None = None,
) -> dict[str, str]:
    principal = Principal(subject=subject, roles=roles, stores=stores)
    return {HEADER: sign_principal(principal, secret, now=now)}


def store() -> str:
    return "s-" + uuid.uuid4().hex[:8]


def assert_problem(resp: httpx.Response, status: int, slug: str) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = resp.json()
    assert body["status"] == status
    assert body["type"] == f"https://marque.dev/problems/{slug}"
    assert body["title"] and body["detail"]
    assert body["instance"] == resp.request.url.path
    assert body["request_id"] == resp.headers["x-request-id"]
    return body


async def create(
    client: httpx.AsyncClient, store_id: str, name: str, **headers: str
) -> httpx.Response:
    return await client.post(
        "/api/v1/test/widgets",
        json={"store_id": store_id, "name": name},
        headers={**token(store_id), **headers},
    )


async def count_named(app: FastAPI, name: str) -> int:
    async with app.state.db.session() as session:
        stmt = select(func.count()).select_from(widgets).where(widgets.c.name == name)
        return int((await session.execute(stmt)).scalar_one())


# Problems


async def test_unknown_route_is_a_404_problem(client: httpx.AsyncClient) -> None:
    body = assert_problem(await client.get("/api/v1/test/nothing-here"), 404, "not-found")
    assert "/api/v1/test/nothing-here" in body["detail"]


async def test_wrong_method_is_a_405_problem_naming_allowed_methods(
    client: httpx.AsyncClient,
) -> None:
    resp = await client.delete("/api/v1/test/widgets")
    body = assert_problem(resp, 405, "method-not-allowed")
    assert "GET" in resp.headers["allow"] and "POST" in resp.headers["allow"]
    assert "DELETE" in body["detail"]


async def test_invalid_body_is_a_422_problem_naming_each_field(
    client: httpx.AsyncClient,
) -> None:
    s = store()
    resp = await client.post(
        "/api/v1/test/widgets", json={"name": ""}, headers=token(s, roles=("hq_admin",))
    )
    body = assert_problem(resp, 422, "validation-failed")
    fields = {e["field"]: e for e in body["errors"]}
    assert set(fields) == {"store_id", "name"}
    assert fields["store_id"]["location"] == "body"
    assert "store_id" in body["detail"] and "name" in body["detail"]


async def test_domain_error_keeps_its_status_errors_and_extras(client: httpx.AsyncClient) -> None:
    body = assert_problem(
        await client.get("/api/v1/test/conflict", headers=token(store())), 409, "conflict"
    )
    assert body["detail"] == "VIN LSVAU2180N2000001 is already sold."
    assert body["errors"] == [{"field": "vin", "message": "sold"}]
    assert body["vin"] == "LSVAU2180N2000001"


async def test_unexpected_exception_is_a_logged_500_problem(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="marque.http"):
        resp = await client.get(
            "/api/v1/test/boom", headers={**token(store()), "X-Request-ID": "boom-1"}
        )
    body = assert_problem(resp, 500, "internal-error")
    assert body["request_id"] == "boom-1"
    assert "a bug" not in resp.text
    logged = [r for r in caplog.records if r.exc_info]
    assert logged and "a bug" in str(logged[0].exc_info[1])  # type: ignore[index]


# Request context


async def test_request_id_is_generated_when_absent(client: httpx.AsyncClient) -> None:
    resp = await client.get("/api/v1/test/context", headers=token(store()))
    generated = resp.headers["x-request-id"]
    assert uuid.UUID(generated)
    assert resp.json()["request_id"] == generated
    assert resp.headers["x-correlation-id"] == generated


async def test_request_correlation_and_trace_ids_are_propagated(
    client: httpx.AsyncClient,
) -> None:
    traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    resp = await client.get(
        "/api/v1/test/context",
        headers={
            **token(store(), subject="alice"),
            "X-Request-ID": "req-42",
            "X-Correlation-ID": "saga-7",
            "traceparent": traceparent,
        },
    )
    assert resp.headers["x-request-id"] == "req-42"
    assert resp.headers["x-correlation-id"] == "saga-7"
    assert resp.json() == {
        "request_id": "req-42",
        "correlation_id": "saga-7",
        "traceparent": traceparent,
        "principal": "user:alice",
    }


async def test_unsafe_request_id_is_replaced(client: httpx.AsyncClient) -> None:
    resp = await client.get(
        "/api/v1/test/context", headers={**token(store()), "X-Request-ID": "a b<script>"}
    )
    assert uuid.UUID(resp.headers["x-request-id"])


# Principal


async def test_missing_principal_is_401(client: httpx.AsyncClient) -> None:
    body = assert_problem(await client.get("/api/v1/test/widgets"), 401, "unauthenticated")
    assert HEADER in body["detail"]


async def test_expired_principal_is_401(client: httpx.AsyncClient) -> None:
    stale = token(store(), now=time.time() - 3600)
    body = assert_problem(
        await client.get("/api/v1/test/widgets", headers=stale), 401, "unauthenticated"
    )
    assert "expired" in body["detail"]


async def test_forged_principal_is_401(client: httpx.AsyncClient) -> None:
    forged = token(store(), roles=("hq_admin",), secret="not-the-real-secret-0123456789abcdef")
    assert_problem(await client.get("/api/v1/test/widgets", headers=forged), 401, "unauthenticated")


async def test_missing_scope_is_403(client: httpx.AsyncClient) -> None:
    s = store()
    resp = await client.post(
        "/api/v1/test/widgets",
        json={"store_id": s, "name": "w"},
        headers=token(s, roles=("parts_clerk",)),
    )
    assert "inventory.widgets:create" in assert_problem(resp, 403, "forbidden")["detail"]


async def test_another_stores_widget_is_404(client: httpx.AsyncClient) -> None:
    mine, theirs = store(), store()
    created = await create(client, theirs, "secret-widget")
    assert created.status_code == 201
    url = f"/api/v1/test/widgets/{created.json()['id']}"
    assert_problem(await client.get(url, headers=token(mine)), 404, "not-found")
    assert (await client.get(url, headers=token(theirs))).status_code == 200
    assert (await client.get(url, headers=token("*", roles=("hq_admin",)))).status_code == 200


# Pagination


async def walk(client: httpx.AsyncClient, headers: dict[str, str], limit: int) -> list[str]:
    seen: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": limit}
        if cursor:
            params["cursor"] = cursor
        resp = await client.get("/api/v1/test/widgets", params=params, headers=headers)
        assert resp.status_code == 200, resp.text
        page = resp.json()
        assert len(page["items"]) <= limit
        seen.extend(item["id"] for item in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return seen


async def test_pagination_walks_every_row_of_my_stores_exactly_once(app: FastAPI) -> None:
    mine, other = store(), store()
    same_instant = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)
    rows = [
        # Several rows share one created_at, so the id must break the tie.
        {"id": uuid.uuid4(), "store_id": mine, "name": f"p{i}", "created_at": same_instant}
        for i in range(5)
    ]
    now = datetime.now(UTC)
    rows += [
        {"id": uuid.uuid4(), "store_id": mine, "name": f"q{i}", "created_at": now} for i in range(3)
    ]
    rows += [
        {"id": uuid.uuid4(), "store_id": other, "name": "o", "created_at": now} for _ in range(4)
    ]
    async with app.state.db.session() as session, session.begin():
        await session.execute(insert(widgets), rows)
    transport = httpx.ASGITransport(app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        for limit in (1, 3, 8, 200):
            seen = await walk(client, token(mine), limit)
            assert len(seen) == len(set(seen)) == 8
            assert set(seen) == {str(r["id"]) for r in rows if r["store_id"] == mine}
        both = await walk(client, token(mine, other), 5)
        assert set(both) == {str(r["id"]) for r in rows}


async def test_paginate_yields_orm_objects_and_walks_descending(app: FastAPI) -> None:
    mine = store()
    async with app.state.db.session() as session, session.begin():
        await session.execute(
            insert(widgets),
            [{"id": uuid.uuid4(), "store_id": mine, "name": f"d{i}"} for i in range(5)],
        )
    order = (WidgetRow.created_at, WidgetRow.id)
    stmt = select(WidgetRow).where(WidgetRow.store_id == mine)
    seen: list[WidgetRow] = []
    cursor: str | None = None
    async with app.state.db.session() as session:
        while True:
            rows, cursor = await paginate(
                session, stmt, PageParams(limit=2, cursor=cursor), order=order, descending=True
            )
            seen.extend(rows)
            if cursor is None:
                break
    assert all(isinstance(w, WidgetRow) for w in seen)
    keys = [(w.created_at, w.id) for w in seen]
    assert len(set(keys)) == 5
    assert keys == sorted(keys, reverse=True)


async def test_bad_cursor_is_a_422_problem_not_a_500(client: httpx.AsyncClient) -> None:
    headers = token(store())
    for cursor in ("not*base64!", "bm90IGpzb24", encode_cursor(["x", "y"]), encode_cursor([1])):
        resp = await client.get("/api/v1/test/widgets", params={"cursor": cursor}, headers=headers)
        body = assert_problem(resp, 422, "invalid-input")
        assert body["errors"][0]["field"] == "cursor"


async def test_limit_out_of_range_is_a_422_problem(client: httpx.AsyncClient) -> None:
    for limit in (0, 201):
        resp = await client.get(
            "/api/v1/test/widgets", params={"limit": limit}, headers=token(store())
        )
        body = assert_problem(resp, 422, "validation-failed")
        assert body["errors"][0]["field"] == "limit"
        assert body["errors"][0]["location"] == "query"


# Idempotency


async def test_repeated_idempotency_key_replays_the_stored_answer(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    s, name = store(), f"idem-{uuid.uuid4()}"
    first = await create(client, s, name, **{"Idempotency-Key": "k-1"})
    again = await create(client, s, name, **{"Idempotency-Key": "k-1"})
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert again.headers["location"] == first.headers["location"]
    assert again.headers["etag"] == '"1"'
    assert await count_named(app, name) == 1


async def test_requests_without_a_key_are_not_deduplicated(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    s, name = store(), f"plain-{uuid.uuid4()}"
    assert (await create(client, s, name)).status_code == 201
    assert (await create(client, s, name)).status_code == 201
    assert await count_named(app, name) == 2


async def test_same_key_with_another_body_is_422(client: httpx.AsyncClient, app: FastAPI) -> None:
    s, name = store(), f"idem-{uuid.uuid4()}"
    assert (await create(client, s, name, **{"Idempotency-Key": '"k-2"'})).status_code == 201
    resp = await create(client, s, name + "-changed", **{"Idempotency-Key": '"k-2"'})
    body = assert_problem(resp, 422, "idempotency-key-reused")
    assert "k-2" in body["detail"]
    assert await count_named(app, name + "-changed") == 0


async def test_same_key_from_another_principal_is_a_separate_request(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    s, name = store(), f"idem-{uuid.uuid4()}"
    for subject in ("u1", "u2"):
        resp = await client.post(
            "/api/v1/test/widgets",
            json={"store_id": s, "name": name},
            headers={**token(s, subject=subject), "Idempotency-Key": "shared"},
        )
        assert resp.status_code == 201
        assert "idempotent-replayed" not in resp.headers
    assert await count_named(app, name) == 2


async def test_concurrent_requests_with_one_key_create_one_row(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    s, name = store(), f"race-{uuid.uuid4()}"
    responses = await asyncio.gather(
        *(create(client, s, name, **{"Idempotency-Key": "race"}) for _ in range(5))
    )
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["id"] for r in responses}) == 1
    assert sum(r.headers.get("idempotent-replayed") == "true" for r in responses) == 4
    assert await count_named(app, name) == 1


async def test_key_of_a_rolled_back_attempt_runs_again_as_new(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    s, name = store(), f"retry-{uuid.uuid4()}"
    app.state.fail_next_create = True
    assert_problem(await create(client, s, name, **{"Idempotency-Key": "k-3"}), 409, "conflict")
    retry = await create(client, s, name, **{"Idempotency-Key": "k-3"})
    assert retry.status_code == 201
    assert "idempotent-replayed" not in retry.headers
    assert await count_named(app, name) == 1


async def test_raw_body_fingerprint_replays_and_refuses_other_bytes(
    client: httpx.AsyncClient,
) -> None:
    headers = {**token(store()), "Idempotency-Key": "raw-1"}
    first = await client.post("/api/v1/test/echo", content=b'{"a": 1}', headers=headers)
    again = await client.post("/api/v1/test/echo", content=b'{"a": 1}', headers=headers)
    assert first.json() == again.json() == {"echo": '{"a": 1}'}
    assert again.headers["idempotent-replayed"] == "true"
    other = await client.post("/api/v1/test/echo", content=b'{"a": 2}', headers=headers)
    assert_problem(other, 422, "idempotency-key-reused")


async def test_purged_key_is_forgotten(client: httpx.AsyncClient, app: FastAPI) -> None:
    headers = {**token(store()), "Idempotency-Key": "old-1"}
    await client.post("/api/v1/test/echo", content=b"1", headers=headers)
    async with app.state.db.session() as session, session.begin():
        await session.execute(
            update(idempotency_keys)
            .where(idempotency_keys.c.key == "old-1")
            .values(created_at=datetime.now(UTC) - timedelta(days=2))
        )
        assert await purge_idempotency_keys(session, older_than=timedelta(days=1)) == 1
    fresh = await client.post("/api/v1/test/echo", content=b"2", headers=headers)
    assert fresh.status_code == 200 and "idempotent-replayed" not in fresh.headers


async def test_malformed_json_is_a_422_problem(client: httpx.AsyncClient) -> None:
    s = store()
    resp = await client.post(
        "/api/v1/test/widgets",
        content=b'{"store_id": ',
        headers={**token(s), "Content-Type": "application/json"},
    )
    body = assert_problem(resp, 422, "validation-failed")
    assert body["errors"][0]["field"] == "body"


# Optimistic concurrency


async def test_if_match_guards_updates(client: httpx.AsyncClient) -> None:
    s = store()
    widget = (await create(client, s, "v-widget")).json()
    url = f"/api/v1/test/widgets/{widget['id']}"
    headers = token(s)

    missing = await client.patch(url, json={"name": "x"}, headers=headers)
    assert "If-Match" in assert_problem(missing, 428, "precondition-required")["detail"]

    renamed = await client.patch(url, json={"name": "x"}, headers={**headers, "If-Match": '"1"'})
    assert renamed.status_code == 200
    assert renamed.headers["etag"] == '"2"'
    assert renamed.json()["version"] == 2

    stale = await client.patch(url, json={"name": "y"}, headers={**headers, "If-Match": '"1"'})
    body = assert_problem(stale, 412, "stale-version")
    assert "version 1" in body["detail"] and "version 2" in body["detail"]

    weak = await client.patch(url, json={"name": "z"}, headers={**headers, "If-Match": 'W/"2"'})
    assert weak.headers["etag"] == '"3"'
    bare = await client.patch(url, json={"name": "w"}, headers={**headers, "If-Match": "3"})
    assert bare.headers["etag"] == '"4"'

    garbage = await client.patch(url, json={"name": "q"}, headers={**headers, "If-Match": "abc"})
    assert_problem(garbage, 422, "invalid-input")
    assert (await client.get(url, headers=headers)).headers["etag"] == '"4"'


# Probes and metrics


async def test_healthz_and_readyz_need_no_principal(client: httpx.AsyncClient) -> None:
    health = await client.get("/healthz")
    assert health.status_code == 200 and health.json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "checks": {"database": "ok"}}


async def test_readyz_names_the_dependency_that_is_down(database_url: str) -> None:
    async def broker() -> None:
        raise ConnectionRefusedError("broker is down")

    app = build_app(database_url, extra_checks={"broker": broker})
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            resp = await client.get("/readyz")
    body = assert_problem(resp, 503, "unavailable")
    assert body["checks"] == {"database": "ok", "broker": "down: ConnectionRefusedError"}
    assert "broker" in body["detail"] and "database" not in body["detail"]


async def test_metrics_count_requests_by_route_template(client: httpx.AsyncClient) -> None:
    s = store()
    widget = (await create(client, s, "metered")).json()
    await client.get(f"/api/v1/test/widgets/{widget['id']}", headers=token(s))
    await client.get("/no/such/route")
    resp = await client.get("/metrics")
    assert resp.status_code == 200
    text = resp.text
    assert "marque_http_requests_total{" in text
    assert (
        'marque_http_requests_total{method="GET",route="/api/v1/test/widgets/{widget_id}",'
        'service="kit-test",status="200"}' in text
    )
    assert 'route="<unmatched>",service="kit-test",status="404"' in text
    assert widget["id"] not in text


async def test_a_nul_character_is_refused_before_any_handler(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    """PostgreSQL text cannot hold U+0000; without the guard this reached the driver: a 500."""
    s = store()
    body = assert_problem(await create(client, s, "evil\u0000name"), 422, "validation-failed")
    assert [e["field"] for e in body["errors"]] == ["name"]
    assert await count_named(app, "evilname") == 0
    query = await client.get("/api/v1/test/widgets", params={"cursor": "a\u0000"}, headers=token(s))
    assert query.status_code == 422
    assert (await create(client, s, "plain name")).status_code == 201
