"""Cross-store transfers (调拨) over HTTP against the real database: the saga step by step (no
broker needed), its compensations, who may take each step, and what lands in the outbox."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlmodel import col

from marque_inventory.domain.parts import PartStock
from marque_inventory.models import PartStockRow, StockMovementRow, TransferRow
from marque_inventory.transfer_service import DbTransferPorts
from marque_kit.tables import outbox

TRANSFERS = "/api/v1/inventory/transfers"
VEHICLES = "/api/v1/inventory/vehicles"
TRIM, COLOUR = "TSL-MY-LR", "WHT"  # marque_inventory.demo_data: dealer cost 281,000 yuan
TRIM_COST_FEN = 281_000_00
ARRIVED = date(2026, 1, 5)

Headers = dict[str, str]
AsStore = Callable[..., Headers]


# --- helpers -----------------------------------------------------------------------------------


async def in_stock_vehicle(
    client: httpx.AsyncClient, as_hq: Headers, vin: str, store_id: str
) -> dict[str, Any]:
    body = {
        "vin": vin,
        "store_id": store_id,
        "trim_code": TRIM,
        "colour_code": COLOUR,
        "model_year": 2026,
        "status": "in_stock",
        "arrived_on": ARRIVED.isoformat(),
    }
    created = await client.post(VEHICLES, json=body, headers=as_hq)
    assert created.status_code == 201, created.text
    return dict(created.json())


async def ask_for_vehicle(
    client: httpx.AsyncClient, headers: Headers, vin: str, from_store: str, to_store: str
) -> httpx.Response:
    body = {
        "kind": "vehicle",
        "from_store_id": from_store,
        "to_store_id": to_store,
        "vin": vin,
        "reason": "customer wants this colour",
    }
    return await client.post(TRANSFERS, json=body, headers=headers)


async def take_step(
    client: httpx.AsyncClient,
    headers: Headers,
    transfer: dict[str, Any],
    step: str,
    body: dict[str, Any] | None = None,
    version: int | None = None,
) -> httpx.Response:
    if_match = {"If-Match": f'"{transfer["version"] if version is None else version}"'}
    return await client.post(
        f"{TRANSFERS}/{transfer['id']}/{step}", json=body, headers={**headers, **if_match}
    )


async def ok_step(
    client: httpx.AsyncClient,
    headers: Headers,
    transfer: dict[str, Any],
    step: str,
    body: dict[str, Any] | None = None,
) -> dict[str, Any]:
    answer = await take_step(client, headers, transfer, step, body)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


async def vehicle(client: httpx.AsyncClient, as_hq: Headers, vin: str) -> dict[str, Any]:
    read = await client.get(f"{VEHICLES}/{vin}", headers=as_hq)
    assert read.status_code == 200, read.text
    return dict(read.json())


async def outbox_of(app: FastAPI, aggregate_id: str) -> list[tuple[str, dict[str, Any]]]:
    async with app.state.inventory.db.session() as session:
        rows = await session.execute(
            select(outbox.c.event_type, outbox.c.envelope)
            .where(outbox.c.aggregate_id == aggregate_id)
            .order_by(outbox.c.position)
        )
        return [(r.event_type, r.envelope) for r in rows]


async def stock_parts(
    app: FastAPI, store_id: str, part_number: str, qty: int, unit_cost_fen: int
) -> None:
    """Put parts on the shelf through the domain's receipt (part receipts belong to another
    module; the saga's own ports write the row and its ledger line)."""
    async with app.state.inventory.db.session() as session, session.begin():
        ports = DbTransferPorts(session)
        stock = await ports.load_part_stock(store_id, part_number) or PartStock.open(
            store_id, part_number
        )
        stock.receive(qty, unit_cost_fen, "test:receipt")
        await ports.save_part_stock(stock)


async def part_stock(app: FastAPI, store_id: str, part_number: str) -> PartStockRow | None:
    async with app.state.inventory.db.session() as session:
        return await session.get(PartStockRow, (store_id, part_number))


