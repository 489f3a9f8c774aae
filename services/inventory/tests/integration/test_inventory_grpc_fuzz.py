"""Every unary RPC of InventoryService, fuzzed through a real grpc.aio channel to the running app
on its real PostgreSQL: whatever the request holds (odd or 10,000-character text, extreme
integers, unknown enum numbers, timestamps at and past the proto's limits, thousands of lines,
other stores' ids, absent fields), the answer is never INTERNAL or UNKNOWN, and a refused write
leaves the database as it was.

Requests are built from the proto descriptors (`marque_kit.testing.proto_fuzz`), so a field
added to a request is fuzzed without touching this file.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import httpx
import pytest
from fastapi import FastAPI
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from marque.inventory.v1 import inventory_pb2 as inv
from marque.inventory.v1 import inventory_service_pb2 as svc
from marque_inventory import demo_data
from marque_inventory.domain.vin import with_check_digit
from marque_inventory.settings import InventorySettings
from marque_kit.auth import METADATA_KEY, Principal, sign_principal
from marque_kit.testing.principals import principal_headers
from marque_kit.testing.proto_fuzz import (
    ACCEPTABLE_CODES,
    assert_unreadable_refused,
    call_unary,
    describe,
    requests,
    sweep_field_edges,
    unary_methods,
    unreadable,
)

API = "/api/v1/inventory"
SERVICE = svc.DESCRIPTOR.services_by_name["InventoryService"]
METHODS = unary_methods(SERVICE)
WRITES = frozenset(
    {
        "ReserveVehicle",
        "ReleaseVehicle",
        "MarkSold",
        "MarkDelivered",
        "ReserveParts",
        "ConsumeParts",
        "ReleaseParts",
    }
)
HOME, ELSEWHERE = "SH01", "BJ01"
PARTS = [p[0] for p in demo_data.PARTS]
STORES = [s[0] for s in demo_data.STORES]
PRINCIPALS = (
    Principal(subject="sales", kind="service", roles=("hq_admin",), stores=("*",)),
    Principal(subject="sh.manager", roles=("store_manager",), stores=(HOME,)),
    Principal(subject="sh.consultant", roles=("sales_consultant",), stores=(HOME,)),
    Principal(subject="hz.clerk", roles=("parts_clerk",), stores=("HZ01",)),
)
RENEW = {"request_id": st.uuids().map(str)}  # a new request id unless fuzzed
FRESH = {"request_id": lambda: str(uuid.uuid4())}  # the same, for the sweep
FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@dataclass
class World:
    """What the fuzz may aim at: real vehicles and parts in this store and another."""

    hints: dict[str, Any]
    bases: dict[str, Any] = field(default_factory=dict)


async def _vehicle(client: httpx.AsyncClient, headers: dict[str, str], store: str) -> str:
    vin = with_check_digit(f"LFZ3E7FATC{uuid.uuid4().int % 10**6:06d}")
    made = await client.post(
        f"{API}/vehicles",
        json={
            "vin": vin,
            "store_id": store,
            "trim_code": "BYD-HAN-EV-610",
            "colour_code": "WHT",
            "model_year": 2026,
            "status": "in_stock",
            "arrived_on": "2025-01-02",
        },
        headers=headers,
    )
    assert made.status_code == 201, made.text
    return vin


@pytest.fixture(scope="module")
async def world(inventory_app: FastAPI, inventory_settings: InventorySettings) -> World:
    headers = principal_headers(inventory_settings.internal_secret)
    transport = httpx.ASGITransport(app=inventory_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://inventory") as client:
        vins = [await _vehicle(client, headers, store) for store in (HOME, HOME, ELSEWHERE)]
        for store in (HOME, ELSEWHERE):
            for part in PARTS[:3]:
                got = await client.post(
                    f"{API}/stores/{store}/parts/receipts",
                    json={"part_number": part, "quantity": 50, "reference": "PO-FUZZ"},
                    headers=headers,
                )
                assert got.status_code in (200, 201), got.text
    orders = ["SO-FUZZ-1", "SO-FUZZ-2"]
    hints: dict[str, Any] = {
        "store_id": [*STORES, "*", "XX99", HOME.lower(), f" {HOME} "],
        "vin": [*vins, vins[0].lower(), vins[0][:-1] + "0", "LSVAB4"],
        "order_ref": orders,
        "reference": ["RO-FUZZ-1", "RO-FUZZ-2"],
        "part_number": [*PARTS[:4], "NOPE-1"],
        "part_numbers": PARTS[:4],
        "quantity": [1, 2, 50, 1_000_000, 1_000_001],
        "request_id": st.uuids().map(str),
    }
    future = datetime.now(UTC) + timedelta(days=2)
    held = inv.PartLine(part_number=PARTS[0], quantity=1)
    parts = {"request_id": "RQ-BASE", "store_id": HOME, "reference": "RO-FUZZ-1", "lines": [held]}
    vehicle = {"request_id": "RQ-BASE", "vin": vins[0], "order_ref": orders[0]}
    reserve = svc.ReserveVehicleRequest(**vehicle, store_id=HOME)
    reserve.expires_at.FromDatetime(future)
    bases = {
        "ReserveVehicle": reserve,
        "ReleaseVehicle": svc.ReleaseVehicleRequest(**vehicle, reason="order cancelled"),
        "MarkSold": svc.MarkSoldRequest(**vehicle),
        "MarkDelivered": svc.MarkDeliveredRequest(**vehicle),
        "GetVehicle": svc.GetVehicleRequest(vin=vins[0]),
        "ReserveParts": svc.ReservePartsRequest(**parts),
        "ConsumeParts": svc.ConsumePartsRequest(**parts),
        "ReleaseParts": svc.ReleasePartsRequest(**parts),
        "GetStockLevels": svc.GetStockLevelsRequest(store_id=HOME, part_numbers=PARTS[:3]),
        "GetVehicleStockSummary": svc.GetVehicleStockSummaryRequest(store_id=HOME),
        "GetPartsStockSummary": svc.GetPartsStockSummaryRequest(store_id=HOME),
    }
    return World(hints=hints, bases=bases)


@pytest.fixture(scope="module")
async def channel(
    inventory_app: FastAPI, inventory_settings: InventorySettings
) -> AsyncIterator[grpc.aio.Channel]:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{inventory_settings.grpc_port}") as chan:
        yield chan


async def snapshot(app: FastAPI) -> tuple[Any, ...]:
    """What a write RPC may change: its request claims, the ledger, stock, vehicles, the outbox
    (reservations expiring on their own are left out: the sweeper runs beside the fuzz)."""
    async with app.state.inventory.db.session() as session:
        row = (
            await session.execute(
                text(
                    "SELECT (SELECT count(*) FROM vehicle_requests),"
                    " (SELECT count(*) FROM stock_movements),"
                    " (SELECT count(*) FROM idempotency_keys),"
                    " (SELECT coalesce(sum(on_hand), 0) || '/' || coalesce(sum(reserved), 0)"
                    "  FROM part_stocks),"
                    " (SELECT count(*) FROM outbox"
                    "  WHERE event_type NOT LIKE '%VehicleReservationExpired')"
                )
            )
        ).one()
    return tuple(row)


@pytest.mark.parametrize("method", METHODS, ids=[m.name for m in METHODS])
@FUZZ
@given(data=st.data())
async def test_inventory_rpc_never_answers_internal(
    method: Any,
    data: st.DataObject,
    world: World,
    channel: grpc.aio.Channel,
    inventory_app: FastAPI,
    inventory_settings: InventorySettings,
) -> None:
    request = data.draw(
        requests(method.input_type, world.hints, base=world.bases.get(method.name), renew=RENEW),
        label="request",
    )
    # HQ (every store) more than half the time, so other stores' ids get past the store check.
    who = data.draw(st.one_of(st.just(PRINCIPALS[0]), st.sampled_from(PRINCIPALS)), label="who")
    metadata = ((METADATA_KEY, sign_principal(who, inventory_settings.internal_secret)),)
    writes = method.name in WRITES
    before = await snapshot(inventory_app) if writes else None

    code, details, _ = await call_unary(channel, method, request, metadata=metadata)
    event(code.name)  # --hypothesis-show-statistics shows how deep the fuzz got

    assert code in ACCEPTABLE_CODES, (
        f"{method.name} answered {code.name} ({details}) as {who.subject} to\n{describe(request)}"
    )
    if writes and code is not grpc.StatusCode.OK:
        assert await snapshot(inventory_app) == before, (
            f"{method.name} refused ({code.name}: {details}) but changed the database"
        )


@pytest.mark.parametrize("method", METHODS, ids=[m.name for m in METHODS])
@settings(FUZZ, max_examples=25)
@given(data=st.data())
async def test_inventory_rpc_refuses_unreadable_bytes_as_invalid_argument(
    method: Any,
    data: st.DataObject,
    channel: grpc.aio.Channel,
    inventory_settings: InventorySettings,
) -> None:
    raw = data.draw(unreadable(method.input_type), label="bytes")
    metadata = ((METADATA_KEY, sign_principal(PRINCIPALS[0], inventory_settings.internal_secret)),)
    await assert_unreadable_refused(channel, method, raw, metadata=metadata)


@pytest.mark.parametrize("method", METHODS, ids=[m.name for m in METHODS])
async def test_inventory_rpc_takes_every_field_edge_without_internal(
    method: Any,
    world: World,
    channel: grpc.aio.Channel,
    inventory_app: FastAPI,
    inventory_settings: InventorySettings,
) -> None:
    """The deterministic sweep beside the random fuzz: one field at a time at each edge value,
    the rest of a valid request as it is, as HQ (so no store check stops it early)."""
    writes = method.name in WRITES
    failures = await sweep_field_edges(
        channel,
        method,
        world.bases[method.name],
        metadata=_as_hq(inventory_settings),
        fresh=FRESH,
        snapshot=(lambda: snapshot(inventory_app)) if writes else None,
    )
    assert not failures, "\n".join(failures)


# --- what the fuzz found, pinned as plain examples ------------------------------------------


def _as_hq(inventory_settings: InventorySettings) -> Any:
    return ((METADATA_KEY, sign_principal(PRINCIPALS[0], inventory_settings.internal_secret)),)


async def test_a_request_id_longer_than_its_column_is_invalid_argument_and_claims_nothing(
    world: World,
    channel: grpc.aio.Channel,
    inventory_app: FastAPI,
    inventory_settings: InventorySettings,
) -> None:
    # vehicle_requests.request_id is VARCHAR(100): 101 characters used to fail the insert.
    for name in ("ReserveVehicle", "ReleaseVehicle", "MarkSold", "MarkDelivered"):
        request = type(world.bases[name])()
        request.CopyFrom(world.bases[name])
        request.request_id = "r" * 101
        before = await snapshot(inventory_app)
        code, details, _ = await call_unary(
            channel, SERVICE.methods_by_name[name], request, metadata=_as_hq(inventory_settings)
        )
        assert code is grpc.StatusCode.INVALID_ARGUMENT, (name, code, details)
        assert "request_id is at most 100 characters" in details
        assert await snapshot(inventory_app) == before


async def test_a_hold_until_the_end_of_the_proto_calendar_names_expires_at(
    world: World, channel: grpc.aio.Channel, inventory_settings: InventorySettings
) -> None:
    request = svc.ReserveVehicleRequest()
    request.CopyFrom(world.bases["ReserveVehicle"])
    request.request_id = str(uuid.uuid4())
    request.expires_at.seconds = 253_402_300_799  # 9999-12-31T23:59:59Z
    code, details, _ = await call_unary(
        channel,
        SERVICE.methods_by_name["ReserveVehicle"],
        request,
        metadata=_as_hq(inventory_settings),
    )
    assert code is grpc.StatusCode.INVALID_ARGUMENT
    assert "The field expires_at must be a moment between 1900-01-01 and 2999-12-31" in details


async def test_a_refusal_quoting_a_10k_store_id_still_arrives_as_not_found(
    channel: grpc.aio.Channel, inventory_settings: InventorySettings
) -> None:
    request = svc.GetPartsStockSummaryRequest(store_id="1" * 10_000)
    code, details, _ = await call_unary(
        channel,
        SERVICE.methods_by_name["GetPartsStockSummary"],
        request,
        metadata=_as_hq(inventory_settings),
    )
    assert code is grpc.StatusCode.NOT_FOUND, details  # was RESOURCE_EXHAUSTED at the client
    assert "(10,000 characters)" in details
