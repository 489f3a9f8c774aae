"""Journeys over gRPC, as the sales service will call the inventory: a sale from reservation to
delivery, a reservation that lapses, and bad calls.

The gateway does not exist yet, so the calls go to the inventory's own public gRPC interface with
the signed principal the gateway (or sales) would forward.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import grpc
import httpx
import pytest
from e2e_support import (
    Caller,
    EventTap,
    Observed,
    envelope_keys,
    fixture_for,
    new_vin,
    receive_in_stock,
)
from google.protobuf.timestamp_pb2 import Timestamp

from marque.inventory.v1 import events_pb2
from marque.inventory.v1 import inventory_pb2 as inv
from marque.inventory.v1 import inventory_service_pb2 as svc
from marque.inventory.v1.inventory_service_pb2_grpc import InventoryServiceStub
from marque_kit.context import correlation_id_var
from marque_kit.errors import InvalidInput, NotFound
from marque_kit.rpc import domain_errors, raise_for_status
from marque_kit.testing.vins import with_wrong_check_digit

pytestmark = pytest.mark.e2e


def request_id() -> str:
    return f"sales-{uuid.uuid4().hex[:12]}"


def names(events: list[Observed]) -> list[str]:
    return [o.name for o in events]


async def test_sale_from_reservation_to_delivery_publishes_each_step_once_in_order(
    http: httpx.AsyncClient,
    inventory_stub: InventoryServiceStub,
    sh01_manager: Caller,
    event_tap: EventTap,
) -> None:
    vin = new_vin()
    await receive_in_stock(http, sh01_manager, vin)
    order = "SO-SH01-E2E-0001"
    reserve = svc.ReserveVehicleRequest(
        request_id=request_id(), vin=vin, store_id="SH01", order_ref=order
    )
    correlation = uuid.uuid4().hex
    token = correlation_id_var.set(correlation)
    try:
        first = await inventory_stub.ReserveVehicle(reserve, metadata=sh01_manager.metadata)
        # Sales timed out and retries with the same request id: same answer, no second hold.
        retried = await inventory_stub.ReserveVehicle(reserve, metadata=sh01_manager.metadata)
        sold = await inventory_stub.MarkSold(
            svc.MarkSoldRequest(request_id=request_id(), vin=vin, order_ref=order),
            metadata=sh01_manager.metadata,
        )
        delivered = await inventory_stub.MarkDelivered(
            svc.MarkDeliveredRequest(request_id=request_id(), vin=vin, order_ref=order),
            metadata=sh01_manager.metadata,
        )
    finally:
        correlation_id_var.reset(token)

    assert first.vehicle.status == inv.VEHICLE_STATUS_RESERVED
    assert first.vehicle.order_ref == order
    assert retried == first
    assert sold.vehicle.status == inv.VEHICLE_STATUS_SOLD
    assert delivered.vehicle.status == inv.VEHICLE_STATUS_DELIVERED

    events = await event_tap.wait_for_names(vin, "VehicleDelivered")
    # The relay publishes in commit order, so by the delivery every earlier event is in.
    assert names(events) == [
        "VehicleRegistered",
        "VehicleReserved",
        "VehicleSold",
        "VehicleDelivered",
    ]
    seqs = [o.envelope.seq for o in events]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    assert [o.routing_key for o in events[1:]] == [
        "inventory.vehicle.reserved",
        "inventory.vehicle.sold",
        "inventory.vehicle.delivered",
    ]
    for observed in events[1:]:
        assert observed.envelope.correlation == correlation
        assert observed.envelope.store == "SH01"
        assert envelope_keys(observed.body) == envelope_keys(fixture_for(observed.envelope.type))
    reserved = events[1].envelope.parse(events_pb2.VehicleReserved)
    assert reserved.order_ref == order
    assert reserved.vehicle.msrp.amount_fen == 20_980_000  # the catalog's MSRP, VAT included
    assert reserved.reserved_until.ToDatetime(tzinfo=UTC) > datetime.now(UTC)
    assert events[3].envelope.parse(events_pb2.VehicleDelivered).order_ref == order


async def test_a_reservation_that_lapses_is_released_and_announced(
    http: httpx.AsyncClient,
    inventory_stub: InventoryServiceStub,
    sh01_manager: Caller,
    event_tap: EventTap,
) -> None:
    vin = new_vin()
    await receive_in_stock(http, sh01_manager, vin)
    expires = Timestamp()
    expires.FromDatetime(datetime.now(UTC) + timedelta(seconds=1.5))
    held = await inventory_stub.ReserveVehicle(
        svc.ReserveVehicleRequest(
            request_id=request_id(),
            vin=vin,
            store_id="SH01",
            order_ref="SO-SH01-E2E-0002",
            expires_at=expires,
        ),
        metadata=sh01_manager.metadata,
    )
    assert held.vehicle.status == inv.VEHICLE_STATUS_RESERVED

    events = await event_tap.wait_for_names(vin, "VehicleReservationExpired")
    expired = events[-1]
    assert names(events) == ["VehicleRegistered", "VehicleReserved", "VehicleReservationExpired"]
    assert expired.routing_key == "inventory.vehicle.reservation_expired"
    message = expired.envelope.parse(events_pb2.VehicleReservationExpired)
    assert message.order_ref == "SO-SH01-E2E-0002"
    assert message.vehicle.status == inv.VEHICLE_STATUS_IN_STOCK
    assert envelope_keys(expired.body) == envelope_keys(fixture_for(expired.envelope.type))

    now = await inventory_stub.GetVehicle(
        svc.GetVehicleRequest(vin=vin), metadata=sh01_manager.metadata
    )
    assert now.vehicle.status == inv.VEHICLE_STATUS_IN_STOCK
    assert now.vehicle.order_ref == ""
    listed = await http.get(f"/api/v1/inventory/vehicles/{vin}", headers=sh01_manager.headers)
    assert listed.json()["status"] == "in_stock"


async def test_bad_calls_get_clear_answers_and_change_nothing(
    http: httpx.AsyncClient,
    inventory_stub: InventoryServiceStub,
    sh01_manager: Caller,
    bj01_manager: Caller,
    event_tap: EventTap,
) -> None:
    vin = new_vin()
    await receive_in_stock(http, sh01_manager, vin)

    def reserve(target: str) -> svc.ReserveVehicleRequest:
        return svc.ReserveVehicleRequest(
            request_id=request_id(), vin=target, order_ref="SO-SH01-E2E-0003"
        )

    # A mistyped VIN: INVALID_ARGUMENT, and the message says which rule it breaks.
    mistyped = with_wrong_check_digit(vin)
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await inventory_stub.ReserveVehicle(reserve(mistyped), metadata=sh01_manager.metadata)
    assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "check digit" in (failure.value.details() or "")
    with pytest.raises(InvalidInput) as invalid:
        raise_for_status(failure.value)
    assert invalid.value.errors and invalid.value.errors[0]["rule"] == "check_digit"

    # A well-formed VIN that the group never received.
    unknown = new_vin()
    with pytest.raises(NotFound), domain_errors():
        await inventory_stub.ReserveVehicle(reserve(unknown), metadata=sh01_manager.metadata)

    # Another store's car answers NOT_FOUND, never PERMISSION_DENIED: its existence stays private.
    with pytest.raises(grpc.aio.AioRpcError) as hidden:
        await inventory_stub.ReserveVehicle(reserve(vin), metadata=bj01_manager.metadata)
    assert hidden.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(NotFound), domain_errors():
        await inventory_stub.GetVehicle(
            svc.GetVehicleRequest(vin=vin), metadata=bj01_manager.metadata
        )

    # None of it touched the car: the owning store still finds it free, at its first version.
    mine = await inventory_stub.GetVehicle(
        svc.GetVehicleRequest(vin=vin), metadata=sh01_manager.metadata
    )
    assert (mine.vehicle.status, mine.vehicle.version) == (inv.VEHICLE_STATUS_IN_STOCK, 1)
    registered = await event_tap.wait_for_names(vin, "VehicleRegistered")
    assert names(registered) == ["VehicleRegistered"]
