"""Inventory's events through the real broker into the books: finance's `finance.from.inventory`
consumer posts each stock movement once, moves a posting out of a closed month, parks what it can
never post and keeps going, and books a transfer in both stores so the group nets to zero.

Events are inventory's golden fixtures with fresh ids, stores and VINs, published on this run's
`marque.inventory` exchange; the journal is read back through finance's API.
"""

from __future__ import annotations

import asyncio
import copy
import json
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from marque_kit import metrics
from marque_kit.testing.events import EventBus

FIXTURES = Path(__file__).resolve().parents[4] / "tests" / "contract" / "fixtures"
PREFIX = "marque.inventory.v1."
KEYS = {
    "VehicleArrived": "inventory.vehicle.arrived",
    "VehicleDelivered": "inventory.vehicle.delivered",
    "PartsReceived": "inventory.part.received",
    "PartsConsumed": "inventory.part.consumed",
    "TransferShipped": "inventory.transfer.shipped",
    "TransferReceived": "inventory.transfer.received",
}
JOURNAL = "/api/v1/finance/journal"


def unique(prefix: str) -> str:
    return prefix + uuid.uuid4().hex[:4].upper()


def fresh_vin() -> str:
    return "LGXCE4CB" + uuid.uuid4().hex[:9].upper()


def event(name: str, store: str, **data: Any) -> dict[str, Any]:
    """Inventory's golden fixture of `name` with a fresh id, the given store, and data changes
    (top-level data fields; `vehicle`/`transfer` dicts are merged into the snapshot)."""
    body: dict[str, Any] = json.loads((FIXTURES / f"{PREFIX}{name}.json").read_text("utf-8"))
    body = copy.deepcopy(body)
    body["id"] = str(uuid.uuid4())
    body["marquestore"] = store
    for key, value in data.items():
        if isinstance(value, dict) and isinstance(body["data"].get(key), dict):
            body["data"][key].update(value)
        else:
            body["data"][key] = value
    for snapshot in ("vehicle",):
        if snapshot in body["data"]:
            body["data"][snapshot].setdefault("storeId", store)
    return body


async def publish(bus: EventBus, body: dict[str, Any], name: str | None = None) -> None:
    kind = name or body["type"].removeprefix(PREFIX)
    await bus.publish("inventory", KEYS[kind], json.dumps(body).encode())


