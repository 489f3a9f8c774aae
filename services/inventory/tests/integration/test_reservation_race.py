"""64 concurrent reservers compete for 10 vehicles over gRPC: each vehicle is reserved at most
once, and the outbox events agree with the table."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable

import grpc
import httpx
from sqlalchemy import text

from marque.inventory.v1 import inventory_service_pb2 as svc
from marque.inventory.v1 import inventory_service_pb2_grpc
from marque_inventory.settings import InventorySettings
from marque_kit.auth import Principal, sign_principal
from marque_kit.rpc import client_channel


async def test_64_reservers_never_reserve_a_vehicle_twice(
    client: httpx.AsyncClient,
    as_hq: dict[str, str],
    new_vin: Callable[[], str],
    inventory_settings: InventorySettings,
    inventory_app: object,
) -> None:
    vins = [new_vin() for _ in range(10)]
    for vin in vins:
        body = {
            "vin": vin,
            "store_id": "CD01",
            "trim_code": "BYD-SEAL-650",
            "colour_code": "BLU",
            "model_year": 2026,
            "status": "in_stock",
            "arrived_on": "2026-11-01",
        }
        created = await client.post("/api/v1/inventory/vehicles", json=body, headers=as_hq)
        assert created.status_code == 201, created.text
    token = sign_principal(
        Principal(subject="sales", kind="service", roles=("hq_admin",), stores=("*",)),
        inventory_settings.internal_secret,
    )
    outcomes: dict[str, int] = {}
    rng = random.Random(64)

    async def reserver(n: int, stub: inventory_service_pb2_grpc.InventoryServiceStub) -> None:
        for attempt in range(5):
            vin = rng.choice(vins)
            try:
                await stub.ReserveVehicle(
                    svc.ReserveVehicleRequest(
                        request_id=f"race-{n}-{attempt}",
                        vin=vin,
                        order_ref=f"SO-RACE-{n}",
                        store_id="CD01",
                    ),
                    metadata=(("x-marque-principal", token),),
                )
                outcomes["ok"] = outcomes.get("ok", 0) + 1
            except grpc.aio.AioRpcError as exc:
                code = exc.code().name
                outcomes[code] = outcomes.get(code, 0) + 1

    async with client_channel(f"127.0.0.1:{inventory_settings.grpc_port}") as channel:
        stub = inventory_service_pb2_grpc.InventoryServiceStub(channel)
        await asyncio.gather(*(reserver(n, stub) for n in range(64)))

    assert outcomes.get("ok", 0) == 10, outcomes
    assert set(outcomes) <= {"ok", "FAILED_PRECONDITION"}, outcomes
    async with inventory_app.state.inventory.db.session() as session:  # type: ignore[attr-defined]
        rows = (
            await session.execute(
                text("SELECT vin, status, order_ref FROM vehicles WHERE vin = ANY(:vins)"),
                {"vins": vins},
            )
        ).all()
        events = (
            await session.execute(
                text(
                    "SELECT aggregate_id, envelope->'data'->>'orderRef' FROM outbox "
                    "WHERE aggregate_id = ANY(:vins) "
                    "AND event_type = 'marque.inventory.v1.VehicleReserved'"
                ),
                {"vins": vins},
            )
        ).all()
    assert all(status == "reserved" for _, status, _ in rows)
    assert sorted(events) == sorted((vin, order) for vin, _, order in rows)
