"""The audit log: one append-only row per write through the gateway (who, role, store, status,
request id, client IP, ...), whatever its outcome, readable by HQ only."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from marque_gateway.edge.audit import client_ip, store_of
from marque_gateway.models import AuditEntry
from marque_kit.auth import Principal

AsUser = Callable[..., Awaitable[dict[str, str]]]
PartnerKey = Callable[..., Awaitable[tuple[str, dict[str, str]]]]
AUDIT = "/api/v1/group/audit"


async def rows_of(app: FastAPI, request_id: str) -> list[AuditEntry]:
    async with app.state.gateway.db.session() as session:
        result = await session.execute(
            select(AuditEntry).where(AuditEntry.request_id == request_id)
        )
        return list(result.scalars())


def traced(headers: dict[str, str] | None = None) -> tuple[str, dict[str, str]]:
    request_id = f"audit-{uuid.uuid4().hex}"
    return request_id, {
        **(headers or {}),
        "X-Request-ID": request_id,
        "User-Agent": "audit-test/1.0",
    }


async def test_a_refused_write_is_recorded_with_who_where_and_how_it_ended(
    client: httpx.AsyncClient, gateway_app: FastAPI, as_user: AsUser
) -> None:
    manager = await as_user(roles=("store_manager",), stores=("SH01",), name="王强")
    request_id, headers = traced(manager)
    resp = await client.post(
        "/api/v1/group/keys",
        json={"partner": "x", "scopes": ["crm.leads:create"], "stores": ["SH01"]},
        headers=headers,
    )
    assert resp.status_code == 403

    (row,) = await rows_of(gateway_app, request_id)
    assert row.actor.startswith("user:") and row.actor_kind == "user"
    assert row.actor_name == "王强"
    assert row.roles == ["store_manager"] and row.stores == ["SH01"]
    assert row.store_id == "SH01"  # the caller's only store
    assert (row.method, row.path, row.status) == ("POST", "/api/v1/group/keys", 403)
    assert row.client_ip == "203.0.113.7"
    assert row.user_agent == "audit-test/1.0"
    assert row.duration_ms >= 0
    assert row.at is not None and abs(row.at - datetime.now(UTC)) < timedelta(minutes=1)


async def test_a_proxied_write_names_the_store_from_its_path(
    client: httpx.AsyncClient, gateway_app: FastAPI, as_user: AsUser
) -> None:
    hq = await as_user(roles=("hq_admin",), stores=("*",))
    request_id, headers = traced(hq)
    resp = await client.post(
        "/api/v1/inventory/stores/HZ01/parts/receipts", json={"lines": "nonsense"}, headers=headers
    )
    assert resp.status_code == 422, resp.text  # refused by inventory, still recorded
    (row,) = await rows_of(gateway_app, request_id)
    assert row.store_id == "HZ01" and row.status == resp.status_code
    assert row.stores == ["*"] and row.roles == ["hq_admin"]


async def test_a_login_attempt_is_recorded_under_the_username_tried_and_never_the_password(
    client: httpx.AsyncClient, gateway_app: FastAPI
) -> None:
    request_id, headers = traced()
    password = f"pw-{uuid.uuid4().hex}"
    resp = await client.post(
        "/auth/token",
        data={"grant_type": "password", "username": "no.such.user", "password": password},
        headers=headers,
    )
    assert 400 <= resp.status_code < 500
    (row,) = await rows_of(gateway_app, request_id)
    assert (row.actor, row.actor_kind, row.actor_name) == ("anonymous", "anonymous", "no.such.user")
    assert row.path == "/auth/token" and row.status == resp.status_code
    assert password not in row.model_dump_json()


async def test_an_unauthenticated_write_and_a_partner_write_are_recorded(
    client: httpx.AsyncClient, gateway_app: FastAPI, partner_key: PartnerKey
) -> None:
    request_id, headers = traced()
    assert (await client.delete("/api/v1/group/keys/x", headers=headers)).status_code == 401
    (row,) = await rows_of(gateway_app, request_id)
    assert row.actor == "anonymous" and row.status == 401 and row.store_id is None

    raw, partner = await partner_key(scopes=["crm.leads:create"], stores=["HZ01"])
    request_id, headers = traced(partner)
    await client.post("/api/v1/group/keys", json={}, headers=headers)
    (row,) = await rows_of(gateway_app, request_id)
    assert row.actor == f"partner:{raw.split('_')[1]}" and row.actor_name == "autohome"
    assert row.roles == ["partner"] and row.store_id == "HZ01" and row.status == 403


async def test_reads_are_not_audited(
    client: httpx.AsyncClient, gateway_app: FastAPI, as_user: AsUser
) -> None:
    request_id, headers = traced(await as_user())
    assert (await client.get("/api/v1/group/me", headers=headers)).status_code == 200
    assert await rows_of(gateway_app, request_id) == []


async def test_the_audit_log_cannot_be_changed_or_emptied(gateway_app: FastAPI) -> None:
    for statement in (
        "UPDATE audit_log SET status = 200",
        "DELETE FROM audit_log",
        "TRUNCATE audit_log",
    ):
        async with gateway_app.state.gateway.db.session() as session:
            with pytest.raises(DBAPIError, match="append-only"):
                await session.execute(text(statement))
            await session.rollback()


async def test_hq_queries_the_audit_log_with_filters_and_pages(
    client: httpx.AsyncClient, as_user: AsUser
) -> None:
    clerk = await as_user(roles=("parts_clerk",), stores=("SH01",))
    for _ in range(3):
        await client.post("/api/v1/group/keys", json={}, headers=clerk)
    me = (await client.get("/api/v1/group/me", headers=clerk)).json()
    actor = f"user:{me['subject']}"
    analyst = await as_user(roles=("hq_analyst",), stores=("*",))

    since = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
    params: dict[str, Any] = {
        "actor": actor,
        "method": "POST",
        "status": 403,
        "path": "/api/v1/group/",
        "store_id": "SH01",
        "from": since,
        "limit": 2,
    }
    first = await client.get(AUDIT, params=params, headers=analyst)
    assert first.status_code == 200, first.text
    page = first.json()
    assert len(page["items"]) == 2 and page["next_cursor"]
    rest = await client.get(
        AUDIT, params={**params, "cursor": page["next_cursor"]}, headers=analyst
    )
    items = page["items"] + rest.json()["items"]
    assert len(items) == 3 and rest.json()["next_cursor"] is None
    assert {i["actor"] for i in items} == {actor}
    assert [i["at"] for i in items] == sorted((i["at"] for i in items), reverse=True)

    nothing = await client.get(
        AUDIT, params={"actor": actor, "path": "/api/v1/inventory/"}, headers=analyst
    )
    assert nothing.json()["items"] == []
    backwards = await client.get(
        AUDIT, params={"from": since, "to": "2000-01-01T00:00:00Z"}, headers=analyst
    )
    assert backwards.status_code == 422


async def test_only_hq_reads_the_audit_log(
    client: httpx.AsyncClient, as_user: AsUser, partner_key: PartnerKey
) -> None:
    assert (await client.get(AUDIT, headers=await as_user())).status_code == 200  # hq_admin
    manager = await as_user(roles=("store_manager",), stores=("SH01",))
    refused = await client.get(AUDIT, headers=manager)
    assert refused.status_code == 403 and "group.audit:read" in refused.json()["detail"]
    _, partner = await partner_key()
    assert (await client.get(AUDIT, headers=partner)).status_code == 403


# --- pure helpers --------------------------------------------------------------------------------


def scope_with(client: str, xff: str | None = None, path: str = "/x", query: bytes = b"") -> Any:
    headers = [(b"x-forwarded-for", xff.encode())] if xff is not None else []
    return {"client": (client, 1234), "headers": headers, "path": path, "query_string": query}


def test_x_forwarded_for_is_believed_only_from_a_trusted_proxy() -> None:
    forged = scope_with("198.51.100.1", "1.2.3.4")
    assert client_ip(forged, []) == "198.51.100.1"
    assert client_ip(forged, ["10.0.0.0/8"]) == "198.51.100.1"
    behind_lb = scope_with("10.0.0.5", "1.2.3.4, 203.0.113.50, 10.0.0.9")
    # The last hop that is not one of ours: hops further left may be made up by the client.
    assert client_ip(behind_lb, ["10.0.0.0/8"]) == "203.0.113.50"
    assert client_ip(scope_with("10.0.0.5"), ["10.0.0.5"]) == "10.0.0.5"


def test_the_store_written_to() -> None:
    one = Principal(subject="u", stores=("SH01",))
    hq = Principal(subject="u", stores=("*",))
    assert store_of(scope_with("x", path="/api/v1/inventory/stores/BJ01/parts"), hq) == "BJ01"
    assert store_of(scope_with("x", path="/api/v1/inventory/stores/BJ01"), hq) == "BJ01"
    assert store_of(scope_with("x", query=b"a=1&store_id=HZ01"), hq) == "HZ01"
    assert store_of(scope_with("x"), one) == "SH01"
    assert store_of(scope_with("x"), hq) is None
    assert store_of(scope_with("x"), None) is None
