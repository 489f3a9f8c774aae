"""Vehicles over HTTP against the real database: receive, VIN rules, scoping, If-Match."""

from __future__ import annotations

from collections.abc import Callable

import httpx


async def test_received_vehicle_can_be_read_back(
    client: httpx.AsyncClient, as_hq: dict[str, str], new_vin: Callable[[], str]
) -> None:
    vin = new_vin()
    body = {"vin": vin, "store_id": "SH01", "trim_code": "TSL-MY-LR", "colour_code": "WHT", "model_year": 2026}
    created = await client.post("/api/v1/inventory/vehicles", json=body, headers=as_hq)
    assert created.status_code == 201, created.text
    assert created.json()["status"] == "on_order"
    read = await client.get(f"/api/v1/inventory/vehicles/{vin}", headers=as_hq)
    assert read.json()["cost_fen"] == 281_000_00
    assert read.headers["ETag"] == '"1"'
