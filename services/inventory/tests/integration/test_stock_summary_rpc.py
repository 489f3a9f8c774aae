"""gRPC GetVehicleStockSummary / GetPartsStockSummary: one store at a glance, as the gateway's
composed views read it; the same permission and store checks as the HTTP views."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import grpc
import httpx
import pytest
from fastapi import FastAPI

from marque.inventory.v1 import inventory_pb2 as inv
from marque.inventory.v1 import inventory_service_pb2 as svc
from marque.inventory.v1 import inventory_service_pb2_grpc
from marque_inventory.settings import InventorySettings
from marque_kit.auth import Principal, sign_principal
from marque_kit.rpc import client_channel

API = "/api/v1/inventory"
STORE = "SH01"


@pytest.fixture
async def stub(
    inventory_app: FastAPI, inventory_settings: InventorySettings
) -> AsyncIterator[inventory_service_pb2_grpc.InventoryServiceStub]:
    channel = client_channel(f"127.0.0.1:{inventory_settings.grpc_port}", deadline_seconds=20)
    async with channel:
        yield inventory_service_pb2_grpc.InventoryServiceStub(channel)


@pytest.fixture
def metadata(inventory_settings: InventorySettings) -> Callable[..., Any]:
    def make(role: str = "hq_admin", stores: tuple[str, ...] = ("*",)) -> Any:
        token = sign_principal(
            Principal(subject="gateway-user", roles=(role,), stores=stores),
            inventory_settings.internal_secret,
        )
        return (("x-marque-principal", token),)

    return make


async def test_the_vehicle_summary_agrees_with_the_http_stock_views(
    client: httpx.AsyncClient,
    as_hq: dict[str, str],
    stub: inventory_service_pb2_grpc.InventoryServiceStub,
    metadata: Callable[..., Any],
    new_vin: Callable[[], str],
) -> None:
    received = await client.post(
        f"{API}/vehicles",
        json={
            "vin": new_vin(),
            "store_id": STORE,
            "trim_code": "BYD-HAN-EV-610",
            "colour_code": "WHT",
            "model_year": 2026,
            "status": "in_stock",
            "arrived_on": "2025-01-02",
        },
        headers=as_hq,
    )
    assert received.status_code == 201, received.text
    summary = await stub.GetVehicleStockSummary(
        svc.GetVehicleStockSummaryRequest(store_id=STORE), metadata=metadata()
    )
    by_store = (await client.get(f"{API}/stock/by-store", headers=as_hq)).json()["items"]
    [expected] = [s for s in by_store if s["store_id"] == STORE]
    counts = {
        inv.VehicleStatus.Name(c.status).removeprefix("VEHICLE_STATUS_").lower(): c.count
        for c in summary.status_counts
    }
    assert counts == {status: n for status, n in expected["counts"].items() if n}
    assert sum(m.in_stock for m in summary.in_stock_by_model) == counts["in_stock"]
    ageing = (
        await client.get(f"{API}/stock/ageing", params={"store_id": STORE}, headers=as_hq)
    ).json()
    assert [(b.bucket, b.count, b.cost.amount_fen) for b in summary.age_buckets] == [
        (b["bucket"], b["count"], b["cost_fen"]) for b in ageing["buckets"]
    ]
    assert summary.oldest_vehicle_days == ageing["oldest"][0]["age_days"]
    assert summary.business_date == ageing["business_date"]


async def test_the_parts_summary_lists_what_is_short(
    client: httpx.AsyncClient,
    as_hq: dict[str, str],
    stub: inventory_service_pb2_grpc.InventoryServiceStub,
    metadata: Callable[..., Any],
) -> None:
    summary = await stub.GetPartsStockSummary(
        svc.GetPartsStockSummaryRequest(store_id=STORE), metadata=metadata()
    )
    stock = (
        await client.get(f"{API}/stores/{STORE}/parts", params={"limit": 200}, headers=as_hq)
    ).json()["items"]
    assert summary.sku_count == len(stock)
    below = [s for s in stock if s["below_reorder_point"]]
    assert summary.below_reorder_point_count == len(below)
    assert {p.part_number for p in summary.below_reorder_point} <= {s["part_number"] for s in below}
    assert summary.out_of_stock_count == len([s for s in stock if s["available"] <= 0])
    assert summary.stock_value.amount_fen >= 0


async def test_another_store_is_not_found_and_a_role_without_the_permission_is_refused(
    stub: inventory_service_pb2_grpc.InventoryServiceStub, metadata: Callable[..., Any]
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as elsewhere:
        await stub.GetVehicleStockSummary(
            svc.GetVehicleStockSummaryRequest(store_id=STORE),
            metadata=metadata("store_manager", ("HZ01",)),
        )
    assert elsewhere.value.code() is grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.aio.AioRpcError) as parts_elsewhere:
        await stub.GetPartsStockSummary(
            svc.GetPartsStockSummaryRequest(store_id=STORE),
            metadata=metadata("store_manager", ("HZ01",)),
        )
    assert parts_elsewhere.value.code() is grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await stub.GetVehicleStockSummary(
            svc.GetVehicleStockSummaryRequest(store_id=STORE),
            metadata=metadata("technician", (STORE,)),
        )
    assert refused.value.code() is grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.aio.AioRpcError) as unknown:
        await stub.GetPartsStockSummary(
            svc.GetPartsStockSummaryRequest(store_id="XX99"), metadata=metadata()
        )
    assert unknown.value.code() is grpc.StatusCode.NOT_FOUND