async def ledger(app: FastAPI, reference: str) -> list[tuple[str, str, str, int, int, int]]:
    async with app.state.inventory.db.session() as session:
        rows = await session.execute(
            select(
                col(StockMovementRow.store_id),
                col(StockMovementRow.part_number),
                col(StockMovementRow.kind),
                col(StockMovementRow.on_hand_delta),
                col(StockMovementRow.reserved_delta),
                col(StockMovementRow.unit_cost_fen),
            )
            .where(col(StockMovementRow.reference) == reference)
            .order_by(col(StockMovementRow.id))
        )
        return [tuple(r) for r in rows]


async def transfers_of_vin(app: FastAPI, vin: str) -> int:
    async with app.state.inventory.db.session() as session:
        count = await session.scalar(
            select(func.count()).select_from(TransferRow).where(col(TransferRow.vin) == vin)
        )
        return int(count or 0)


@pytest.fixture
async def requested(
    client: httpx.AsyncClient, as_hq: Headers, as_store: AsStore, new_vin: Callable[[], str]
) -> dict[str, Any]:
    """A vehicle in SH01 asked for by HZ01's stock clerk."""
    vin = new_vin()
    await in_stock_vehicle(client, as_hq, vin, "SH01")
    asked = await ask_for_vehicle(client, as_store("HZ01", "inventory_clerk"), vin, "SH01", "HZ01")
    assert asked.status_code == 201, asked.text
    return dict(asked.json())


# --- the happy paths ---------------------------------------------------------------------------


async def test_vehicle_transfer_moves_the_car_to_the_destination_and_tells_finance_its_cost(
    client: httpx.AsyncClient,
    as_hq: Headers,
    as_store: AsStore,
    new_vin: Callable[[], str],
    inventory_app: FastAPI,
) -> None:
    vin = new_vin()
    await in_stock_vehicle(client, as_hq, vin, "SH01")
    asked = await ask_for_vehicle(client, as_store("HZ01", "inventory_clerk"), vin, "SH01", "HZ01")
    assert asked.status_code == 201, asked.text
    transfer = asked.json()
    assert asked.headers["ETag"] == '"1"'
    assert (transfer["status"], transfer["kind"], transfer["vin"]) == ("requested", "vehicle", vin)
    held = await vehicle(client, as_hq, vin)
    assert (held["status"], held["transfer_id"], held["store_id"]) == (
        "in_transfer",
        transfer["id"],
        "SH01",
    )

    transfer = await ok_step(
        client, as_store("SH01", "store_manager", sub="mgr-sh"), transfer, "approve"
    )
    assert (transfer["status"], transfer["approved_by"]) == ("approved", "mgr-sh")
    transfer = await ok_step(client, as_store("SH01", "inventory_clerk"), transfer, "ship")
    assert transfer["status"] == "shipped"
    assert transfer["valuation"]["vehicle_cost_fen"] == TRIM_COST_FEN
    assert transfer["valuation"]["value_fen"] == TRIM_COST_FEN
    transfer = await ok_step(client, as_store("HZ01", "inventory_clerk"), transfer, "receive")
    assert transfer["status"] == "received"
    assert transfer["version"] == 4

    arrived = await vehicle(client, as_hq, vin)
    assert arrived["status"] == "in_stock"
    assert arrived["store_id"] == "HZ01"
    assert arrived["transfer_id"] is None
    assert arrived["arrived_on"] == transfer["received_on"] != ARRIVED.isoformat()

    events = await outbox_of(inventory_app, transfer["id"])
    assert [kind for kind, _ in events] == [
        "marque.inventory.v1.TransferRequested",
        "marque.inventory.v1.TransferApproved",
        "marque.inventory.v1.TransferShipped",
        "marque.inventory.v1.TransferReceived",
    ]
    assert [env["marqueseq"] for _, env in events] == [1, 2, 3, 4]
    for _, env in events[2:]:
        snapshot = env["data"]["transfer"]
        assert int(snapshot["vehicleCost"]["amountFen"]) == TRIM_COST_FEN
        assert (snapshot["fromStoreId"], snapshot["toStoreId"], snapshot["vin"]) == (
            "SH01",
            "HZ01",
            vin,
        )