async def entries(
    client: httpx.AsyncClient, headers: dict[str, str], **params: str
) -> list[dict[str, Any]]:
    response = await client.get(JOURNAL, params={"limit": "200", **params}, headers=headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def wait_for_entries(
    client: httpx.AsyncClient, headers: dict[str, str], count: int, **params: str
) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 30
    while True:
        found = await entries(client, headers, **params)
        if len(found) >= count:
            return found
        assert time.monotonic() < deadline, f"only {len(found)} of {count} entries for {params}"
        await asyncio.sleep(0.1)


def consumed(event_type: str, outcome: str) -> float:
    counter = metrics.events_consumed.labels("finance", "finance", event_type, outcome)
    return float(counter._value.get())


def balances(found: list[dict[str, Any]]) -> Counter[tuple[str, str]]:
    """(store, account) -> debits minus credits over the given entries."""
    out: Counter[tuple[str, str]] = Counter()
    for entry in found:
        for line in entry["lines"]:
            out[(entry["store_id"], line["account"])] += line["debit_fen"] - line["credit_fen"]
    return out


async def ready(bus: EventBus) -> EventBus:
    await bus.wait_for_intake("inventory", consumer="finance")
    return bus


async def test_a_vehicle_arrival_fed_twice_posts_once_with_vat_and_dimensions(
    finance_app: FastAPI, client: httpx.AsyncClient, as_hq: dict[str, str], event_bus: EventBus
) -> None:
    bus = await ready(event_bus)
    store, vin = unique("FA"), fresh_vin()
    body = event(
        "VehicleArrived",
        store,
        vehicle={"storeId": store, "vin": vin, "arrivedOn": "2026-10-12"},
    )
    duplicates_before = consumed(PREFIX + "VehicleArrived", "duplicate")
    await publish(bus, body)
    await publish(bus, body)

    (entry,) = await wait_for_entries(client, as_hq, 1, store_id=store, source_id=vin)
    deadline = time.monotonic() + 30
    while consumed(PREFIX + "VehicleArrived", "duplicate") < duplicates_before + 1:
        assert time.monotonic() < deadline, "the second delivery was never handled"
        await asyncio.sleep(0.1)
    assert len(await entries(client, as_hq, store_id=store)) == 1

    assert (entry["rule"], entry["source_type"], entry["source_event_id"]) == (
        "vehicle_received",
        PREFIX + "VehicleArrived",
        body["id"],
    )
    assert (entry["entry_date"], entry["period"]) == ("2026-10-12", "2026-10")
    lines = {line["account"]: line for line in entry["lines"]}
    assert lines["1405.01"]["debit_fen"] == 19_100_000
    assert lines["2221.01"]["debit_fen"] == 2_483_000
    assert lines["2202.01"]["credit_fen"] == 21_583_000
    assert lines["2202.01"]["party"] == "OEM:BYD"
    for line in entry["lines"]:
        assert (line["business_line"], line["model_code"], line["vin"]) == (
            "new_vehicles",
            "BYD-HAN",
            vin,
        )

    # The OEM's payable opened beside the entry, once, for the same gross and party.
    payables = await client.get(
        "/api/v1/finance/payables", params={"store_id": store}, headers=as_hq
    )
    assert payables.status_code == 200, payables.text
    (payable,) = payables.json()["items"]
    assert (payable["supplier"], payable["reference"], payable["gross_fen"]) == (
        lines["2202.01"]["party"],
        vin,
        21_583_000,
    )
    assert (payable["net_fen"], payable["vat_fen"]) == (19_100_000, 2_483_000)


async def test_each_stock_event_posts_its_rule_in_the_store_named_by_the_data(
    client: httpx.AsyncClient, as_hq: dict[str, str], event_bus: EventBus
) -> None:
    bus = await ready(event_bus)
    store, vin, ro = unique("FE"), fresh_vin(), unique("RO-")
    await publish(bus, event("VehicleArrived", "OTHER", vehicle={"storeId": store, "vin": vin}))
    await publish(bus, event("PartsReceived", store, storeId=store, reference=unique("PO-")))
    await publish(bus, event("PartsConsumed", store, storeId=store, reference=ro))
    await publish(bus, event("VehicleDelivered", store, vehicle={"storeId": store, "vin": vin}))

    found = await wait_for_entries(client, as_hq, 4, store_id=store)
    assert sorted(e["rule"] for e in found) == [
        "parts_consumed",
        "parts_received",
        "vehicle_delivered",
        "vehicle_received",
    ]
    totals = balances(found)
    # Bought and sold at the same cost: nothing is left in vehicle stock.
    assert totals[(store, "1405.01")] == 0
    assert totals[(store, "6401.01")] == 19_100_000
    # 24 parts received at 52.00, one issued at 51.50 (moving average) to the repair order.
    assert totals[(store, "1405.03")] == 24 * 5_200 - 5_150
    assert totals[(store, "6401.03")] == 5_150
    assert totals[(store, "2202.02")] == -(24 * 5_200 + 16_224)
    (issue,) = [e for e in found if e["rule"] == "parts_consumed"]
    assert issue["source_id"] == ro and {li["memo"] for li in issue["lines"]} == {ro}
    # Occurred 2026-03-02T01:30Z is 09:30 in Shanghai: the same business day.
    assert issue["original_date"] == "2026-03-02"


async def test_an_event_dated_in_a_closed_period_lands_in_the_next_open_one(
    client: httpx.AsyncClient, as_hq: dict[str, str], event_bus: EventBus
) -> None:
    bus = await ready(event_bus)
    store, vin = unique("FC"), fresh_vin()
    closed = await client.post(
        f"/api/v1/finance/stores/{store}/periods/2026-09/close", headers=as_hq
    )
    assert closed.status_code == 200, closed.text
    body = event(
        "VehicleArrived", store, vehicle={"storeId": store, "vin": vin, "arrivedOn": "2026-09-20"}
    )
    await publish(bus, body)

    (entry,) = await wait_for_entries(client, as_hq, 1, store_id=store)
    assert (entry["period"], entry["entry_date"], entry["original_date"]) == (
        "2026-10",
        "2026-10-01",
        "2026-09-20",
    )
    assert "period 2026-09 is closed" in entry["note"]
    assert await entries(client, as_hq, store_id=store, period="2026-09") == []


async def test_a_malformed_event_is_parked_and_the_consumer_keeps_posting(
    client: httpx.AsyncClient, as_hq: dict[str, str], event_bus: EventBus
) -> None:
    bus = await ready(event_bus)
    store = unique("FM")
    parked_before = await bus.broker.parked_count("finance", "inventory")

    no_cost = event("VehicleArrived", store, vehicle={"storeId": store, "vin": fresh_vin()})
    del no_cost["data"]["vehicle"]["cost"]
    dollars = event(
        "VehicleDelivered",
        store,
        vehicle={"storeId": store, "cost": {"amountFen": "100", "currencyCode": "USD"}},
    )
    not_a_number = event("PartsConsumed", store, storeId=store)
    not_a_number["data"]["lines"][0]["quantity"] = "many"
    await publish(bus, no_cost)
    await publish(bus, dollars)
    await publish(bus, not_a_number)
    await bus.publish("inventory", KEYS["PartsReceived"], b"{not json")
    good_vin = fresh_vin()
    await publish(bus, event("VehicleArrived", store, vehicle={"storeId": store, "vin": good_vin}))

    (entry,) = await wait_for_entries(client, as_hq, 1, store_id=store)
    assert entry["source_id"] == good_vin
    deadline = time.monotonic() + 30
    while await bus.broker.parked_count("finance", "inventory") < parked_before + 4:
        assert time.monotonic() < deadline, "the malformed events were not parked"
        await asyncio.sleep(0.1)
    assert len(await entries(client, as_hq, store_id=store)) == 1


async def test_a_transfer_shipped_and_received_books_both_stores_and_nets_to_zero(
    client: httpx.AsyncClient, as_hq: dict[str, str], event_bus: EventBus
) -> None:
    bus = await ready(event_bus)
    sender, receiver = unique("FS"), unique("FR")
    vin, transfer_id = fresh_vin(), unique("TR-")
    ends = {"fromStoreId": sender, "toStoreId": receiver, "transferId": transfer_id}
    shipped = event("TransferShipped", sender, transfer={**ends, "vin": vin})
    await publish(bus, shipped)
    await publish(bus, shipped)  # fed twice: still one pair of entries

    pair = await wait_for_entries(client, as_hq, 2, source_id=transfer_id)
    assert sorted((e["store_id"], e["rule"]) for e in pair) == sorted(
        [(sender, "transfer_shipped_out"), (receiver, "transfer_shipped_in")]
    )
    in_transit = balances(pair)
    assert in_transit[(receiver, "1402")] == 19_100_000
    assert in_transit[(sender, "1901")] + in_transit[(receiver, "1901")] == 0
    for e in pair:
        (inter,) = [li for li in e["lines"] if li["account"] == "1901"]
        assert inter["counterparty_store_id"] == (receiver if e["store_id"] == sender else sender)

    # The receipt: the same transfer, now received (the envelope names the sender, as inventory's).
    received = copy.deepcopy(shipped)
    received["id"] = str(uuid.uuid4())
    received["type"] = PREFIX + "TransferReceived"
    received["data"]["transfer"]["status"] = "TRANSFER_STATUS_RECEIVED"
    await publish(bus, received)

    found = await wait_for_entries(client, as_hq, 3, source_id=transfer_id)
    totals = balances(found)
    for store in (sender, receiver):
        mine = [li for e in found if e["store_id"] == store for li in e["lines"]]
        assert sum(li["debit_fen"] for li in mine) == sum(li["credit_fen"] for li in mine)
    assert totals[(sender, "1901")] + totals[(receiver, "1901")] == 0
    assert totals[(sender, "1901")] == 19_100_000
    assert totals[(receiver, "1402")] == 0
    assert totals[(receiver, "1405.01")] == 19_100_000
    assert totals[(sender, "1405.01")] == -19_100_000
    assert not [li for e in found for li in e["lines"] if li["account"].startswith("2221")]

    # A parts transfer between the same stores, from inventory's parts fixture.
    parts_id = unique("TR-")
    parts_ends = {"fromStoreId": sender, "toStoreId": receiver, "transferId": parts_id}
    parts_received = event("TransferReceived", sender, transfer=parts_ends)
    parts_shipped = copy.deepcopy(parts_received)
    parts_shipped["id"] = str(uuid.uuid4())
    parts_shipped["type"] = PREFIX + "TransferShipped"
    # Received before shipped: out of order, the books still end where they should.
    await publish(bus, parts_received)
    await publish(bus, parts_shipped)
    parts = await wait_for_entries(client, as_hq, 3, source_id=parts_id)
    value = 12 * 5_200 + 20 * 29_000
    totals = balances(parts)
    assert totals[(receiver, "1405.03")] == value and totals[(sender, "1405.03")] == -value
    assert totals[(receiver, "1402")] == 0
    assert totals[(sender, "1901")] == -totals[(receiver, "1901")] == value
