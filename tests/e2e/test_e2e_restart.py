"""Journey: the service process dies right after a write; the event is not lost (the outbox).

The gateway does not exist yet, so the writes go to the inventory's own public gRPC interface.
"""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest
from e2e_support import Caller, EventTap, ServiceProcess, new_vin, receive_in_stock

from marque.inventory.v1 import inventory_pb2 as inv
from marque.inventory.v1 import inventory_service_pb2 as svc
from marque.inventory.v1.inventory_service_pb2_grpc import InventoryServiceStub
from marque_kit.rpc import client_channel

pytestmark = pytest.mark.e2e


async def reserve(
    service: ServiceProcess, who: Caller, vin: str, order_ref: str
) -> svc.ReserveVehicleResponse:
    channel = client_channel(service.grpc_target, deadline_seconds=10)
    try:
        stub = InventoryServiceStub(channel)
        request = svc.ReserveVehicleRequest(
            request_id=uuid.uuid4().hex, vin=vin, store_id="SH01", order_ref=order_ref
        )
        reply: svc.ReserveVehicleResponse = await stub.ReserveVehicle(
            request, metadata=who.metadata
        )
        return reply
    finally:
        await channel.close(grace=None)


async def test_an_event_written_just_before_a_crash_is_published_after_the_restart(
    inventory_service: ServiceProcess,
    http: httpx.AsyncClient,
    sh01_manager: Caller,
    event_tap: EventTap,
) -> None:
    vin = new_vin()
    await receive_in_stock(http, sh01_manager, vin)
    await event_tap.wait_for_names(vin, "VehicleRegistered")

    # A process that answers but does not relay (an API replica), killed right after the write:
    # the event cannot have left before the crash, so only the outbox can deliver it.
    inventory_service.kill()
    await asyncio.to_thread(inventory_service.start, "api")
    reply = await reserve(inventory_service, sh01_manager, vin, "SO-SH01-E2E-0004")
    assert reply.vehicle.status == inv.VEHICLE_STATUS_RESERVED
    inventory_service.kill()

    await asyncio.to_thread(inventory_service.start)
    events = await event_tap.wait_for_names(vin, "VehicleReserved")
    reserved = [o for o in events if o.name == "VehicleReserved"]
    assert {o.envelope.seq for o in reserved} == {2}
    assert {o.envelope.id for o in reserved} == {reserved[0].envelope.id}

    # The whole process (relaying too) killed the moment it answered: the event still arrives.
    sold = await http.post(
        f"/api/v1/inventory/vehicles/{vin}/sold",
        headers=sh01_manager.headers,
        json={"order_ref": "SO-SH01-E2E-0004", "request_id": uuid.uuid4().hex},
    )
    assert sold.status_code == 200, sold.text
    inventory_service.kill()
    await asyncio.to_thread(inventory_service.start)
    events = await event_tap.wait_for_names(vin, "VehicleSold")
    sold_events = [o for o in events if o.name == "VehicleSold"]
    # At least once: if the relay published just before the kill but had not yet marked the row
    # sent, the restarted relay publishes it again: the same event (same id), which every
    # consumer's inbox drops. It is never lost, and never a second, different event.
    assert {o.envelope.seq for o in sold_events} == {3}
    assert {o.envelope.id for o in sold_events} == {sold_events[0].envelope.id}

    after = await http.get(f"/api/v1/inventory/vehicles/{vin}", headers=sh01_manager.headers)
    assert after.json()["status"] == "sold"