async def test_parts_transfer_reserves_ships_and_receives_at_moving_average_cost(
    client: httpx.AsyncClient, as_store: AsStore, inventory_app: FastAPI
) -> None:
    part, source, dest = "COOLANT-4L", "WH01", "CD01"
    await stock_parts(inventory_app, source, part, 10, 100_00)
    await stock_parts(inventory_app, source, part, 10, 120_00)
    before = await part_stock(inventory_app, source, part)
    assert before is not None
    dest_before = await part_stock(inventory_app, dest, part)

    body = {
        "kind": "parts",
        "from_store_id": source,
        "to_store_id": dest,
        "lines": [{"part_number": part, "quantity": 4}, {"part_number": part, "quantity": 2}],
    }
    asked = await client.post(TRANSFERS, json=body, headers=as_store(dest, "inventory_clerk"))
    assert asked.status_code == 201, asked.text
    transfer = asked.json()
    assert transfer["lines"] == [{"part_number": part, "quantity": 6}]
    held = await part_stock(inventory_app, source, part)
    assert held is not None
    assert (held.on_hand, held.reserved) == (before.on_hand, before.reserved + 6)

    transfer = await ok_step(client, as_store(source, "store_manager"), transfer, "approve")
    transfer = await ok_step(client, as_store(source, "inventory_clerk"), transfer, "ship")
    average = before.average_unit_cost_fen
    assert transfer["valuation"]["lines"] == [
        {"part_number": part, "quantity": 6, "unit_cost_fen": average, "value_fen": 6 * average}
    ]
    assert transfer["valuation"]["vehicle_cost_fen"] is None
    shipped = await part_stock(inventory_app, source, part)
    assert shipped is not None
    assert (shipped.on_hand, shipped.reserved) == (before.on_hand - 6, before.reserved)

    transfer = await ok_step(client, as_store(dest, "inventory_clerk"), transfer, "receive")
    received = await part_stock(inventory_app, dest, part)
    assert received is not None
    held_before = dest_before.on_hand if dest_before else 0
    assert received.on_hand == held_before + 6
    if dest_before is None:
        assert received.average_unit_cost_fen == average

    reference = f"transfer:{transfer['id']}"
    assert await ledger(inventory_app, reference) == [
        (source, part, "reservation", 0, 6, average),
        (source, part, "transfer_out", -6, -6, average),
        (dest, part, "transfer_in", 6, 0, received.average_unit_cost_fen),
    ]
    events = await outbox_of(inventory_app, transfer["id"])
    shipped_event = next(env for kind, env in events if kind.endswith("TransferShipped"))
    line = shipped_event["data"]["transfer"]["partLines"][0]
    assert (line["partNumber"], line["quantity"], int(line["unitCost"]["amountFen"])) == (
        part,
        6,
        average,
    )


async def test_received_parts_blend_into_the_destination_moving_average(
    client: httpx.AsyncClient, as_hq: Headers, inventory_app: FastAPI
) -> None:
    part, source, dest = "LI-FILTER-AC", "GZ01", "BJ01"
    fresh = await part_stock(inventory_app, source, part) is None
    await stock_parts(inventory_app, source, part, 10, 100_00)
    await stock_parts(inventory_app, source, part, 30, 140_00)
    await stock_parts(inventory_app, dest, part, 5, 200_00)
    source_stock = await part_stock(inventory_app, source, part)
    dest_stock = await part_stock(inventory_app, dest, part)
    assert source_stock is not None and dest_stock is not None
    if fresh:  # (10 x 100 + 30 x 140) / 40 = 130 yuan a unit
        assert source_stock.average_unit_cost_fen == 130_00
    body = {
        "kind": "parts",
        "from_store_id": source,
        "to_store_id": dest,
        "lines": [{"part_number": part, "quantity": 5}],
    }
    asked = await client.post(TRANSFERS, json=body, headers=as_hq)
    assert asked.status_code == 201, asked.text
    transfer = await ok_step(client, as_hq, asked.json(), "approve")
    transfer = await ok_step(client, as_hq, transfer, "ship")
    unit = source_stock.average_unit_cost_fen
    assert transfer["valuation"]["value_fen"] == 5 * unit
    await ok_step(client, as_hq, transfer, "receive")

    received = await part_stock(inventory_app, dest, part)
    assert received is not None
    total = dest_stock.on_hand * dest_stock.average_unit_cost_fen + 5 * unit
    count = dest_stock.on_hand + 5
    assert received.on_hand == count
    assert received.average_unit_cost_fen == (2 * total + count) // (2 * count)  # half up


