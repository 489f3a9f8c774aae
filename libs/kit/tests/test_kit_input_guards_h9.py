"""The HTTP edge refuses input no service can store: NUL characters (RefuseNulMiddleware,
FormText) and days at the ends of the calendar (Day, Instant). A tiny app built with the kit,
in process; no database is needed because nothing reaches one."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, datetime
from typing import Annotated, Any

import httpx
import pytest
from fastapi import APIRouter, FastAPI, Form, Query
from pydantic import BaseModel

from marque_kit.http import PROBLEM_MEDIA_TYPE, Day, FormText, Instant, create_http_app
from marque_kit.http.nul_guard import nul_fields
from marque_kit.settings import ServiceSettings


class EchoIn(BaseModel):
    name: str
    tags: list[str] = []
    meta: dict[str, str] = {}


def build_app() -> FastAPI:
    router = APIRouter(prefix="/api/v1/guard")

    @router.post("/echo")
    async def echo(body: EchoIn) -> dict[str, Any]:
        return body.model_dump()

    @router.get("/items/{item_id}")
    async def item(item_id: str, q: str = "") -> dict[str, str]:
        return {"item_id": item_id, "q": q}

    @router.get("/days")
    async def days(
        day: Annotated[Day | None, Query()] = None, at: Annotated[Instant | None, Query()] = None
    ) -> dict[str, str | None]:
        return {
            "day": day.isoformat() if day else None,
            "at": at.isoformat() if at else None,
        }

    @router.post("/form")
    async def form(label: Annotated[FormText, Form(max_length=20)]) -> dict[str, str]:
        return {"label": label}

    settings = ServiceSettings(
        service="guard-test", internal_secret="guard-secret-0123456789abcdef"
    )
    return create_http_app(service="guard-test", settings=settings, routers=[router])


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(build_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://guard") as c:
        yield c


def refused(response: httpx.Response) -> list[tuple[str, str]]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    body = response.json()
    assert body["request_id"] and body["detail"]
    return [(e["field"], e["location"]) for e in body["errors"]]


def test_nul_fields_names_every_path() -> None:
    value = {"a": "ok", "b": ["x", "y\x00"], "c": {"d\x00": "v", "e": {"f": "\x00"}}}
    assert sorted(nul_fields(value)) == ["b.1", "c.d\\u0000", "c.e.f"]
    assert list(nul_fields("\x00")) == ["body"]
    assert list(nul_fields({"n": 1, "t": True, "z": None})) == []


async def test_nul_in_body_query_and_path_is_refused(client: httpx.AsyncClient) -> None:
    body = {"name": "a\x00", "tags": ["ok", "b\x00"], "meta": {"k": "\x00"}}
    assert refused(await client.post("/api/v1/guard/echo", json=body)) == [
        ("name", "body"),
        ("tags.1", "body"),
        ("meta.k", "body"),
    ]
    # A body without a Content-Type is looked at too (FastAPI can be set to read it as JSON).
    bare = await client.post("/api/v1/guard/echo", content=b'{"name": "a\\u0000"}')
    assert refused(bare) == [("name", "body")]
    query = await client.get("/api/v1/guard/items/1", params={"q": "x\x00"})
    assert refused(query) == [("q", "query")]
    assert refused(await client.get("/api/v1/guard/items/a%00b")) == [("path", "path")]


async def test_clean_bodies_pass_untouched(client: httpx.AsyncClient) -> None:
    # An escaped backslash followed by u0000 is six ordinary characters, not a NUL.
    raw = b'{"name": "C:\\\\u0000dir", "tags": ["\\u4e2d"]}'
    response = await client.post(
        "/api/v1/guard/echo", content=raw, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"name": "C:\\u0000dir", "tags": ["中"], "meta": {}}

    async def chunks() -> AsyncIterator[bytes]:
        for part in (b'{"name": "in ', b"three ", b'parts"}'):
            yield part

    streamed = await client.post(
        "/api/v1/guard/echo", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert streamed.status_code == 200, streamed.text
    assert streamed.json()["name"] == "in three parts"
    # Invalid JSON is still FastAPI's to describe.
    broken = await client.post(
        "/api/v1/guard/echo",
        content=b'{"name": "\\u0000',
        headers={"Content-Type": "application/json"},
    )
    assert broken.status_code == 422
    assert broken.json()["errors"][0]["field"] == "body"


async def test_form_text_refuses_nul(client: httpx.AsyncClient) -> None:
    assert (await client.post("/api/v1/guard/form", data={"label": "ok"})).json() == {"label": "ok"}
    assert refused(await client.post("/api/v1/guard/form", data={"label": "o\x00k"})) == [
        ("label", "body")
    ]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"day": "0001-01-01"}, "day"),
        ({"day": "9999-12-31"}, "day"),
        ({"day": "1899-12-31"}, "day"),
        ({"at": "0001-01-01T00:00:00+14:00"}, "at"),
        ({"at": "9999-12-31T23:59:59-12:00"}, "at"),
        ({"at": "3000-01-01T00:00:00"}, "at"),
    ],
)
async def test_days_off_the_calendar_are_refused(
    client: httpx.AsyncClient, params: dict[str, str], field: str
) -> None:
    response = await client.get("/api/v1/guard/days", params=params)
    assert refused(response) == [(field, "query")]
    assert "between 1900-01-01 and 2999-12-31" in response.json()["detail"]


async def test_the_ends_of_the_range_are_accepted(client: httpx.AsyncClient) -> None:
    for day, at in (
        (date(1900, 1, 1), datetime(1900, 1, 1, 0, 0)),
        (date(2999, 12, 31), datetime(2999, 12, 31, 23, 59, 59)),
    ):
        response = await client.get(
            "/api/v1/guard/days", params={"day": day.isoformat(), "at": at.isoformat() + "+08:00"}
        )
        assert response.status_code == 200, response.text
        assert response.json()["day"] == day.isoformat()
