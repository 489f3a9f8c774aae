"""Journey: the OEM allocates vehicles to a store (CSV batch) and they arrive.

The gateway does not exist yet, so the journeys call the inventory's own public HTTP API with the
signed principal the gateway would forward; once it exists, these move behind it unchanged.
"""

from __future__ import annotations

from datetime import date

import httpx
import pytest
from e2e_support import (
    Caller,
    EventTap,
    envelope_keys,
    fixture_for,
    new_vin,
)

from marque.inventory.v1 import events_pb2
from marque_kit.testing.vins import with_wrong_check_digit

pytestmark = pytest.mark.e2e

BATCH = "/api/v1/inventory/vehicles/batch"


def allocation_csv(rows: list[tuple[str, str]]) -> bytes:
    lines = ["vin,store_id,trim_code,colour_code,model_year"]
    lines += [f"{vin},SH01,{trim},GRY,2026" for vin, trim in rows]
    return ("\n".join(lines) + "\n").encode()


async def upload(
    http: httpx.AsyncClient, who: Caller, content: bytes, *, partial: bool
) -> httpx.Response:
    return await http.post(
        BATCH,
        headers=who.headers,
        params={"partial": "true"} if partial else {},
        files={"file": ("allocation-2026-03.csv", content, "text/csv")},
    )


async def test_oem_allocation_with_a_bad_vin_applies_nothing_then_partially_then_cars_arrive(
    http: httpx.AsyncClient, sh01_manager: Caller, event_tap: EventTap
) -> None:
    good = [new_vin("LRW"), new_vin("LRW"), new_vin("LRW")]
    bad = with_wrong_check_digit(new_vin("LRW"))
    content = allocation_csv(
        [
            (good[0], "TSL-MY-LR"),
            (good[1], "TSL-MY-RWD"),
            (bad, "TSL-MY-LR"),
            (good[2], "TSL-M3-LR"),
        ]
    )

    # All or nothing by default: the per-row report names the bad row, nothing is applied.
    refused = await upload(http, sh01_manager, content, partial=False)
    assert refused.status_code == 422, refused.text
    report = refused.json()
    assert (report["applied"], report["rejected"]) == (0, 1)
    failed = [row for row in report["rows"] if not row["ok"]]
    assert [(row["row"], row["vin"]) for row in failed] == [(4, bad)]  # line 1 is the header
    assert "check digit" in failed[0]["error"]
    assert {"field": "vin", "rule": "check_digit"}.items() <= failed[0]["errors"][0].items()
    for vin in good:
        missing = await http.get(f"/api/v1/inventory/vehicles/{vin}", headers=sh01_manager.headers)
        assert missing.status_code == 404, f"{vin} was applied by a refused batch"

    # The same file with partial=true: the good rows land, the bad one is reported again.
    applied = await upload(http, sh01_manager, content, partial=True)
    assert applied.status_code == 207, applied.text
    report = applied.json()
    assert (report["applied"], report["rejected"], report["partial"]) == (3, 1, True)
    assert [row["row"] for row in report["rows"] if not row["ok"]] == [4]
    etags = {}
    for vin in good:
        got = await http.get(f"/api/v1/inventory/vehicles/{vin}", headers=sh01_manager.headers)
        assert got.status_code == 200
        assert (got.json()["status"], got.json()["store_id"]) == ("on_order", "SH01")
        etags[vin] = got.headers["ETag"]

    # The cars reach the store: arrive needs If-Match with the version the clerk read.
    arrive = f"/api/v1/inventory/vehicles/{good[0]}/arrive"
    unconditional = await http.post(arrive, headers=sh01_manager.headers, json={})
    assert unconditional.status_code == 428
    stale = await http.post(arrive, headers={**sh01_manager.headers, "If-Match": '"9"'}, json={})
    assert stale.status_code == 412
    assert stale.headers["content-type"].startswith("application/problem+json")
    for vin in good[:2]:
        arrived = await http.post(
            f"/api/v1/inventory/vehicles/{vin}/arrive",
            headers={**sh01_manager.headers, "If-Match": etags[vin]},
            json={},
        )
        assert arrived.status_code == 200, arrived.text
        assert arrived.json()["status"] == "in_stock"
        assert arrived.json()["arrived_on"] == date.today().isoformat()
        assert arrived.headers["ETag"] == '"2"'

    for vin in good[:2]:
        events = await event_tap.wait_for_names(vin, "VehicleRegistered", "VehicleArrived")
        assert [(o.name, o.envelope.seq) for o in events] == [
            ("VehicleRegistered", 1),
            ("VehicleArrived", 2),
        ]
        assert [o.routing_key for o in events] == [
            "inventory.vehicle.registered",
            "inventory.vehicle.arrived",
        ]
        arrived_event = events[1].envelope.parse(events_pb2.VehicleArrived)
        assert arrived_event.vehicle.arrived_on == date.today().isoformat()
        assert arrived_event.vehicle.brand == "TESLA"
        for observed in events:
            assert envelope_keys(observed.body) == envelope_keys(
                fixture_for(observed.envelope.type)
            )
    # The refused batch published nothing; the bad VIN never became a vehicle.
    registered = await event_tap.wait_for_names(good[2], "VehicleRegistered")
    assert [o.name for o in registered] == ["VehicleRegistered"]
    assert event_tap.about(bad) == []