# --- compensations -----------------------------------------------------------------------------


async def test_rejected_vehicle_transfer_puts_the_car_back_on_sale_at_the_source(
    client: httpx.AsyncClient,
    as_hq: Headers,
    as_store: AsStore,
    requested: dict[str, Any],
    inventory_app: FastAPI,
) -> None:
    rejected = await ok_step(
        client, as_store("SH01", "sales_manager"), requested, "reject", {"reason": "sold locally"}
    )
    assert (rejected["status"], rejected["reason"]) == ("rejected", "sold locally")
    car = await vehicle(client, as_hq, requested["vin"])
    assert (car["status"], car["store_id"], car["transfer_id"]) == ("in_stock", "SH01", None)
    assert car["arrived_on"] == ARRIVED.isoformat()
    kinds = [kind for kind, _ in await outbox_of(inventory_app, requested["id"])]
    assert kinds[-1] == "marque.inventory.v1.TransferRejected"


async def test_cancelled_vehicle_transfer_puts_the_car_back_on_sale(
    client: httpx.AsyncClient, as_hq: Headers, as_store: AsStore, requested: dict[str, Any]
) -> None:
    approved = await ok_step(client, as_store("SH01"), requested, "approve")
    cancelled = await ok_step(
        client, as_store("HZ01", "inventory_clerk"), approved, "cancel", {"reason": "customer left"}
    )
    assert cancelled["status"] == "cancelled"
    car = await vehicle(client, as_hq, requested["vin"])
    assert (car["status"], car["store_id"], car["transfer_id"]) == ("in_stock", "SH01", None)


async def test_cancelled_parts_transfer_releases_the_reservation(
    client: httpx.AsyncClient, as_store: AsStore, inventory_app: FastAPI
) -> None:
    part, source, dest = "BYD-WIPER-F", "HZ01", "SH01"
    await stock_parts(inventory_app, source, part, 8, 95_00)
    before = await part_stock(inventory_app, source, part)
    assert before is not None
    body = {
        "kind": "parts",
        "from_store_id": source,
        "to_store_id": dest,
        "lines": [{"part_number": part, "quantity": 3}],
    }
    asked = await client.post(TRANSFERS, json=body, headers=as_store(dest, "inventory_clerk"))
    assert asked.status_code == 201, asked.text
    cancelled = await ok_step(
        client,
        as_store(dest, "inventory_clerk"),
        asked.json(),
        "cancel",
        {"reason": "found locally"},
    )
    assert cancelled["status"] == "cancelled"
    after = await part_stock(inventory_app, source, part)
    assert after is not None
    assert (after.on_hand, after.reserved) == (before.on_hand, before.reserved)
    kinds = [k for _, _, k, *_ in await ledger(inventory_app, f"transfer:{cancelled['id']}")]
    assert kinds == ["reservation", "release"]


async def test_parts_request_beyond_available_stock_is_refused_and_nothing_is_held(
    client: httpx.AsyncClient, as_hq: Headers, inventory_app: FastAPI
) -> None:
    part, source = "TIRE-22545R18", "CD01"
    await stock_parts(inventory_app, source, part, 2, 780_00)
    before = await part_stock(inventory_app, source, part)
    assert before is not None
    body = {
        "kind": "parts",
        "from_store_id": source,
        "to_store_id": "GZ01",
        "lines": [{"part_number": part, "quantity": before.on_hand + 1}],
    }
    refused = await client.post(TRANSFERS, json=body, headers=as_hq)
    assert refused.status_code == 409, refused.text
    after = await part_stock(inventory_app, source, part)
    assert after is not None and after.reserved == before.reserved


async def test_cancel_after_shipping_is_refused(
    client: httpx.AsyncClient, as_hq: Headers, requested: dict[str, Any]
) -> None:
    approved = await ok_step(client, as_hq, requested, "approve")
    shipped = await ok_step(client, as_hq, approved, "ship")
    refused = await take_step(client, as_hq, shipped, "cancel", {"reason": "too late"})
    assert refused.status_code == 409, refused.text
    car = await vehicle(client, as_hq, requested["vin"])
    assert car["status"] == "in_transfer"


