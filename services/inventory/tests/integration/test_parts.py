"""Parts (配件) over HTTP and gRPC against the real database: receipts, all-or-nothing holds, the
append-only ledger, reorder alerts in the outbox, store scoping, retry safety and races.

The database is shared by the whole run, so each test uses its own store/part pair where it can,
fresh references, and asserts changes relative to what it read first.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import grpc
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from marque.inventory.v1 import inventory_pb2 as inv
from marque.inventory.v1 import inventory_service_pb2 as svc
from marque.inventory.v1 import inventory_service_pb2_grpc
from marque_inventory import demo_data
from marque_inventory.settings import InventorySettings
from marque_kit.auth import Principal, sign_principal
from marque_kit.rpc import client_channel

API = "/api/v1/inventory"
PARTS = [p[0] for p in demo_data.PARTS]
STORES = [s[0] for s in demo_data.STORES]
OIL_FILTER_VW, ENGINE_OIL, OIL_FILTER_TOYOTA, AIR_FILTER, CABIN_FILTER = PARTS[:5]
BRAKE_PADS_VW, BRAKE_PADS_BMW, OIL_FILTER_BMW, CABIN_FILTER_TESLA, BATTERY_12V = PARTS[5:10]
WIPERS, CABIN_FILTER_LI = PARTS[10:12]
BJ, SH, GZ, CD, HZ, WH = STORES


def ref(prefix: str = "RO") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


async def read_stock(
    client: httpx.AsyncClient, headers: dict[str, str], store: str, part: str
) -> dict[str, Any]:
    got = await client.get(f"{API}/stores/{store}/parts/{part}", headers=headers)
    assert got.status_code == 200, got.text
    assert got.headers["ETag"] == f'"{got.json()["version"]}"'
    body: dict[str, Any] = got.json()
    return body


async def receive(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    store: str,
    part: str,
    quantity: int,
    *,
    unit_cost_fen: int | None = None,
) -> httpx.Response:
    body: dict[str, Any] = {"part_number": part, "quantity": quantity, "reference": ref("PO")}
    if unit_cost_fen is not None:
        body["unit_cost_fen"] = unit_cost_fen
    return await client.post(f"{API}/stores/{store}/parts/receipts", json=body, headers=headers)


async def apply(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    store: str,
    what: str,
    reference: str,
    lines: list[tuple[str, int]],
) -> httpx.Response:
    body = {
        "reference": reference,
        "lines": [{"part_number": p, "quantity": q} for p, q in lines],
    }
    return await client.post(f"{API}/stores/{store}/parts/{what}", json=body, headers=headers)


async def ledger(app: FastAPI, store: str, part: str) -> tuple[int, int, int]:
    """(rows, sum of on-hand deltas, sum of reserved deltas) of the part's ledger in the store."""
    async with app.state.inventory.db.session() as session:
        row = (
            await session.execute(
                text(
                    "SELECT count(*), coalesce(sum(on_hand_delta), 0), "
                    "coalesce(sum(reserved_delta), 0) FROM stock_movements "
                    "WHERE store_id = :s AND part_number = :p"
                ),
                {"s": store, "p": part},
            )
        ).one()
    return int(row[0]), int(row[1]), int(row[2])


async def movements_for(app: FastAPI, reference: str) -> int:
    async with app.state.inventory.db.session() as session:
        count = await session.scalar(
            text("SELECT count(*) FROM stock_movements WHERE reference = :r"), {"r": reference}
        )
    return int(count or 0)


@pytest.fixture
def rpc_metadata(inventory_settings: InventorySettings) -> Callable[..., tuple[tuple[str, str]]]:
    def make(stores: tuple[str, ...] = ("*",)) -> tuple[tuple[str, str]]:
        token = sign_principal(
            Principal(subject="aftersales", kind="service", roles=("hq_admin",), stores=stores),
            inventory_settings.internal_secret,
        )
        return (("x-marque-principal", token),)

    return make


@pytest.fixture
async def stub(
    inventory_app: FastAPI, inventory_settings: InventorySettings
) -> AsyncIterator[inventory_service_pb2_grpc.InventoryServiceStub]:
    channel = client_channel(f"127.0.0.1:{inventory_settings.grpc_port}", deadline_seconds=20)
    async with channel:
        yield inventory_service_pb2_grpc.InventoryServiceStub(channel)


