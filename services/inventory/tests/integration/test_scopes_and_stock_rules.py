"""Scopes over gRPC, and a new stay restarting stock-age alerts."""

from __future__ import annotations

from collections.abc import Callable

import grpc
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from marque.inventory.v1 import inventory_pb2 as inv
from marque.inventory.v1 import inventory_service_pb2 as svc
from marque.inventory.v1 import inventory_service_pb2_grpc
from marque_inventory.settings import InventorySettings
from marque_kit.auth import Principal, sign_principal
from marque_kit.rpc import client_channel


def metadata(settings: InventorySettings, role: str) -> tuple[tuple[str, str], ...]:
    token = sign_principal(
        Principal(subject=role, roles=(role,), stores=("SH01",)), settings.internal_secret
    )
    return (("x-marque-principal", token),)


async def test_a_role_without_the_scope_is_refused_over_grpc(
    inventory_app: FastAPI, inventory_settings: InventorySettings, new_vin: Callable[[], str]
) -> None:
    async with client_channel(f"127.0.0.1:{inventory_settings.grpc_port}") as channel:
        stub = inventory_service_pb2_grpc.InventoryServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stub.ReserveVehicle(
                svc.ReserveVehicleRequest(request_id="perm-1", vin=new_vin(), order_ref="SO-P"),
                metadata=metadata(inventory_settings, "finance"),
            )
        assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
        with pytest.raises(grpc.aio.AioRpcError) as refused_parts:
            await stub.ReserveParts(
                svc.ReservePartsRequest(
                    request_id="perm-2",
                    store_id="SH01",
                    reference="RO-PERM",
                    lines=[inv.PartLine(part_number="06L115562B", quantity=1)],
                ),
                metadata=metadata(inventory_settings, "finance"),
            )
        assert refused_parts.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_arrival_starts_stock_age_alerts_afresh(
    client: httpx.AsyncClient,
    as_hq: dict[str, str],
    new_vin: Callable[[], str],
    inventory_app: FastAPI,
) -> None:
    vin = new_vin()
    body = {
        "vin": vin,
        "store_id": "SH01",
        "trim_code": "VW-LAVIDA-15",
        "colour_code": "SLV",
        "model_year": 2026,
    }
    assert (await client.post("/api/v1/inventory/vehicles", json=body, headers=as_hq)).is_success
    db = inventory_app.state.inventory.db
    async with db.session() as session, session.begin():
        await session.execute(
            text("UPDATE vehicles SET age_alerted_days = 90 WHERE vin = :vin"), {"vin": vin}
        )
    arrived = await client.post(
        f"/api/v1/inventory/vehicles/{vin}/arrive",
        json={"arrived_on": "2026-11-25"},
        headers={**as_hq, "If-Match": '"1"'},
    )
    assert arrived.status_code == 200, arrived.text
    async with db.session() as session:
        alerted = await session.scalar(
            text("SELECT age_alerted_days FROM vehicles WHERE vin = :vin"), {"vin": vin}
        )
    assert alerted == 0


async def test_a_transfer_request_taking_a_store_below_safety_stock_raises_the_alert(
    client: httpx.AsyncClient,
    as_hq: dict[str, str],
    new_vin: Callable[[], str],
    inventory_app: FastAPI,
) -> None:
    vin = new_vin()
    body = {
        "vin": vin,
        "store_id": "GZ01",
        "trim_code": "LI-L6-PRO",
        "colour_code": "GRY",
        "model_year": 2026,
        "status": "in_stock",
        "arrived_on": "2026-11-01",
    }
    assert (await client.post("/api/v1/inventory/vehicles", json=body, headers=as_hq)).is_success
    db = inventory_app.state.inventory.db
    async with db.session() as session:
        in_stock = await session.scalar(
            text(
                "SELECT count(*) FROM vehicles "
                "WHERE store_id = 'GZ01' AND model_code = 'LI-L6' AND status = 'in_stock'"
            )
        )
        alerts_before = await session.scalar(
            text("SELECT count(*) FROM outbox WHERE routing_key LIKE '%safety_stock_breached'")
        )
    rules = "/api/v1/inventory/stores/GZ01/safety-stock"
    current = {r["model_code"]: r for r in (await client.get(rules, headers=as_hq)).json()["items"]}
    if_match = {"If-Match": f'"{current["LI-L6"]["version"]}"'} if "LI-L6" in current else {}
    rule = await client.put(
        rules, json={"model_code": "LI-L6", "minimum": in_stock}, headers={**as_hq, **if_match}
    )
    assert rule.is_success, rule.text

    asked = await client.post(
        "/api/v1/inventory/transfers",
        json={"kind": "vehicle", "from_store_id": "GZ01", "to_store_id": "CD01", "vin": vin},
        headers=as_hq,
    )
    assert asked.status_code == 201, asked.text
    async with db.session() as session:
        alert = (
            await session.execute(
                text(
                    "SELECT envelope->'data' FROM outbox "
                    "WHERE routing_key LIKE '%safety_stock_breached' ORDER BY position DESC LIMIT 1"
                )
            )
        ).scalar_one()
        alerts_after = await session.scalar(
            text("SELECT count(*) FROM outbox WHERE routing_key LIKE '%safety_stock_breached'")
        )
    assert alerts_after == alerts_before + 1
    assert (alert["storeId"], alert["modelCode"], alert.get("inStock", 0)) == (
        "GZ01",
        "LI-L6",
        in_stock - 1,
    )