# --- who may do what ---------------------------------------------------------------------------


async def test_sales_consultant_of_source_store_cannot_approve(
    client: httpx.AsyncClient, as_store: AsStore, requested: dict[str, Any]
) -> None:
    refused = await take_step(client, as_store("SH01", "sales_consultant"), requested, "approve")
    assert refused.status_code == 403, refused.text


async def test_manager_of_destination_store_only_cannot_approve(
    client: httpx.AsyncClient, as_hq: Headers, as_store: AsStore, requested: dict[str, Any]
) -> None:
    refused = await take_step(client, as_store("HZ01", "store_manager"), requested, "approve")
    assert refused.status_code == 403, refused.text
    unchanged = await client.get(f"{TRANSFERS}/{requested['id']}", headers=as_hq)
    assert unchanged.json()["status"] == "requested"


async def test_source_store_clerk_cannot_receive(
    client: httpx.AsyncClient, as_hq: Headers, as_store: AsStore, requested: dict[str, Any]
) -> None:
    shipped = await ok_step(
        client, as_hq, await ok_step(client, as_hq, requested, "approve"), "ship"
    )
    refused = await take_step(client, as_store("SH01", "inventory_clerk"), shipped, "receive")
    assert refused.status_code == 403, refused.text


async def test_request_needs_the_destination_store(
    client: httpx.AsyncClient, as_hq: Headers, as_store: AsStore, new_vin: Callable[[], str]
) -> None:
    vin = new_vin()
    await in_stock_vehicle(client, as_hq, vin, "SH01")
    refused = await ask_for_vehicle(
        client, as_store("BJ01", "inventory_clerk"), vin, "SH01", "HZ01"
    )
    assert refused.status_code == 403, refused.text
    assert (await vehicle(client, as_hq, vin))["status"] == "in_stock"


async def test_store_at_neither_end_does_not_see_the_transfer(
    client: httpx.AsyncClient, as_store: AsStore, requested: dict[str, Any]
) -> None:
    outsider = as_store("GZ01", "store_manager")
    assert (await client.get(f"{TRANSFERS}/{requested['id']}", headers=outsider)).status_code == 404
    assert (await take_step(client, outsider, requested, "approve")).status_code == 404
    listed = await client.get(TRANSFERS, params={"limit": 200}, headers=outsider)
    assert requested["id"] not in {t["id"] for t in listed.json()["items"]}
    for store in ("SH01", "HZ01"):
        seen = await client.get(
            f"{TRANSFERS}/{requested['id']}", headers=as_store(store, "inventory_clerk")
        )
        assert seen.status_code == 200, seen.text
        assert seen.headers["ETag"] == '"1"'


async def test_list_filters_by_store_status_and_kind(
    client: httpx.AsyncClient, as_store: AsStore, requested: dict[str, Any]
) -> None:
    clerk = as_store("HZ01", "inventory_clerk")
    params: dict[str, str | int] = {
        "store_id": "SH01",
        "status": "requested",
        "kind": "vehicle",
        "limit": 200,
    }
    listed = await client.get(TRANSFERS, params=params, headers=clerk)
    assert listed.status_code == 200, listed.text
    assert requested["id"] in {t["id"] for t in listed.json()["items"]}
    other = await client.get(TRANSFERS, params={**params, "kind": "parts"}, headers=clerk)
    assert requested["id"] not in {t["id"] for t in other.json()["items"]}


async def test_paging_walks_every_transfer_once(
    client: httpx.AsyncClient, as_hq: Headers, requested: dict[str, Any]
) -> None:
    seen: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, str | int] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await client.get(TRANSFERS, params=params, headers=as_hq)).json()
        seen += [t["id"] for t in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen))
    assert requested["id"] in seen


# --- conflicts, versions, idempotency ----------------------------------------------------------