def lines_pb(*lines: tuple[str, int]) -> list[inv.PartLine]:
    return [inv.PartLine(part_number=p, quantity=q) for p, q in lines]


# --- the parts journey ----------------------------------------------------------------------


async def test_receipt_then_reserve_consume_release_moves_stock_and_writes_the_ledger(
    client: httpx.AsyncClient, as_hq: dict[str, str], inventory_app: FastAPI
) -> None:
    before = await read_stock(client, as_hq, SH, OIL_FILTER_VW)
    received = await receive(client, as_hq, SH, OIL_FILTER_VW, 10, unit_cost_fen=52_00)
    assert received.status_code == 201, received.text
    receipt = received.json()
    assert receipt["movement"]["kind"] == "receipt"
    assert receipt["movement"]["on_hand_after"] == before["on_hand"] + 10
    assert receipt["stock"]["version"] == before["version"] + 1
    assert received.headers["ETag"] == f'"{before["version"] + 1}"'

    order = ref()
    reserved = await apply(client, as_hq, SH, "reservations", order, [(OIL_FILTER_VW, 4)])
    assert reserved.status_code == 201, reserved.text
    consumed = await apply(client, as_hq, SH, "consumptions", order, [(OIL_FILTER_VW, 3)])
    assert consumed.status_code == 201, consumed.text
    released = await apply(client, as_hq, SH, "releases", order, [(OIL_FILTER_VW, 1)])
    assert released.status_code == 201, released.text

    after = await read_stock(client, as_hq, SH, OIL_FILTER_VW)
    assert after["on_hand"] == before["on_hand"] + 10 - 3
    assert after["reserved"] == before["reserved"]
    assert after["available"] == after["on_hand"] - after["reserved"]
    assert after["version"] == before["version"] + 4
    issued = consumed.json()["movements"][0]
    assert issued["unit_cost_fen"] == after["average_unit_cost_fen"]

    page = await client.get(
        f"{API}/stores/{SH}/parts/{OIL_FILTER_VW}/movements",
        params={"reference": order},
        headers=as_hq,
    )
    assert page.status_code == 200, page.text
    rows = page.json()["items"]
    assert [(r["kind"], r["quantity"]) for r in rows] == [
        ("reservation", 4),
        ("consumption", 3),
        ("release", 1),
    ]
    assert [r["id"] for r in rows] == [
        reserved.json()["movements"][0]["id"],
        issued["id"],
        released.json()["movements"][0]["id"],
    ]
    assert (rows[-1]["on_hand_after"], rows[-1]["reserved_after"]) == (
        after["on_hand"],
        after["reserved"],
    )


async def test_ledger_deltas_add_up_to_the_stock_and_pages_by_id(
    client: httpx.AsyncClient, as_hq: dict[str, str], inventory_app: FastAPI
) -> None:
    for qty in (3, 4, 5):
        assert (await receive(client, as_hq, GZ, OIL_FILTER_BMW, qty)).status_code == 201
    order = ref()
    assert (
        await apply(client, as_hq, GZ, "reservations", order, [(OIL_FILTER_BMW, 6)])
    ).status_code == 201
    assert (
        await apply(client, as_hq, GZ, "consumptions", order, [(OIL_FILTER_BMW, 2)])
    ).status_code == 201

    stock = await read_stock(client, as_hq, GZ, OIL_FILTER_BMW)
    count, on_hand, reserved = await ledger(inventory_app, GZ, OIL_FILTER_BMW)
    assert (on_hand, reserved) == (stock["on_hand"], stock["reserved"])

    seen: list[int] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = await client.get(
            f"{API}/stores/{GZ}/parts/{OIL_FILTER_BMW}/movements", params=params, headers=as_hq
        )
        assert page.status_code == 200, page.text
        seen.extend(r["id"] for r in page.json()["items"])
        cursor = page.json()["next_cursor"]
        if not cursor:
            break
    assert len(seen) == count and seen == sorted(seen)


