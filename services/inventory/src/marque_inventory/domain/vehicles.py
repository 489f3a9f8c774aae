"""A vehicle's life at the dealer, by VIN: on order -> in stock -> reserved -> sold -> delivered,
with side trips into demo use (试驾车) and cross-store transfer (调拨).

The transition table below is the rulebook; `Vehicle` refuses every move the table does not list.
Each command returns the events it caused (also kept for `pull_events()`) and bumps `version`.
Re-applying a command that identifies itself (same request id, same order, same transfer) to a
vehicle already in the resulting state is a no-op that returns no events.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any, NoReturn

from marque_inventory.domain import events as ev
from marque_inventory.domain.checks import require_text, require_utc, utc_now
from marque_inventory.domain.errors import IllegalTransition
from marque_inventory.domain.money import require_fen
from marque_inventory.domain.vin import validate_vin
from marque_kit.errors import Conflict, IdempotencyMismatch, InvalidInput


class VehicleStatus(StrEnum):
    ON_ORDER = "on_order"  # allocated by the OEM, not yet at the store
    IN_STOCK = "in_stock"  # at the store and free to sell
    RESERVED = "reserved"  # held for one order until it is sold or the hold expires
    SOLD = "sold"  # the contract is signed; waiting for delivery (交车)
    DELIVERED = "delivered"  # handed to the customer; out of stock for good
    IN_TRANSFER = "in_transfer"  # held by a cross-store transfer (调拨)
    DEMO = "demo"  # used as a test-drive car (试驾车); not for sale meanwhile


# The rulebook: from each status, the commands allowed and the status each one leads to.
VEHICLE_TRANSITIONS: dict[VehicleStatus, dict[str, VehicleStatus]] = {
    VehicleStatus.ON_ORDER: {"arrive": VehicleStatus.IN_STOCK},
    VehicleStatus.IN_STOCK: {
        "reserve": VehicleStatus.RESERVED,
        "assign_demo": VehicleStatus.DEMO,
        "start_transfer": VehicleStatus.IN_TRANSFER,
    },
    VehicleStatus.RESERVED: {
        "release": VehicleStatus.IN_STOCK,
        "expire": VehicleStatus.IN_STOCK,
        "mark_sold": VehicleStatus.SOLD,
    },
    VehicleStatus.SOLD: {"mark_delivered": VehicleStatus.DELIVERED},
    VehicleStatus.DELIVERED: {},
    VehicleStatus.IN_TRANSFER: {
        "complete_transfer": VehicleStatus.IN_STOCK,
        "abort_transfer": VehicleStatus.IN_STOCK,
    },
    VehicleStatus.DEMO: {"return_from_demo": VehicleStatus.IN_STOCK},
}

VEHICLE_COMMANDS: tuple[str, ...] = tuple(
    dict.fromkeys(cmd for moves in VEHICLE_TRANSITIONS.values() for cmd in moves)
)

# How the refusal sentence names a status and a command.
_IS = {
    VehicleStatus.ON_ORDER: "on order",
    VehicleStatus.IN_STOCK: "in stock",
    VehicleStatus.RESERVED: "reserved",
    VehicleStatus.SOLD: "sold",
    VehicleStatus.DELIVERED: "delivered",
    VehicleStatus.IN_TRANSFER: "in transfer",
    VehicleStatus.DEMO: "in demo use",
}
_A_VEHICLE = {
    VehicleStatus.ON_ORDER: "an on-order vehicle",
    VehicleStatus.IN_STOCK: "an in-stock vehicle",
    VehicleStatus.RESERVED: "a reserved vehicle",
    VehicleStatus.SOLD: "a sold vehicle",
    VehicleStatus.DELIVERED: "a delivered vehicle",
    VehicleStatus.IN_TRANSFER: "a vehicle in transfer",
    VehicleStatus.DEMO: "a demo vehicle",
}
_CAN = {
    "arrive": "arrive",
    "reserve": "be reserved",
    "release": "be released",
    "expire": "have its reservation expire",
    "mark_sold": "be sold",
    "mark_delivered": "be delivered",
    "assign_demo": "become a demo car",
    "return_from_demo": "return from demo use",
    "start_transfer": "be transferred",
    "complete_transfer": "complete a transfer",
    "abort_transfer": "have its transfer aborted",
}

MIN_MODEL_YEAR = 1981  # the first year of 17-character VINs
MAX_RESERVATION = timedelta(days=30)


def statuses_allowing(command: str) -> tuple[VehicleStatus, ...]:
    return tuple(s for s, moves in VEHICLE_TRANSITIONS.items() if command in moves)


@dataclass(frozen=True)
class Reservation:
    """The hold one order has on a vehicle; kept after the sale to record which order bought it."""

    order_ref: str
    request_id: str  # the caller's idempotency key: the same request never reserves twice
    expires_at: datetime


@dataclass(eq=False)
class Vehicle:
    vin: str
    store_id: str
    model_code: str
    trim_code: str
    colour_code: str
    model_year: int
    cost_fen: int  # what the dealer paid the OEM, VAT excluded
    status: VehicleStatus
    # The day it arrived at its current store; stock age (库龄) counts from it.
    arrived_on: date | None = None
    reservation: Reservation | None = None
    transfer_id: str | None = None  # the transfer holding it, while in transfer
    version: int = 0
    _pending: list[ev.InventoryEvent] = field(default_factory=list, init=False, repr=False)

    # --- creation ---------------------------------------------------------------------------

    @classmethod
    def register(
        cls,
        *,
        vin: str,
        store_id: str,
        model_code: str,
        trim_code: str,
        colour_code: str,
        model_year: int,
        cost_fen: int,
        status: VehicleStatus = VehicleStatus.ON_ORDER,
        arrived_on: date | None = None,
        now: datetime | None = None,
    ) -> Vehicle:
        """A vehicle enters the group's stock: on order (OEM allocation) or already in stock."""
        if status not in (VehicleStatus.ON_ORDER, VehicleStatus.IN_STOCK):
            raise InvalidInput(
                f"A vehicle is registered on order or in stock, not {status.value}.",
                errors=[{"field": "status", "rule": "on_order_or_in_stock"}],
            )
        if status is VehicleStatus.IN_STOCK and arrived_on is None:
            raise InvalidInput(
                "A vehicle registered in stock needs the date it arrived (arrived_on).",
                errors=[{"field": "arrived_on", "rule": "required_when_in_stock"}],
            )
        if status is VehicleStatus.ON_ORDER and arrived_on is not None:
            raise InvalidInput(
                "A vehicle on order has not arrived yet; leave arrived_on empty.",
                errors=[{"field": "arrived_on", "rule": "empty_when_on_order"}],
            )
        if isinstance(model_year, bool) or not isinstance(model_year, int):
            raise InvalidInput("model_year must be a year such as 2026.")
        if model_year < MIN_MODEL_YEAR:
            raise InvalidInput(
                f"Model year {model_year} is before {MIN_MODEL_YEAR}, when 17-character VINs "
                "began.",
                errors=[{"field": "model_year", "rule": "at_least_1981"}],
            )
        vehicle = cls(
            vin=validate_vin(vin),
            store_id=require_text(store_id, "store_id"),
            model_code=require_text(model_code, "model_code"),
            trim_code=require_text(trim_code, "trim_code"),
            colour_code=require_text(colour_code, "colour_code"),
            model_year=model_year,
            cost_fen=require_fen(cost_fen, "cost_fen"),
            status=status,
            arrived_on=arrived_on,
        )
        vehicle.version = 1
        vehicle._record(ev.VehicleRegistered(**vehicle._snapshot(now)))
        return vehicle

    # --- reading ----------------------------------------------------------------------------

    @property
    def order_ref(self) -> str | None:
        """The order that holds or bought this vehicle, if any."""
        return self.reservation.order_ref if self.reservation else None

    def is_reservation_due(self, now: datetime) -> bool:
        return (
            self.status is VehicleStatus.RESERVED
            and self.reservation is not None
            and self.reservation.expires_at <= require_utc(now, "now")
        )

    def pull_events(self) -> list[ev.InventoryEvent]:
        """Hand the events recorded so far to the unit of work, once."""
        pending, self._pending = self._pending, []
        return pending

    # --- commands ---------------------------------------------------------------------------

    def arrive(self, on: date, *, now: datetime | None = None) -> list[ev.InventoryEvent]:
        """The vehicle reached the store; its stock age starts today."""
        if self.status is VehicleStatus.IN_STOCK and self.arrived_on == on:
            return []
        self._move("arrive")
        self.arrived_on = on
        return self._record(ev.VehicleArrived(**self._snapshot(now)))

    def reserve(
        self, order_ref: str, request_id: str, expires_at: datetime, now: datetime
    ) -> list[ev.InventoryEvent]:
        """Hold the vehicle for one order until `expires_at` (at most 30 days ahead)."""
        held = self.reservation
        if self.status is VehicleStatus.RESERVED and held and held.request_id == request_id:
            if held.order_ref != order_ref:
                raise IdempotencyMismatch(
                    f"Request {request_id} already reserved vehicle {self.vin} for order "
                    f"{held.order_ref}, not {order_ref}; use a new request id."
                )
            return []
        order_ref = require_text(order_ref, "order_ref")
        request_id = require_text(request_id, "request_id")
        now = utc_now(now)
        expires_at = require_utc(expires_at, "expires_at")
        if expires_at <= now:
            raise InvalidInput(
                "A reservation must expire in the future.",
                errors=[{"field": "expires_at", "rule": "in_future"}],
            )
        if expires_at - now > MAX_RESERVATION:
            raise InvalidInput(
                f"A reservation may hold a vehicle for at most {MAX_RESERVATION.days} days.",
                errors=[{"field": "expires_at", "rule": "at_most_30_days"}],
            )
        self._move("reserve")
        self.reservation = Reservation(order_ref, request_id, expires_at)
        return self._record(
            ev.VehicleReserved(
                **self._snapshot(now),
                order_ref=order_ref,
                request_id=request_id,
                expires_at=expires_at,
            )
        )

    def release(
        self, order_ref: str, reason: str, *, now: datetime | None = None
    ) -> list[ev.InventoryEvent]:
        """The order lets the vehicle go. If the order no longer holds it (expired, never held)
        there is nothing to release: a no-op, so that cancelling an order can always be retried."""
        if self.status is VehicleStatus.RESERVED and self.order_ref == order_ref:
            self._move("release")
            self.reservation = None
            return self._record(
                ev.VehicleReservationReleased(
                    **self._snapshot(now), order_ref=order_ref, reason=reason
                )
            )
        if self.order_ref == order_ref:
            self._refuse("release")
        return []

    def expire(self, now: datetime) -> list[ev.InventoryEvent]:
        """The reservation ran out: the vehicle is free again. A no-op when nothing is due, so the
        sweeper may call it on any vehicle it found."""
        if not self.is_reservation_due(now):
            return []
        assert self.reservation is not None
        held = self.reservation
        self._move("expire")
        self.reservation = None
        return self._record(
            ev.VehicleReservationExpired(
                **self._snapshot(now), order_ref=held.order_ref, expired_at=held.expires_at
            )
        )

    def mark_sold(self, order_ref: str, *, now: datetime | None = None) -> list[ev.InventoryEvent]:
        """The order holding the reservation signed its contract."""
        if self.status is VehicleStatus.SOLD and self.order_ref == order_ref:
            return []
        if self.status is VehicleStatus.RESERVED and self.order_ref != order_ref:
            raise Conflict(
                f"Vehicle {self.vin} is reserved for order {self.order_ref}, not {order_ref}; "
                "only the order holding the reservation can buy it."
            )
        self._move("mark_sold")
        return self._record(ev.VehicleSold(**self._snapshot(now), order_ref=order_ref))

    def mark_delivered(
        self, order_ref: str, *, now: datetime | None = None
    ) -> list[ev.InventoryEvent]:
        """交车: the customer drove the vehicle away; it leaves stock for good."""
        if self.status is VehicleStatus.DELIVERED and self.order_ref == order_ref:
            return []
        if self.status is VehicleStatus.SOLD and self.order_ref != order_ref:
            raise Conflict(
                f"Vehicle {self.vin} was sold to order {self.order_ref}, not {order_ref}; "
                "only that order can take delivery."
            )
        self._move("mark_delivered")
        return self._record(ev.VehicleDelivered(**self._snapshot(now), order_ref=order_ref))

    def assign_demo(self, *, now: datetime | None = None) -> list[ev.InventoryEvent]:
        """Take the vehicle out of sale to serve as a test-drive car."""
        self._move("assign_demo")
        return self._record(ev.VehicleDemoAssigned(**self._snapshot(now)))

    def return_from_demo(self, *, now: datetime | None = None) -> list[ev.InventoryEvent]:
        self._move("return_from_demo")
        return self._record(ev.VehicleDemoReturned(**self._snapshot(now)))

    def start_transfer(self, transfer_id: str) -> list[ev.InventoryEvent]:
        """A transfer holds the vehicle; the transfer's own events tell the group."""
        if self.status is VehicleStatus.IN_TRANSFER and self.transfer_id == transfer_id:
            return []
        transfer_id = require_text(transfer_id, "transfer_id")
        self._move("start_transfer")
        self.transfer_id = transfer_id
        return []

    def complete_transfer(
        self, transfer_id: str, to_store_id: str, arrived_on: date
    ) -> list[ev.InventoryEvent]:
        """The vehicle reached the destination store, in stock there; its stock age restarts."""
        self._check_transfer(transfer_id, "complete_transfer")
        self._move("complete_transfer")
        self.store_id = require_text(to_store_id, "to_store_id")
        self.arrived_on = arrived_on
        self.transfer_id = None
        return []

    def abort_transfer(self, transfer_id: str) -> list[ev.InventoryEvent]:
        """The transfer was rejected or cancelled before shipping: back in stock where it was."""
        self._check_transfer(transfer_id, "abort_transfer")
        self._move("abort_transfer")
        self.transfer_id = None
        return []

    # --- the machinery ----------------------------------------------------------------------

    def _check_transfer(self, transfer_id: str, command: str) -> None:
        if self.status is VehicleStatus.IN_TRANSFER and self.transfer_id != transfer_id:
            raise IllegalTransition(
                f"Vehicle {self.vin} is held by transfer {self.transfer_id}, not {transfer_id}; "
                f"only the transfer holding it can {command.split('_')[0]} it."
            )

    def _refuse(self, command: str) -> NoReturn:
        allowed = " or ".join(_A_VEHICLE[s] for s in statuses_allowing(command))
        raise IllegalTransition(
            f"Vehicle {self.vin} is {_IS[self.status]}; only {allowed} can {_CAN[command]}.",
            errors=[{"field": "status", "rule": command, "status": self.status.value}],
        )

    def _move(self, command: str) -> None:
        next_status = VEHICLE_TRANSITIONS[self.status].get(command)
        if next_status is None:
            self._refuse(command)
        self.status = next_status
        self.version += 1

    def _snapshot(self, now: datetime | None) -> dict[str, Any]:
        return {
            "vin": self.vin,
            "store_id": self.store_id,
            "model_code": self.model_code,
            "trim_code": self.trim_code,
            "colour_code": self.colour_code,
            "model_year": self.model_year,
            "cost_fen": self.cost_fen,
            "status": self.status.value,
            "version": self.version,
            "arrived_on": self.arrived_on,
            "occurred_at": utc_now(now),
        }

    def _record(self, event: ev.InventoryEvent) -> list[ev.InventoryEvent]:
        self._pending.append(event)
        return [event]