async def test_request_for_a_reserved_vehicle_is_refused_and_nothing_is_saved(
    client: httpx.AsyncClient,
    as_hq: Headers,
    as_store: AsStore,
    new_vin: Callable[[], str],
    inventory_app: FastAPI,
) -> None:
    vin = new_vin()
    await in_stock_vehicle(client, as_hq, vin, "SH01")
    held = await client.post(
        f"{VEHICLES}/{vin}/reservation",
        json={"order_ref": "SO-SH01-9001", "request_id": f"r-{vin}"},
        headers=as_hq,
    )
    assert held.status_code == 200, held.text
    refused = await ask_for_vehicle(
        client, as_store("HZ01", "inventory_clerk"), vin, "SH01", "HZ01"
    )
    assert refused.status_code == 409, refused.text
    assert await transfers_of_vin(inventory_app, vin) == 0
    assert (await vehicle(client, as_hq, vin))["status"] == "reserved"


async def test_vehicle_in_transfer_cannot_be_reserved(
    client: httpx.AsyncClient, as_hq: Headers, as_store: AsStore, requested: dict[str, Any]
) -> None:
    for store in ("SH01", "HZ01"):
        refused = await client.post(
            f"{VEHICLES}/{requested['vin']}/reservation",
            json={"order_ref": f"SO-{store}-1", "request_id": f"r-{requested['id']}-{store}"},
            headers=as_store("SH01", "sales_consultant") if store == "SH01" else as_hq,
        )
        assert refused.status_code == 409, refused.text
    assert (await vehicle(client, as_hq, requested["vin"]))["status"] == "in_transfer"


async def test_stale_if_match_is_refused(
    client: httpx.AsyncClient, as_hq: Headers, requested: dict[str, Any]
) -> None:
    await ok_step(client, as_hq, requested, "approve")
    stale = await take_step(client, as_hq, requested, "ship", version=1)
    assert stale.status_code == 412, stale.text
    missing = await client.post(f"{TRANSFERS}/{requested['id']}/ship", headers=as_hq)
    assert missing.status_code == 428, missing.text


async def test_repeating_approve_changes_nothing_and_emits_nothing(
    client: httpx.AsyncClient, as_store: AsStore, requested: dict[str, Any], inventory_app: FastAPI
) -> None:
    manager = as_store("SH01")
    first = await ok_step(client, manager, requested, "approve")
    events = await outbox_of(inventory_app, requested["id"])
    again = await take_step(client, manager, requested, "approve")  # the retry carries If-Match 1
    assert again.status_code == 200, again.text
    assert again.json() == first
    assert again.headers["ETag"] == '"2"'
    assert await outbox_of(inventory_app, requested["id"]) == events


async def test_request_with_the_same_idempotency_key_creates_one_transfer(
    client: httpx.AsyncClient, as_hq: Headers, new_vin: Callable[[], str], inventory_app: FastAPI
) -> None:
    vin = new_vin()
    await in_stock_vehicle(client, as_hq, vin, "GZ01")
    headers = {**as_hq, "Idempotency-Key": f"transfer-{vin}"}
    body = {"kind": "vehicle", "from_store_id": "GZ01", "to_store_id": "BJ01", "vin": vin}
    first = await client.post(TRANSFERS, json=body, headers=headers)
    again = await client.post(TRANSFERS, json=body, headers=headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert await transfers_of_vin(inventory_app, vin) == 1


async def test_bad_requests_are_refused_with_a_reason(
    client: httpx.AsyncClient, as_hq: Headers, new_vin: Callable[[], str]
) -> None:
    same_store = {
        "kind": "vehicle",
        "from_store_id": "SH01",
        "to_store_id": "SH01",
        "vin": new_vin(),
    }
    assert (await client.post(TRANSFERS, json=same_store, headers=as_hq)).status_code == 422
    unknown_part = {
        "kind": "parts",
        "from_store_id": "SH01",
        "to_store_id": "HZ01",
        "lines": [{"part_number": "NO-SUCH-PART", "quantity": 1}],
    }
    assert (await client.post(TRANSFERS, json=unknown_part, headers=as_hq)).status_code == 422
    unknown_car = {
        "kind": "vehicle",
        "from_store_id": "SH01",
        "to_store_id": "HZ01",
        "vin": new_vin(),
    }
    assert (await client.post(TRANSFERS, json=unknown_car, headers=as_hq)).status_code == 404