async def test_stock_never_goes_negative_over_reservation_is_refused_and_changes_nothing(
    client: httpx.AsyncClient, as_hq: dict[str, str], inventory_app: FastAPI
) -> None:
    assert (await receive(client, as_hq, SH, ENGINE_OIL, 2)).status_code == 201
    before = await read_stock(client, as_hq, SH, ENGINE_OIL)
    ledger_before = await ledger(inventory_app, SH, ENGINE_OIL)
    order = ref()
    wanted = before["available"] + 1

    refused = await apply(client, as_hq, SH, "reservations", order, [(ENGINE_OIL, wanted)])
    assert refused.status_code == 409, refused.text
    problem = refused.json()
    assert problem["title"] == "Insufficient stock"
    assert ENGINE_OIL in problem["detail"]
    assert problem["errors"] == [
        {
            "field": "quantity",
            "rule": "at_most_available",
            "part_number": ENGINE_OIL,
            "wanted": wanted,
            "available": before["available"],
        }
    ]
    over_consume = await apply(
        client, as_hq, SH, "consumptions", order, [(ENGINE_OIL, before["reserved"] + 1)]
    )
    assert over_consume.status_code == 409, over_consume.text

    assert await read_stock(client, as_hq, SH, ENGINE_OIL) == before
    assert await ledger(inventory_app, SH, ENGINE_OIL) == ledger_before
    assert await movements_for(inventory_app, order) == 0


async def test_one_short_line_applies_no_line_of_the_request(
    client: httpx.AsyncClient, as_hq: dict[str, str], inventory_app: FastAPI
) -> None:
    assert (await receive(client, as_hq, BJ, OIL_FILTER_TOYOTA, 5)).status_code == 201
    plenty = await read_stock(client, as_hq, BJ, OIL_FILTER_TOYOTA)
    short = await read_stock(client, as_hq, BJ, AIR_FILTER)
    ledgers = [await ledger(inventory_app, BJ, p) for p in (OIL_FILTER_TOYOTA, AIR_FILTER)]
    order = ref()

    refused = await apply(
        client,
        as_hq,
        BJ,
        "reservations",
        order,
        [(OIL_FILTER_TOYOTA, 2), (AIR_FILTER, short["available"] + 1)],
    )
    assert refused.status_code == 409, refused.text
    assert [e["part_number"] for e in refused.json()["errors"]] == [AIR_FILTER]

    unknown = await apply(
        client, as_hq, BJ, "reservations", order, [(OIL_FILTER_TOYOTA, 1), ("NO-SUCH-PART", 1)]
    )
    assert unknown.status_code == 422, unknown.text
    assert "NO-SUCH-PART" in unknown.json()["detail"]

    assert await read_stock(client, as_hq, BJ, OIL_FILTER_TOYOTA) == plenty
    assert await read_stock(client, as_hq, BJ, AIR_FILTER) == short
    assert [await ledger(inventory_app, BJ, p) for p in (OIL_FILTER_TOYOTA, AIR_FILTER)] == ledgers
    assert await movements_for(inventory_app, order) == 0


async def test_bad_input_is_a_clear_422_or_404_never_a_500(
    client: httpx.AsyncClient, as_hq: dict[str, str]
) -> None:
    unknown_part = await receive(client, as_hq, SH, "NO-SUCH-PART", 1)
    assert unknown_part.status_code == 422, unknown_part.text
    unknown_store = await receive(client, as_hq, "XX99", OIL_FILTER_VW, 1)
    assert unknown_store.status_code == 404, unknown_store.text
    zero = await apply(client, as_hq, SH, "reservations", ref(), [(OIL_FILTER_VW, 0)])
    assert zero.status_code == 422, zero.text
    no_lines = await apply(client, as_hq, SH, "reservations", ref(), [])
    assert no_lines.status_code == 422, no_lines.text
    missing = await client.get(f"{API}/stores/{SH}/parts/NO-SUCH-PART", headers=as_hq)
    assert missing.status_code == 404, missing.text


async def test_receipt_with_the_same_idempotency_key_is_applied_once(
    client: httpx.AsyncClient, as_hq: dict[str, str]
) -> None:
    before = await read_stock(client, as_hq, CD, WIPERS)
    body = {"part_number": WIPERS, "quantity": 6, "reference": ref("PO")}
    headers = {**as_hq, "Idempotency-Key": str(uuid.uuid4())}
    first = await client.post(f"{API}/stores/{CD}/parts/receipts", json=body, headers=headers)
    again = await client.post(f"{API}/stores/{CD}/parts/receipts", json=body, headers=headers)
    assert first.status_code == again.status_code == 201, again.text
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.json() == first.json()
    assert (await read_stock(client, as_hq, CD, WIPERS))["on_hand"] == before["on_hand"] + 6


# --- shelf settings and reorder alerts ------------------------------------------------------


