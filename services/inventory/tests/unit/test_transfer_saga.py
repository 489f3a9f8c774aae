"""The cross-store transfer (调拨) saga, step by step, over an in-memory stock room."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime, timedelta

import pytest

from marque_inventory.domain import events as ev
from marque_inventory.domain.errors import IllegalTransition, InsufficientStock
from marque_inventory.domain.part_lines import CostedPartLine, PartLine
from marque_inventory.domain.parts import PartStock
from marque_inventory.domain.transfers import (
    TRANSFER_SAGA,
    Transfer,
    TransferKind,
    TransferStatus,
    approve_transfer,
    cancel_transfer,
    receive_transfer,
    reject_transfer,
    request_transfer,
    ship_transfer,
    steps_done,
)
from marque_inventory.domain.vehicles import Vehicle, VehicleStatus
from marque_kit.auth import Principal
from marque_kit.errors import Conflict, Forbidden, InvalidInput, NotFound

NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
VIN = "LSVAU218XN2183294"
OIL, FILTER = "0W20-4L", "OF-1109"
SOURCE_MANAGER = Principal(subject="mgr-s1", roles=("store_manager",), stores=("S1",))
DEST_MANAGER = Principal(subject="mgr-s2", roles=("store_manager",), stores=("S2",))
HQ = Principal(subject="hq-1", roles=("hq_admin",), stores=("*",))
SOURCE_CLERK = Principal(subject="clerk-s1", roles=("inventory_clerk",), stores=("S1",))


class StockRoom:
    """TransferPorts over dicts; loads hand out copies, as rows read from a database would."""

    def __init__(self) -> None:
        self.vehicles: dict[str, Vehicle] = {}
        self.parts: dict[tuple[str, str], PartStock] = {}

    async def load_vehicle(self, vin: str) -> Vehicle:
        if vin not in self.vehicles:
            raise NotFound(f"Vehicle {vin} was not found.")
        return copy.deepcopy(self.vehicles[vin])

    async def save_vehicle(self, vehicle: Vehicle) -> None:
        self.vehicles[vehicle.vin] = copy.deepcopy(vehicle)

    async def load_part_stock(self, store_id: str, part_number: str) -> PartStock | None:
        found = self.parts.get((store_id, part_number))
        return copy.deepcopy(found) if found else None

    async def save_part_stock(self, stock: PartStock) -> None:
        self.parts[(stock.store_id, stock.part_number)] = copy.deepcopy(stock)

    def vehicle(self) -> Vehicle:
        return self.vehicles[VIN]

    def part(self, store_id: str, part_number: str) -> PartStock:
        return self.parts[(store_id, part_number)]


@pytest.fixture
def room() -> StockRoom:
    room = StockRoom()
    room.vehicles[VIN] = Vehicle.register(
        vin=VIN,
        store_id="S1",
        model_code="LAVIDA",
        trim_code="T1",
        colour_code="WHITE",
        model_year=2026,
        cost_fen=9_800_000,
        status=VehicleStatus.IN_STOCK,
        arrived_on=date(2026, 1, 5),
        now=NOW,
    )
    for part, qty, cost in [(OIL, 10, 5_000), (FILTER, 3, 2_500)]:
        stock = PartStock.open("S1", part, reorder_point=2)
        stock.receive(qty, cost, "PO-1", now=NOW)
        room.parts[("S1", part)] = stock
    return room


async def vehicle_transfer(room: StockRoom, transfer_id: str = "TR-1") -> Transfer:
    return await request_transfer(
        room,
        transfer_id=transfer_id,
        kind=TransferKind.VEHICLE,
        from_store_id="S1",
        to_store_id="S2",
        requested_by="clerk-s2",
        vin=VIN,
        reason="customer in S2",
        now=NOW,
    )


async def parts_transfer(room: StockRoom, lines: list[PartLine] | None = None) -> Transfer:
    return await request_transfer(
        room,
        transfer_id="TR-P",
        kind="parts",
        from_store_id="S1",
        to_store_id="S2",
        requested_by="clerk-s2",
        lines=lines or [PartLine(OIL, 4), PartLine(FILTER, 1)],
        now=NOW,
    )


def test_the_saga_is_declared_as_named_steps_with_compensations() -> None:
    assert [
        (s.name, s.compensation.__name__ if s.compensation else None) for s in TRANSFER_SAGA
    ] == [
        ("hold_stock", "release_stock"),
        ("approve", None),
        ("ship", None),
        ("receive", None),
    ]
    assert [s.name for s in steps_done(TransferStatus.APPROVED)] == ["hold_stock", "approve"]
    assert steps_done(TransferStatus.CANCELLED) == ()


# --- a vehicle, end to end --------------------------------------------------------------------


async def test_vehicle_transfer_step_by_step(room: StockRoom) -> None:
    transfer = await vehicle_transfer(room)
    [requested] = transfer.pull_events()
    assert isinstance(requested, ev.TransferRequested)
    assert (requested.vin, requested.from_store_id, requested.to_store_id) == (VIN, "S1", "S2")
    assert (room.vehicle().status, room.vehicle().transfer_id) == (
        VehicleStatus.IN_TRANSFER,
        "TR-1",
    )

    [approved] = await approve_transfer(transfer, room, approver=SOURCE_MANAGER, now=NOW)
    assert isinstance(approved, ev.TransferApproved) and approved.approved_by == "mgr-s1"

    [shipped] = await ship_transfer(transfer, room, shipped_by="clerk-s1", now=NOW)
    assert isinstance(shipped, ev.TransferShipped)
    assert (shipped.vehicle_cost_fen, shipped.value_fen, shipped.status) == (
        9_800_000,
        9_800_000,
        "shipped",
    )
    assert room.vehicle().store_id == "S1"  # on the road, still on the source store's books

    [received] = await receive_transfer(
        transfer, room, received_by="clerk-s2", received_on=date(2026, 3, 4), now=NOW
    )
    assert isinstance(received, ev.TransferReceived)
    assert (received.to_store_id, received.value_fen, received.version) == ("S2", 9_800_000, 4)
    vehicle = room.vehicle()
    assert (vehicle.status, vehicle.store_id, vehicle.arrived_on) == (
        VehicleStatus.IN_STOCK,
        "S2",
        date(2026, 3, 4),
    )
    assert transfer.status is TransferStatus.RECEIVED


async def test_vehicle_reserved_meanwhile_refuses_the_hold_and_changes_nothing(
    room: StockRoom,
) -> None:
    vehicle = room.vehicle()
    vehicle.reserve("ORD-1", "REQ-1", NOW + timedelta(days=2), NOW)
    await room.save_vehicle(vehicle)
    with pytest.raises(Conflict) as caught:
        await vehicle_transfer(room)
    assert isinstance(caught.value, IllegalTransition)
    assert "is reserved; only an in-stock vehicle can be transferred" in caught.value.detail
    after = room.vehicle()
    assert (after.status, after.version, after.order_ref, after.transfer_id) == (
        VehicleStatus.RESERVED,
        vehicle.version,
        "ORD-1",
        None,
    )


async def test_held_vehicle_cannot_be_reserved_by_a_salesperson(room: StockRoom) -> None:
    await vehicle_transfer(room)
    with pytest.raises(IllegalTransition):
        room.vehicle().reserve("ORD-1", "REQ-1", NOW + timedelta(days=2), NOW)


async def test_vehicle_must_leave_from_the_store_it_is_in(room: StockRoom) -> None:
    with pytest.raises(Conflict) as caught:
        await request_transfer(
            room,
            transfer_id="TR-1",
            kind="vehicle",
            from_store_id="S3",
            to_store_id="S2",
            requested_by="clerk-s2",
            vin=VIN,
            now=NOW,
        )
    assert "is in store S1, not S3" in caught.value.detail
    assert room.vehicle().status is VehicleStatus.IN_STOCK


async def test_rejection_releases_the_held_vehicle(room: StockRoom) -> None:
    transfer = await vehicle_transfer(room)
    [rejected] = await reject_transfer(
        transfer, room, rejecter=SOURCE_MANAGER, reason="promised to a local customer", now=NOW
    )
    assert isinstance(rejected, ev.TransferRejected)
    assert (rejected.rejected_by, rejected.reason) == ("mgr-s1", "promised to a local customer")
    assert (room.vehicle().status, room.vehicle().store_id) == (VehicleStatus.IN_STOCK, "S1")
    assert await reject_transfer(transfer, room, rejecter=SOURCE_MANAGER, reason="again") == []


async def test_only_requested_transfers_can_be_rejected(room: StockRoom) -> None:
    transfer = await vehicle_transfer(room)
    await approve_transfer(transfer, room, approver=SOURCE_MANAGER, now=NOW)
    with pytest.raises(IllegalTransition) as caught:
        await reject_transfer(transfer, room, rejecter=SOURCE_MANAGER, reason="late", now=NOW)
    assert caught.value.detail == (
        "Transfer TR-1 is approved; only a requested transfer can be rejected."
    )
    assert room.vehicle().status is VehicleStatus.IN_TRANSFER


@pytest.mark.parametrize("approver", [DEST_MANAGER, SOURCE_CLERK])
async def test_only_a_source_manager_or_hq_approves(room: StockRoom, approver: Principal) -> None:
    transfer = await vehicle_transfer(room)
    with pytest.raises(Forbidden):
        await approve_transfer(transfer, room, approver=approver, now=NOW)
    with pytest.raises(Forbidden):
        await reject_transfer(transfer, room, rejecter=approver, reason="no", now=NOW)
    assert (transfer.status, transfer.version) == (TransferStatus.REQUESTED, 1)
    assert room.vehicle().status is VehicleStatus.IN_TRANSFER


async def test_hq_may_approve_any_transfer(room: StockRoom) -> None:
    transfer = await vehicle_transfer(room)
    await approve_transfer(transfer, room, approver=HQ, now=NOW)
    assert (transfer.status, transfer.approved_by) == (TransferStatus.APPROVED, "hq-1")


async def test_cancel_after_approval_releases_the_vehicle(room: StockRoom) -> None:
    transfer = await vehicle_transfer(room)
    await approve_transfer(transfer, room, approver=SOURCE_MANAGER, now=NOW)
    [cancelled] = await cancel_transfer(
        transfer, room, cancelled_by="clerk-s2", reason="customer bought elsewhere", now=NOW
    )
    assert isinstance(cancelled, ev.TransferCancelled)
    assert room.vehicle().status is VehicleStatus.IN_STOCK
    assert await cancel_transfer(transfer, room, cancelled_by="clerk-s2", reason="twice") == []
    assert room.vehicle().status is VehicleStatus.IN_STOCK


async def test_nothing_can_be_cancelled_once_shipped(room: StockRoom) -> None:
    transfer = await vehicle_transfer(room)
    await approve_transfer(transfer, room, approver=SOURCE_MANAGER, now=NOW)
    await ship_transfer(transfer, room, shipped_by="clerk-s1", now=NOW)
    with pytest.raises(IllegalTransition) as caught:
        await cancel_transfer(transfer, room, cancelled_by="clerk-s2", reason="too late", now=NOW)
    assert "only a requested or approved transfer can be cancelled" in caught.value.detail
    assert room.vehicle().status is VehicleStatus.IN_TRANSFER


async def test_shipping_needs_approval_first(room: StockRoom) -> None:
    transfer = await vehicle_transfer(room)
    with pytest.raises(IllegalTransition):
        await ship_transfer(transfer, room, shipped_by="clerk-s1", now=NOW)
    with pytest.raises(IllegalTransition):
        await receive_transfer(
            transfer, room, received_by="clerk-s2", received_on=date(2026, 3, 4), now=NOW
        )


async def test_repeated_steps_change_nothing(room: StockRoom) -> None:
    transfer = await vehicle_transfer(room)
    await approve_transfer(transfer, room, approver=SOURCE_MANAGER, now=NOW)
    assert await approve_transfer(transfer, room, approver=SOURCE_MANAGER, now=NOW) == []
    await ship_transfer(transfer, room, shipped_by="clerk-s1", now=NOW)
    assert await ship_transfer(transfer, room, shipped_by="clerk-s1", now=NOW) == []
    await receive_transfer(transfer, room, received_by="c", received_on=date(2026, 3, 4), now=NOW)
    version = room.vehicle().version
    assert (
        await receive_transfer(
            transfer, room, received_by="c", received_on=date(2026, 3, 5), now=NOW
        )
        == []
    )
    assert (room.vehicle().version, room.vehicle().arrived_on) == (version, date(2026, 3, 4))
    assert transfer.version == 4


# --- parts ------------------------------------------------------------------------------------


async def test_parts_transfer_step_by_step(room: StockRoom) -> None:
    transfer = await parts_transfer(room)
    assert (room.part("S1", OIL).reserved, room.part("S1", FILTER).reserved) == (4, 1)
    await approve_transfer(transfer, room, approver=SOURCE_MANAGER, now=NOW)

    [shipped] = await ship_transfer(transfer, room, shipped_by="clerk-s1", now=NOW)
    assert isinstance(shipped, ev.TransferShipped)
    assert shipped.costed_lines == (CostedPartLine(OIL, 4, 5_000), CostedPartLine(FILTER, 1, 2_500))
    assert (shipped.value_fen, shipped.vehicle_cost_fen) == (22_500, None)
    oil_at_source = room.part("S1", OIL)
    assert (oil_at_source.on_hand, oil_at_source.reserved) == (6, 0)
    assert ("S2", OIL) not in room.parts  # nothing arrives before it is received

    [received] = await receive_transfer(
        transfer, room, received_by="clerk-s2", received_on=date(2026, 3, 4), now=NOW
    )
    assert isinstance(received, ev.TransferReceived) and received.value_fen == 22_500
    oil_at_dest = room.part("S2", OIL)
    assert (oil_at_dest.on_hand, oil_at_dest.available, oil_at_dest.average_unit_cost_fen) == (
        4,
        4,
        5_000,
    )
    ledger = [m.kind.value for m in oil_at_dest.pull_movements()]
    assert ledger == ["transfer_in"]


async def test_parts_short_at_source_refuse_the_whole_transfer(room: StockRoom) -> None:
    with pytest.raises(InsufficientStock) as caught:
        await parts_transfer(room, [PartLine(OIL, 4), PartLine(FILTER, 5)])
    assert "OF-1109: wanted 5, only 3" in caught.value.detail
    assert (room.part("S1", OIL).reserved, room.part("S1", FILTER).reserved) == (0, 0)


async def test_cancelled_parts_transfer_gives_the_parts_back(room: StockRoom) -> None:
    transfer = await parts_transfer(room)
    await cancel_transfer(transfer, room, cancelled_by="clerk-s2", reason="not needed", now=NOW)
    oil = room.part("S1", OIL)
    assert (oil.on_hand, oil.reserved, oil.available) == (10, 0, 10)
    released = [e for e in oil.pull_events() if isinstance(e, ev.PartsReleased)]
    assert [(e.quantity, e.reference) for e in released] == [(4, "transfer:TR-P")]


async def test_holding_parts_can_raise_the_reorder_alert_at_the_source(room: StockRoom) -> None:
    await parts_transfer(room, [PartLine(FILTER, 2)])
    alerts = [
        e for e in room.part("S1", FILTER).pull_events() if isinstance(e, ev.PartBelowReorderPoint)
    ]
    assert [(a.available, a.reorder_point) for a in alerts] == [(1, 2)]


# --- what a request must say ------------------------------------------------------------------


@pytest.mark.parametrize(
    "changes",
    [
        {"to_store_id": "S1"},
        {"vin": None},
        {"lines": [PartLine(OIL, 1)]},
        {"kind": "spaceship"},
        {"kind": "parts", "vin": None},
    ],
)
def test_a_transfer_request_must_make_sense(changes: dict[str, object]) -> None:
    facts: dict[str, object] = {
        "transfer_id": "TR-1",
        "kind": "vehicle",
        "from_store_id": "S1",
        "to_store_id": "S2",
        "requested_by": "clerk-s2",
        "vin": VIN,
    }
    with pytest.raises(InvalidInput):
        Transfer.request(**{**facts, **changes})  # type: ignore[arg-type]
