"""`GET /api/v1/group/stores/{store_id}/stock-summary`: composed from inventory over gRPC and the
gateway's own users, partial (never a 5xx) when inventory is down."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from marque_gateway.main import create_app
from marque_gateway.settings import GatewaySettings

AsUser = Callable[..., Awaitable[dict[str, str]]]
SUMMARY = "/api/v1/group/stores/{store}/stock-summary"


async def test_a_store_manager_gets_vehicles_parts_and_staff(
    client: httpx.AsyncClient, as_user: AsUser
) -> None:
    headers = await as_user(roles=("store_manager",), stores=("SH01",))
    await as_user(roles=("sales_consultant",), stores=("SH01",))
    resp = await client.get(SUMMARY.format(store="SH01"), headers=headers)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["store_id"] == "SH01"
    assert body["partial"] is False
    assert body["unavailable"] == []

    vehicles = body["vehicles"]
    assert vehicles["counts_by_status"]["in_stock"] > 0
    assert set(vehicles["counts_by_status"]) >= {"on_order", "in_stock", "reserved", "delivered"}
    assert (
        sum(m["in_stock"] for m in vehicles["in_stock_by_model"])
        == (vehicles["counts_by_status"]["in_stock"])
    )
    assert [b["bucket"] for b in vehicles["age_buckets"]] == ["0-30", "31-60", "61-90", "90+"]
    assert vehicles["oldest_vehicle_days"] > 0

    parts = body["parts"]
    assert parts["sku_count"] > 0
    assert parts["stock_value_fen"] > 0
    assert len(parts["below_reorder_point"]) <= 20
    for part in parts["below_reorder_point"]:
        assert part["available"] < part["reorder_point"]

    staff = body["staff"]
    assert staff["by_role"]["store_manager"] >= 1
    assert staff["by_role"]["sales_consultant"] >= 1
    assert staff["active_users"] >= 2


async def test_the_vehicle_counts_agree_with_inventorys_own_stock_view(
    client: httpx.AsyncClient, as_user: AsUser
) -> None:
    headers = await as_user(roles=("store_manager",), stores=("SH01",))
    summary = (await client.get(SUMMARY.format(store="SH01"), headers=headers)).json()
    by_store = await client.get("/api/v1/inventory/stock/by-store", headers=headers)
    [sh01] = [s for s in by_store.json()["items"] if s["store_id"] == "SH01"]
    assert summary["vehicles"]["counts_by_status"] == sh01["counts"]
    ageing = await client.get(
        "/api/v1/inventory/stock/ageing", params={"store_id": "SH01"}, headers=headers
    )
    expected = {b["bucket"]: b["count"] for b in ageing.json()["buckets"]}
    assert {b["bucket"]: b["count"] for b in summary["vehicles"]["age_buckets"]} == expected


async def test_another_stores_summary_is_404(client: httpx.AsyncClient, as_user: AsUser) -> None:
    headers = await as_user(roles=("store_manager",), stores=("HZ01",))
    resp = await client.get(SUMMARY.format(store="SH01"), headers=headers)
    assert resp.status_code == 404
    assert resp.headers["content-type"].startswith("application/problem+json")


async def test_a_role_without_vehicle_read_is_403(
    client: httpx.AsyncClient, as_user: AsUser
) -> None:
    headers = await as_user(roles=("technician",), stores=("SH01",))
    resp = await client.get(SUMMARY.format(store="SH01"), headers=headers)
    assert resp.status_code == 403


async def test_a_section_the_caller_may_not_see_is_null_and_says_why(
    client: httpx.AsyncClient, as_user: AsUser
) -> None:
    headers = await as_user(roles=("sales_consultant",), stores=("SH01",))
    resp = await client.get(SUMMARY.format(store="SH01"), headers=headers)
    assert resp.status_code == 200
    body = resp.json()
    assert body["vehicles"] is not None
    assert body["parts"] is None
    assert body["partial"] is True
    assert body["unavailable"] == [
        {
            "section": "parts",
            "service": "inventory",
            "reason": "Your role does not allow 'inventory.parts:read'.",
        }
    ]


@pytest.fixture
async def gateway_without_inventory(
    gateway_settings: GatewaySettings,
) -> AsyncIterator[httpx.AsyncClient]:
    """A second gateway replica whose inventory gRPC address is a closed port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    settings = gateway_settings.model_copy(
        update={"grpc_upstreams": {"inventory": f"127.0.0.1:{closed}"}, "role": "api"}
    )
    app: FastAPI = create_app(settings)
    async with LifespanManager(app, startup_timeout=30, shutdown_timeout=30):
        transport = httpx.ASGITransport(app=app, client=("203.0.113.8", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as c:
            yield c


async def test_with_inventory_down_the_answer_is_partial_with_staff(
    gateway_without_inventory: httpx.AsyncClient,
    as_user: AsUser,
    gateway_settings: GatewaySettings,
) -> None:
    headers = await as_user(roles=("store_manager",), stores=("SH01",))
    resp = await gateway_without_inventory.get(SUMMARY.format(store="SH01"), headers=headers)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["partial"] is True
    assert body["vehicles"] is None
    assert body["parts"] is None
    assert body["staff"]["by_role"]["store_manager"] >= 1
    assert {(u["section"], u["service"]) for u in body["unavailable"]} == {
        ("vehicles", "inventory"),
        ("parts", "inventory"),
    }
    for entry in body["unavailable"]:
        assert "inventory" in entry["reason"]