async def reorder_alerts(app: FastAPI, store: str, part: str, after: int) -> int:
    async with app.state.inventory.db.session() as session:
        count = await session.scalar(
            text(
                "SELECT count(*) FROM outbox WHERE event_type = :t "
                "AND aggregate_id = :a AND position > :after"
            ),
            {
                "t": "marque.inventory.v1.PartBelowReorderPoint",
                "a": f"{store}/{part}",
                "after": after,
            },
        )
    return int(count or 0)


async def outbox_mark(app: FastAPI) -> int:
    async with app.state.inventory.db.session() as session:
        return int(await session.scalar(text("SELECT coalesce(max(position), 0) FROM outbox")) or 0)


async def test_reorder_alert_is_written_to_the_outbox_once_per_crossing(
    client: httpx.AsyncClient, as_hq: dict[str, str], inventory_app: FastAPI
) -> None:
    assert (await receive(client, as_hq, HZ, CABIN_FILTER, 5)).status_code == 201
    stock = await read_stock(client, as_hq, HZ, CABIN_FILTER)
    point = stock["available"] - 1  # one more held above this keeps it at the point; two cross it

    unversioned = await client.patch(
        f"{API}/stores/{HZ}/parts/{CABIN_FILTER}", json={"reorder_point": point}, headers=as_hq
    )
    assert unversioned.status_code == 428, unversioned.text
    stale = await client.patch(
        f"{API}/stores/{HZ}/parts/{CABIN_FILTER}",
        json={"reorder_point": point},
        headers={**as_hq, "If-Match": f'"{stock["version"] - 1}"'},
    )
    assert stale.status_code == 412, stale.text
    shelved = await client.patch(
        f"{API}/stores/{HZ}/parts/{CABIN_FILTER}",
        json={"reorder_point": point, "bin": "B-02-4"},
        headers={**as_hq, "If-Match": f'"{stock["version"]}"'},
    )
    assert shelved.status_code == 200, shelved.text
    assert shelved.json()["bin"] == "B-02-4" and shelved.json()["reorder_point"] == point
    assert shelved.headers["ETag"] == f'"{stock["version"] + 1}"'

    mark = await outbox_mark(inventory_app)
    order = ref()

    async def hold(what: str, qty: int) -> None:
        done = await apply(client, as_hq, HZ, what, order, [(CABIN_FILTER, qty)])
        assert done.status_code == 201, done.text

    await hold("reservations", 1)  # available == point: not below yet
    assert await reorder_alerts(inventory_app, HZ, CABIN_FILTER, mark) == 0
    await hold("reservations", 1)  # crosses below the point
    assert await reorder_alerts(inventory_app, HZ, CABIN_FILTER, mark) == 1
    await hold("reservations", 1)  # still below: no second alert
    assert await reorder_alerts(inventory_app, HZ, CABIN_FILTER, mark) == 1

    below = await client.get(
        f"{API}/stores/{HZ}/parts", params={"below_reorder": "true"}, headers=as_hq
    )
    assert below.status_code == 200, below.text
    assert CABIN_FILTER in [s["part_number"] for s in below.json()["items"]]
    assert all(s["below_reorder_point"] for s in below.json()["items"])

    await hold("releases", 3)  # back above
    await hold("reservations", 2)  # a new crossing: a new alert
    assert await reorder_alerts(inventory_app, HZ, CABIN_FILTER, mark) == 2


async def test_a_part_never_held_reads_as_zero_and_can_be_shelved_first(
    client: httpx.AsyncClient, as_hq: dict[str, str]
) -> None:
    unheld = await client.get(f"{API}/stores/{WH}/parts/{CABIN_FILTER_LI}", headers=as_hq)
    assert unheld.status_code == 200, unheld.text
    if unheld.json()["version"] == 0:
        assert (unheld.json()["on_hand"], unheld.json()["reserved"]) == (0, 0)
    shelved = await client.patch(
        f"{API}/stores/{WH}/parts/{CABIN_FILTER_LI}",
        json={"bin": "C-01-1"},
        headers={**as_hq, "If-Match": unheld.headers["ETag"]},
    )
    assert shelved.status_code == 200, shelved.text
    assert shelved.json()["version"] == unheld.json()["version"] + 1


