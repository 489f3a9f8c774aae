"""The vehicle's state machine, checked move by move against the transition table."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pytest

from marque_inventory.domain import events as ev
from marque_inventory.domain.errors import IllegalTransition, InvalidVin
from marque_inventory.domain.vehicles import (
    MAX_RESERVATION,
    VEHICLE_COMMANDS,
    VEHICLE_TRANSITIONS,
    Vehicle,
    VehicleStatus,
)
from marque_kit.errors import Conflict, IdempotencyMismatch, InvalidInput

VIN = "LSVAU218XN2183294"
NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
ARRIVED = date(2026, 1, 5)
S = VehicleStatus


def on_order() -> Vehicle:
    return Vehicle.register(
        vin=VIN,
        store_id="S1",
        model_code="LAVIDA",
        trim_code="LAVIDA-15-LUX",
        colour_code="WHITE",
        model_year=2026,
        cost_fen=9_800_000,
        now=NOW,
    )


# How to bring a fresh vehicle into each status, through the commands themselves.
ROUTE: dict[VehicleStatus, list[Callable[[Vehicle], object]]] = {
    S.ON_ORDER: [],
    S.IN_STOCK: [lambda v: v.arrive(ARRIVED, now=NOW)],
    S.RESERVED: [
        lambda v: v.arrive(ARRIVED, now=NOW),
        lambda v: v.reserve("ORD-1", "REQ-1", NOW + timedelta(days=3), NOW),
    ],
    S.SOLD: [
        lambda v: v.arrive(ARRIVED, now=NOW),
        lambda v: v.reserve("ORD-1", "REQ-1", NOW + timedelta(days=3), NOW),
        lambda v: v.mark_sold("ORD-1", now=NOW),
    ],
    S.DELIVERED: [
        lambda v: v.arrive(ARRIVED, now=NOW),
        lambda v: v.reserve("ORD-1", "REQ-1", NOW + timedelta(days=3), NOW),
        lambda v: v.mark_sold("ORD-1", now=NOW),
        lambda v: v.mark_delivered("ORD-1", now=NOW),
    ],
    S.IN_TRANSFER: [lambda v: v.arrive(ARRIVED, now=NOW), lambda v: v.start_transfer("T-1")],
    S.DEMO: [lambda v: v.arrive(ARRIVED, now=NOW), lambda v: v.assign_demo(now=NOW)],
}


def vehicle_in(status: VehicleStatus) -> Vehicle:
    vehicle = on_order()
    for step in ROUTE[status]:
        step(vehicle)
    assert vehicle.status is status
    vehicle.pull_events()
    return vehicle


# Each command as the vehicle's current holder would send it (order ORD-1, transfer T-1) ...
AS_HOLDER: dict[str, Callable[[Vehicle], list[ev.InventoryEvent]]] = {
    "arrive": lambda v: v.arrive(date(2026, 2, 1), now=NOW),
    "reserve": lambda v: v.reserve("ORD-1", "REQ-1", NOW + timedelta(days=3), NOW),
    "release": lambda v: v.release("ORD-1", "customer changed mind", now=NOW),
    "expire": lambda v: v.expire(NOW + timedelta(days=4)),
    "mark_sold": lambda v: v.mark_sold("ORD-1", now=NOW),
    "mark_delivered": lambda v: v.mark_delivered("ORD-1", now=NOW),
    "assign_demo": lambda v: v.assign_demo(now=NOW),
    "return_from_demo": lambda v: v.return_from_demo(now=NOW),
    "start_transfer": lambda v: v.start_transfer("T-1"),
    "complete_transfer": lambda v: v.complete_transfer("T-1", "S2", date(2026, 3, 3)),
    "abort_transfer": lambda v: v.abort_transfer("T-1"),
}
# ... and as a newcomer would (another order, request and transfer), which no-op replay can hide.
AS_NEWCOMER: dict[str, Callable[[Vehicle], list[ev.InventoryEvent]]] = {
    **AS_HOLDER,
    "reserve": lambda v: v.reserve("ORD-2", "REQ-2", NOW + timedelta(days=3), NOW),
    "mark_sold": lambda v: v.mark_sold("ORD-2", now=NOW),
    "mark_delivered": lambda v: v.mark_delivered("ORD-2", now=NOW),
    "start_transfer": lambda v: v.start_transfer("T-2"),
}
# release and expire never refuse a vehicle that is not theirs: they are tested on their own.
TOLERANT = {"release", "expire"}

ALLOWED = [
    (s, cmd, target) for s, moves in VEHICLE_TRANSITIONS.items() for cmd, target in moves.items()
]
REFUSED = [
    (s, cmd)
    for s in VehicleStatus
    for cmd in VEHICLE_COMMANDS
    if cmd not in VEHICLE_TRANSITIONS[s] and cmd not in TOLERANT
]


def test_the_table_covers_every_status_and_command() -> None:
    assert set(VEHICLE_TRANSITIONS) == set(VehicleStatus)
    assert set(VEHICLE_COMMANDS) == set(AS_HOLDER)


@pytest.mark.parametrize(("status", "command", "target"), ALLOWED)
def test_allowed_move_reaches_its_status_and_bumps_version(
    status: VehicleStatus, command: str, target: VehicleStatus
) -> None:
    vehicle = vehicle_in(status)
    before = vehicle.version
    AS_HOLDER[command](vehicle)
    assert vehicle.status is target
    assert vehicle.version == before + 1


@pytest.mark.parametrize(("status", "command"), REFUSED)
def test_move_missing_from_the_table_is_refused_and_changes_nothing(
    status: VehicleStatus, command: str
) -> None:
    vehicle = vehicle_in(status)
    before = (vehicle.status, vehicle.version, vehicle.store_id, vehicle.reservation)
    with pytest.raises(IllegalTransition) as caught:
        AS_NEWCOMER[command](vehicle)
    assert caught.value.http_status == 409
    assert caught.value.detail.startswith(f"Vehicle {VIN} is ")
    assert (vehicle.status, vehicle.version, vehicle.store_id, vehicle.reservation) == before
    assert vehicle.pull_events() == []


def test_refusal_reads_like_the_rulebook() -> None:
    with pytest.raises(IllegalTransition) as caught:
        vehicle_in(S.SOLD).reserve("ORD-9", "REQ-9", NOW + timedelta(days=1), NOW)
    assert caught.value.detail == (
        f"Vehicle {VIN} is sold; only an in-stock vehicle can be reserved."
    )


# --- registration -----------------------------------------------------------------------------


def test_registration_emits_the_vehicle_snapshot_at_version_1() -> None:
    vehicle = on_order()
    [event] = vehicle.pull_events()
    assert isinstance(event, ev.VehicleRegistered)
    assert (event.vin, event.store_id, event.status, event.version) == (VIN, "S1", "on_order", 1)
    assert (event.model_code, event.trim_code, event.colour_code) == (
        "LAVIDA",
        "LAVIDA-15-LUX",
        "WHITE",
    )
    assert (event.model_year, event.cost_fen, event.occurred_at) == (2026, 9_800_000, NOW)
    assert vehicle.pull_events() == []


def test_vehicle_registered_in_stock_needs_its_arrival_date() -> None:
    with pytest.raises(InvalidInput) as caught:
        Vehicle.register(
            vin=VIN,
            store_id="S1",
            model_code="M",
            trim_code="T",
            colour_code="C",
            model_year=2026,
            cost_fen=1,
            status=S.IN_STOCK,
        )
    assert caught.value.errors == [{"field": "arrived_on", "rule": "required_when_in_stock"}]
    vehicle = Vehicle.register(
        vin=VIN,
        store_id="S1",
        model_code="M",
        trim_code="T",
        colour_code="C",
        model_year=2026,
        cost_fen=1,
        status=S.IN_STOCK,
        arrived_on=ARRIVED,
    )
    assert (vehicle.status, vehicle.arrived_on) == (S.IN_STOCK, ARRIVED)


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"vin": "LSVAU2180N2183294"}, InvalidVin),
        ({"status": S.SOLD}, InvalidInput),
        ({"cost_fen": 9_800_000.0}, InvalidInput),
        ({"model_year": 1975}, InvalidInput),
        ({"store_id": " "}, InvalidInput),
        ({"arrived_on": ARRIVED}, InvalidInput),  # on order, yet arrived
    ],
)
def test_registration_refuses_bad_facts(changes: dict[str, object], error: type[Exception]) -> None:
    facts: dict[str, object] = {
        "vin": VIN,
        "store_id": "S1",
        "model_code": "M",
        "trim_code": "T",
        "colour_code": "C",
        "model_year": 2026,
        "cost_fen": 1,
    }
    with pytest.raises(error):
        Vehicle.register(**{**facts, **changes})  # type: ignore[arg-type]


def test_arrival_starts_stock_age_and_is_idempotent_for_the_same_day() -> None:
    vehicle = on_order()
    [event] = vehicle.arrive(ARRIVED, now=NOW)
    assert isinstance(event, ev.VehicleArrived)
    assert (event.arrived_on, event.status, event.version) == (ARRIVED, "in_stock", 2)
    assert vehicle.arrive(ARRIVED, now=NOW) == []
    assert vehicle.version == 2


# --- reservation ------------------------------------------------------------------------------


def test_reservation_records_the_order_and_its_expiry() -> None:
    vehicle = vehicle_in(S.IN_STOCK)
    expires = NOW + timedelta(days=3)
    [event] = vehicle.reserve("ORD-1", "REQ-1", expires, NOW)
    assert isinstance(event, ev.VehicleReserved)
    assert (event.order_ref, event.request_id, event.expires_at) == ("ORD-1", "REQ-1", expires)
    assert vehicle.order_ref == "ORD-1"
    assert vehicle.pull_events() == [event]


def test_same_request_reserving_again_is_a_no_op() -> None:
    vehicle = vehicle_in(S.RESERVED)
    version = vehicle.version
    # A retry after the expiry moved on still answers "done": it is the same request.
    assert vehicle.reserve("ORD-1", "REQ-1", NOW + timedelta(days=5), NOW + timedelta(days=1)) == []
    assert vehicle.version == version
    assert vehicle.pull_events() == []


def test_same_request_id_for_another_order_is_an_idempotency_mismatch() -> None:
    vehicle = vehicle_in(S.RESERVED)
    with pytest.raises(IdempotencyMismatch):
        vehicle.reserve("ORD-2", "REQ-1", NOW + timedelta(days=3), NOW)


def test_second_reservation_of_same_vehicle_is_refused() -> None:
    vehicle = vehicle_in(S.RESERVED)
    with pytest.raises(IllegalTransition) as caught:
        vehicle.reserve("ORD-2", "REQ-2", NOW + timedelta(days=3), NOW)
    assert "is reserved; only an in-stock vehicle can be reserved" in caught.value.detail
    assert vehicle.order_ref == "ORD-1"


@pytest.mark.parametrize(
    ("expires_at", "rule"),
    [
        (NOW, "in_future"),
        (NOW - timedelta(minutes=1), "in_future"),
        (NOW + MAX_RESERVATION + timedelta(seconds=1), "at_most_30_days"),
        (datetime(2026, 3, 5, 12, 0), "timezone_aware"),
    ],
)
def test_reservation_expiry_must_be_sane(expires_at: datetime, rule: str) -> None:
    vehicle = vehicle_in(S.IN_STOCK)
    with pytest.raises(InvalidInput) as caught:
        vehicle.reserve("ORD-1", "REQ-1", expires_at, NOW)
    assert caught.value.errors == [{"field": "expires_at", "rule": rule}]
    assert vehicle.status is S.IN_STOCK


def test_reservation_of_exactly_30_days_is_allowed() -> None:
    vehicle = vehicle_in(S.IN_STOCK)
    vehicle.reserve("ORD-1", "REQ-1", NOW + MAX_RESERVATION, NOW)
    assert vehicle.status is S.RESERVED


# --- expiry and release -----------------------------------------------------------------------


def test_reservation_expires_only_once_due() -> None:
    vehicle = vehicle_in(S.RESERVED)
    due = vehicle.reservation.expires_at  # type: ignore[union-attr]
    assert vehicle.expire(due - timedelta(seconds=1)) == []
    assert vehicle.status is S.RESERVED
    [event] = vehicle.expire(due)
    assert isinstance(event, ev.VehicleReservationExpired)
    assert (event.order_ref, event.expired_at, event.status) == ("ORD-1", due, "in_stock")
    assert (vehicle.status, vehicle.reservation) == (S.IN_STOCK, None)
    assert vehicle.expire(due + timedelta(days=1)) == []


@pytest.mark.parametrize("status", [s for s in VehicleStatus if s is not S.RESERVED])
def test_expiry_sweeper_leaves_unreserved_vehicles_alone(status: VehicleStatus) -> None:
    vehicle = vehicle_in(status)
    version = vehicle.version
    assert vehicle.expire(NOW + timedelta(days=365)) == []
    assert (vehicle.status, vehicle.version) == (status, version)


def test_release_frees_the_vehicle_for_the_holding_order() -> None:
    vehicle = vehicle_in(S.RESERVED)
    [event] = vehicle.release("ORD-1", "customer changed mind", now=NOW)
    assert isinstance(event, ev.VehicleReservationReleased)
    assert (event.order_ref, event.reason) == ("ORD-1", "customer changed mind")
    assert (vehicle.status, vehicle.order_ref) == (S.IN_STOCK, None)


@pytest.mark.parametrize("status", [S.IN_STOCK, S.RESERVED, S.ON_ORDER, S.DEMO, S.IN_TRANSFER])
def test_release_by_an_order_that_does_not_hold_the_vehicle_is_a_no_op(
    status: VehicleStatus,
) -> None:
    vehicle = vehicle_in(status)
    version = vehicle.version
    assert vehicle.release("ORD-2", "order cancelled", now=NOW) == []
    assert (vehicle.status, vehicle.version) == (status, version)


def test_release_after_the_reservation_expired_is_a_no_op() -> None:
    vehicle = vehicle_in(S.RESERVED)
    vehicle.expire(NOW + timedelta(days=4))
    assert vehicle.release("ORD-1", "order cancelled", now=NOW) == []


@pytest.mark.parametrize("status", [S.SOLD, S.DELIVERED])
def test_a_sold_vehicle_cannot_be_released_by_its_buyer(status: VehicleStatus) -> None:
    with pytest.raises(IllegalTransition) as caught:
        vehicle_in(status).release("ORD-1", "order cancelled", now=NOW)
    assert "only a reserved vehicle can be released" in caught.value.detail


# --- sale and delivery ------------------------------------------------------------------------


def test_sale_must_come_from_the_order_holding_the_reservation() -> None:
    vehicle = vehicle_in(S.RESERVED)
    with pytest.raises(Conflict) as caught:
        vehicle.mark_sold("ORD-2", now=NOW)
    assert "reserved for order ORD-1, not ORD-2" in caught.value.detail
    assert vehicle.status is S.RESERVED


def test_marking_sold_twice_for_the_same_order_is_a_no_op() -> None:
    vehicle = vehicle_in(S.RESERVED)
    [event] = vehicle.mark_sold("ORD-1", now=NOW)
    assert isinstance(event, ev.VehicleSold) and event.order_ref == "ORD-1"
    version = vehicle.version
    assert vehicle.mark_sold("ORD-1", now=NOW) == []
    assert vehicle.version == version


def test_delivery_goes_to_the_buying_order_once() -> None:
    vehicle = vehicle_in(S.SOLD)
    with pytest.raises(Conflict):
        vehicle.mark_delivered("ORD-2", now=NOW)
    [event] = vehicle.mark_delivered("ORD-1", now=NOW)
    assert isinstance(event, ev.VehicleDelivered) and event.status == "delivered"
    assert vehicle.mark_delivered("ORD-1", now=NOW) == []


def test_full_life_bumps_version_once_per_change() -> None:
    vehicle = vehicle_in(S.DELIVERED)
    assert vehicle.version == 5  # registered, arrived, reserved, sold, delivered


# --- demo and transfer ------------------------------------------------------------------------


def test_demo_car_leaves_and_returns_to_sale() -> None:
    vehicle = vehicle_in(S.IN_STOCK)
    [assigned] = vehicle.assign_demo(now=NOW)
    [returned] = vehicle.return_from_demo(now=NOW)
    assert isinstance(assigned, ev.VehicleDemoAssigned) and assigned.status == "demo"
    assert isinstance(returned, ev.VehicleDemoReturned) and returned.status == "in_stock"


def test_transfer_hold_is_idempotent_per_transfer_and_exclusive() -> None:
    vehicle = vehicle_in(S.IN_STOCK)
    vehicle.start_transfer("T-1")
    version = vehicle.version
    assert vehicle.start_transfer("T-1") == []
    assert vehicle.version == version
    with pytest.raises(IllegalTransition):
        vehicle.complete_transfer("T-2", "S2", date(2026, 3, 3))
    with pytest.raises(IllegalTransition):
        vehicle.abort_transfer("T-2")


def test_completed_transfer_moves_the_vehicle_and_restarts_its_stock_age() -> None:
    vehicle = vehicle_in(S.IN_TRANSFER)
    vehicle.complete_transfer("T-1", "S2", date(2026, 3, 3))
    assert (vehicle.status, vehicle.store_id, vehicle.arrived_on, vehicle.transfer_id) == (
        S.IN_STOCK,
        "S2",
        date(2026, 3, 3),
        None,
    )


def test_aborted_transfer_leaves_the_vehicle_where_it_was() -> None:
    vehicle = vehicle_in(S.IN_TRANSFER)
    vehicle.abort_transfer("T-1")
    assert (vehicle.status, vehicle.store_id, vehicle.arrived_on) == (S.IN_STOCK, "S1", ARRIVED)