async def test_catalog_lists_every_part_across_pages(
    client: httpx.AsyncClient, as_hq: dict[str, str]
) -> None:
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 4}
        if cursor:
            params["cursor"] = cursor
        page = await client.get(f"{API}/parts", params=params, headers=as_hq)
        assert page.status_code == 200, page.text
        seen.extend(p["part_number"] for p in page.json()["items"])
        cursor = page.json()["next_cursor"]
        if not cursor:
            break
    assert set(PARTS) <= set(seen) and len(seen) == len(set(seen))
    found = await client.get(f"{API}/parts", params={"q": "brake"}, headers=as_hq)
    assert {p["part_number"] for p in found.json()["items"]} >= {BRAKE_PADS_VW, BRAKE_PADS_BMW}


# --- who may see what -----------------------------------------------------------------------


async def test_another_stores_parts_answer_404_over_http_and_grpc(
    client: httpx.AsyncClient,
    as_store: Callable[..., dict[str, str]],
    stub: inventory_service_pb2_grpc.InventoryServiceStub,
    rpc_metadata: Callable[..., tuple[tuple[str, str]]],
) -> None:
    clerk = as_store(SH, role="parts_clerk")
    own = await client.get(f"{API}/stores/{SH}/parts", headers=clerk)
    assert own.status_code == 200, own.text
    for response in (
        await client.get(f"{API}/stores/{BJ}/parts", headers=clerk),
        await client.get(f"{API}/stores/{BJ}/parts/{OIL_FILTER_VW}", headers=clerk),
        await client.get(f"{API}/stores/{BJ}/parts/{OIL_FILTER_VW}/movements", headers=clerk),
        await receive(client, clerk, BJ, OIL_FILTER_VW, 1),
        await apply(client, clerk, BJ, "reservations", ref(), [(OIL_FILTER_VW, 1)]),
    ):
        assert response.status_code == 404, response.text

    advisor = as_store(SH, role="service_advisor")
    assert (await client.get(f"{API}/stores/{SH}/parts", headers=advisor)).status_code == 200
    assert (await receive(client, advisor, SH, OIL_FILTER_VW, 1)).status_code == 403

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await stub.ReserveParts(
            svc.ReservePartsRequest(
                request_id=ref("REQ"),
                store_id=BJ,
                reference=ref(),
                lines=lines_pb((OIL_FILTER_VW, 1)),
            ),
            metadata=rpc_metadata((SH,)),
        )
    assert refused.value.code() is grpc.StatusCode.NOT_FOUND


# --- gRPC: retry safety, stock levels, races ------------------------------------------------


async def test_same_grpc_request_id_twice_is_applied_once(
    client: httpx.AsyncClient,
    as_hq: dict[str, str],
    inventory_app: FastAPI,
    stub: inventory_service_pb2_grpc.InventoryServiceStub,
    rpc_metadata: Callable[..., tuple[tuple[str, str]]],
) -> None:
    assert (await receive(client, as_hq, CD, BRAKE_PADS_BMW, 5)).status_code == 201
    before = await read_stock(client, as_hq, CD, BRAKE_PADS_BMW)
    order, request_id = ref(), ref("REQ")
    request = svc.ReservePartsRequest(
        request_id=request_id, store_id=CD, reference=order, lines=lines_pb((BRAKE_PADS_BMW, 2))
    )
    first = await stub.ReserveParts(request, metadata=rpc_metadata())
    again = await stub.ReserveParts(request, metadata=rpc_metadata())
    assert list(first.movements) == list(again.movements)
    (movement,) = first.movements
    assert movement.part_number == BRAKE_PADS_BMW and movement.quantity == 2
    assert movement.available_after == before["available"] - 2

    after = await read_stock(client, as_hq, CD, BRAKE_PADS_BMW)
    assert after["reserved"] == before["reserved"] + 2
    assert await movements_for(inventory_app, order) == 1

    with pytest.raises(grpc.aio.AioRpcError) as reused:
        await stub.ReserveParts(
            svc.ReservePartsRequest(
                request_id=request_id,
                store_id=CD,
                reference=order,
                lines=lines_pb((BRAKE_PADS_BMW, 1)),
            ),
            metadata=rpc_metadata(),
        )
    assert reused.value.code() is grpc.StatusCode.INVALID_ARGUMENT

    consumed = await stub.ConsumeParts(
        svc.ConsumePartsRequest(
            request_id=ref("REQ"), store_id=CD, reference=order, lines=lines_pb((BRAKE_PADS_BMW, 1))
        ),
        metadata=rpc_metadata(),
    )
    assert consumed.movements[0].unit_cost.amount_fen == after["average_unit_cost_fen"]
    released = await stub.ReleaseParts(
        svc.ReleasePartsRequest(
            request_id=ref("REQ"), store_id=CD, reference=order, lines=lines_pb((BRAKE_PADS_BMW, 1))
        ),
        metadata=rpc_metadata(),
    )
    assert released.movements[0].on_hand_after == before["on_hand"] - 1
    assert await movements_for(inventory_app, order) == 3

    with pytest.raises(grpc.aio.AioRpcError) as short:
        await stub.ConsumeParts(
            svc.ConsumePartsRequest(
                request_id=ref("REQ"),
                store_id=CD,
                reference=order,
                lines=lines_pb((BRAKE_PADS_BMW, before["on_hand"] + 1)),
            ),
            metadata=rpc_metadata(),
        )
    assert short.value.code() is grpc.StatusCode.FAILED_PRECONDITION

    levels = await stub.GetStockLevels(
        svc.GetStockLevelsRequest(
            store_id=CD, part_numbers=[BRAKE_PADS_BMW, "NO-SUCH-PART", CABIN_FILTER_TESLA]
        ),
        metadata=rpc_metadata(),
    )
    now = await read_stock(client, as_hq, CD, BRAKE_PADS_BMW)
    assert [s.part_number for s in levels.stock_levels] == [BRAKE_PADS_BMW, CABIN_FILTER_TESLA]
    first_level = levels.stock_levels[0]
    assert (first_level.on_hand, first_level.reserved, first_level.available) == (
        now["on_hand"],
        now["reserved"],
        now["available"],
    )


async def test_20_concurrent_single_unit_reservations_against_10_on_hand_win_exactly_10(
    client: httpx.AsyncClient,
    as_hq: dict[str, str],
    stub: inventory_service_pb2_grpc.InventoryServiceStub,
    rpc_metadata: Callable[..., tuple[tuple[str, str]]],
) -> None:
    start = await read_stock(client, as_hq, WH, BATTERY_12V)
    if start["available"]:  # hold whatever earlier tests left, so exactly 10 are free
        held = await apply(
            client, as_hq, WH, "reservations", ref(), [(BATTERY_12V, start["available"])]
        )
        assert held.status_code == 201, held.text
    assert (await receive(client, as_hq, WH, BATTERY_12V, 10)).status_code == 201
    before = await read_stock(client, as_hq, WH, BATTERY_12V)
    assert before["available"] == 10

    async def reserve_one(n: int) -> str:
        try:
            await stub.ReserveParts(
                svc.ReservePartsRequest(
                    request_id=ref(f"RACE{n}"),
                    store_id=WH,
                    reference=ref(),
                    lines=lines_pb((BATTERY_12V, 1)),
                ),
                metadata=rpc_metadata(),
            )
        except grpc.aio.AioRpcError as exc:
            return exc.code().name
        return "OK"

    outcomes = await asyncio.gather(*(reserve_one(n) for n in range(20)))
    assert outcomes.count("OK") == 10, outcomes
    assert set(outcomes) == {"OK", "FAILED_PRECONDITION"}, outcomes
    after = await read_stock(client, as_hq, WH, BATTERY_12V)
    assert after["reserved"] - before["reserved"] == 10
    assert after["available"] == 0 and after["on_hand"] == before["on_hand"]


async def test_concurrent_multi_line_holds_in_opposite_orders_never_deadlock(
    client: httpx.AsyncClient,
    as_hq: dict[str, str],
    stub: inventory_service_pb2_grpc.InventoryServiceStub,
    rpc_metadata: Callable[..., tuple[tuple[str, str]]],
) -> None:
    pair = (BRAKE_PADS_VW, CABIN_FILTER_TESLA)
    for part in pair:
        assert (await receive(client, as_hq, GZ, part, 12)).status_code == 201
    before = [await read_stock(client, as_hq, GZ, p) for p in pair]

    async def hold(n: int) -> None:
        first, second = pair if n % 2 else pair[::-1]
        await stub.ReserveParts(
            svc.ReservePartsRequest(
                request_id=ref(f"PAIR{n}"),
                store_id=GZ,
                reference=ref(),
                lines=lines_pb((first, 1), (second, 1)),
            ),
            metadata=rpc_metadata(),
        )

    await asyncio.gather(*(hold(n) for n in range(12)))
    after = [await read_stock(client, as_hq, GZ, p) for p in pair]
    assert [a["reserved"] - b["reserved"] for a, b in zip(after, before, strict=True)] == [12, 12]
