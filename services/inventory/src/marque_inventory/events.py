"""Which domain events become which proto events, under which routing key (DESIGN.md §4).

Vehicle events are enriched with what consumers need without calling back (brand, energy type,
MSRP), looked up in the catalog through `CatalogLookup`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from marque.common.v1 import common_pb2
from marque.inventory.v1 import events_pb2 as pb
from marque.inventory.v1 import inventory_pb2 as inv
from marque_inventory.domain import events as ev
from marque_inventory.models import Trim, VehicleModel
from marque_kit.db import OutgoingEvent

CURRENCY = "CNY"


@dataclass(frozen=True)
class TrimFacts:
    brand: str
    energy_type: str
    msrp_fen: int


class CatalogLookup:
    """Trim facts by trim code; the catalog changes rarely, so answers are kept per process."""

    def __init__(self) -> None:
        self._cache: dict[str, TrimFacts] = {}

    async def facts(self, session: AsyncSession, trim_codes: set[str]) -> dict[str, TrimFacts]:
        missing = trim_codes - self._cache.keys()
        if missing:
            rows = await session.execute(
                select(
                    col(Trim.code),
                    col(VehicleModel.brand_code),
                    col(Trim.energy_type),
                    col(Trim.msrp_fen),
                )
                .join(VehicleModel, col(VehicleModel.code) == col(Trim.model_code))
                .where(Trim.code.in_(missing))  # type: ignore[attr-defined]
            )
            for code, brand, energy, msrp in rows:
                self._cache[code] = TrimFacts(brand, energy, msrp)
        return {c: self._cache[c] for c in trim_codes if c in self._cache}

    def forget(self, trim_code: str) -> None:
        self._cache.pop(trim_code, None)


def money(fen: int | None) -> common_pb2.Money:
    return common_pb2.Money(amount_fen=fen or 0, currency_code=CURRENCY)


def timestamp(at: datetime) -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(at)
    return ts


def iso(day: date | None) -> str:
    return day.isoformat() if day else ""


def vehicle_status(status: str) -> int:
    return int(inv.VehicleStatus.Value(f"VEHICLE_STATUS_{status.upper()}"))


def energy_type(energy: str) -> int:
    return int(inv.EnergyType.Value(f"ENERGY_TYPE_{energy.upper()}")) if energy else 0


def _vehicle(
    e: ev.VehicleEvent, facts: TrimFacts | None, arrived_on: date | None
) -> pb.VehicleSnapshot:
    return pb.VehicleSnapshot(
        vin=e.vin,
        store_id=e.store_id,
        brand=facts.brand if facts else "",
        model_code=e.model_code,
        trim_code=e.trim_code,
        colour_code=e.colour_code,
        model_year=e.model_year,
        energy_type=energy_type(facts.energy_type) if facts else 0,  # type: ignore[arg-type]
        status=vehicle_status(e.status),  # type: ignore[arg-type]
        cost=money(e.cost_fen),
        msrp=money(facts.msrp_fen if facts else 0),
        arrived_on=iso(arrived_on),
        version=e.version,
    )


def _transfer(e: ev.TransferEvent) -> pb.TransferSnapshot:
    costed = getattr(e, "costed_lines", ())
    vehicle_cost = getattr(e, "vehicle_cost_fen", None)
    if costed:
        lines = [
            pb.TransferPartLine(
                part_number=c.part_number, quantity=c.quantity, unit_cost=money(c.unit_cost_fen)
            )
            for c in costed
        ]
    else:
        lines = [
            pb.TransferPartLine(part_number=p.part_number, quantity=p.quantity) for p in e.lines
        ]
    return pb.TransferSnapshot(
        transfer_id=e.transfer_id,
        kind=inv.TransferKind.Value(f"TRANSFER_KIND_{e.kind.upper()}"),  # type: ignore[arg-type]
        status=inv.TransferStatus.Value(f"TRANSFER_STATUS_{e.status.upper()}"),  # type: ignore[arg-type]
        from_store_id=e.from_store_id,
        to_store_id=e.to_store_id,
        vin=e.vin or "",
        vehicle_cost=money(vehicle_cost) if vehicle_cost is not None else None,
        part_lines=lines,
        version=e.version,
    )


def _part_line(e: ev.PartsEvent, unit_cost_fen: int = 0) -> inv.PartMovement:
    return inv.PartMovement(
        part_number=e.part_number,
        quantity=e.quantity,
        unit_cost=money(unit_cost_fen),
        on_hand_after=e.on_hand,
        available_after=e.on_hand - e.reserved,
    )


def to_outgoing(event: ev.InventoryEvent, facts: dict[str, TrimFacts]) -> OutgoingEvent:
    """Map one domain event to its proto event, routing key, subject, store and sequence."""
    at = timestamp(event.occurred_at)
    if isinstance(event, ev.VehicleEvent):
        snap = _vehicle(event, facts.get(event.trim_code), event.arrived_on)
        key, message = _VEHICLE[type(event)](event, at, snap)
        return OutgoingEvent(
            message, f"inventory.vehicle.{key}", event.vin, event.store_id, event.version
        )
    if isinstance(event, ev.TransferEvent):
        snap_t = _transfer(event)
        key, message = _TRANSFER[type(event)](event, at, snap_t)
        return OutgoingEvent(
            message,
            f"inventory.transfer.{key}",
            event.transfer_id,
            event.from_store_id,
            event.version,
        )
    if isinstance(event, ev.PartsEvent):
        key, message = _PARTS[type(event)](event, at)
        return OutgoingEvent(
            message,
            f"inventory.part.{key}",
            f"{event.store_id}/{event.part_number}",
            event.store_id,
            event.version,
        )
    if isinstance(event, ev.PartBelowReorderPoint):
        return OutgoingEvent(
            pb.PartBelowReorderPoint(
                occurred_at=at,
                store_id=event.store_id,
                part_number=event.part_number,
                available=event.available,
                reorder_point=event.reorder_point,
            ),
            "inventory.alert.part_below_reorder_point",
            f"{event.store_id}/{event.part_number}",
            event.store_id,
            event.version,
        )
    if isinstance(event, ev.SafetyStockBreached):
        return OutgoingEvent(
            pb.SafetyStockBreached(
                occurred_at=at,
                store_id=event.store_id,
                model_code=event.model_code,
                in_stock=event.in_stock,
                minimum=event.minimum,
            ),
            "inventory.alert.safety_stock_breached",
            f"{event.store_id}/{event.model_code}",
            event.store_id,
            0,
        )
    if isinstance(event, ev.StockAgeThresholdCrossed):
        return OutgoingEvent(
            pb.StockAgeThresholdCrossed(
                occurred_at=at,
                store_id=event.store_id,
                vin=event.vin,
                model_code=event.model_code,
                age_days=event.age_days,
                bucket_days=event.threshold_days,
            ),
            "inventory.alert.stock_age_threshold_crossed",
            event.vin,
            event.store_id,
            event.version,
        )
    raise TypeError(f"no proto mapping for {type(event).__name__}")


_VehicleMap = Callable[[Any, Timestamp, pb.VehicleSnapshot], tuple[str, Message]]
_VEHICLE: dict[type, _VehicleMap] = {
    ev.VehicleRegistered: lambda e, at, v: (
        "registered",
        pb.VehicleRegistered(occurred_at=at, vehicle=v),
    ),
    ev.VehicleArrived: lambda e, at, v: ("arrived", pb.VehicleArrived(occurred_at=at, vehicle=v)),
    ev.VehicleReserved: lambda e, at, v: (
        "reserved",
        pb.VehicleReserved(
            occurred_at=at, vehicle=v, order_ref=e.order_ref, reserved_until=timestamp(e.expires_at)
        ),
    ),
    ev.VehicleReservationReleased: lambda e, at, v: (
        "reservation_released",
        pb.VehicleReservationReleased(
            occurred_at=at, vehicle=v, order_ref=e.order_ref, reason=e.reason
        ),
    ),
    ev.VehicleReservationExpired: lambda e, at, v: (
        "reservation_expired",
        pb.VehicleReservationExpired(occurred_at=at, vehicle=v, order_ref=e.order_ref),
    ),
    ev.VehicleSold: lambda e, at, v: (
        "sold",
        pb.VehicleSold(occurred_at=at, vehicle=v, order_ref=e.order_ref),
    ),
    ev.VehicleDelivered: lambda e, at, v: (
        "delivered",
        pb.VehicleDelivered(occurred_at=at, vehicle=v, order_ref=e.order_ref),
    ),
    ev.VehicleDemoAssigned: lambda e, at, v: (
        "demo_assigned",
        pb.VehicleDemoAssigned(occurred_at=at, vehicle=v),
    ),
    ev.VehicleDemoReturned: lambda e, at, v: (
        "demo_returned",
        pb.VehicleDemoReturned(occurred_at=at, vehicle=v),
    ),
}

_TransferMap = Callable[[Any, Timestamp, pb.TransferSnapshot], tuple[str, Message]]
_TRANSFER: dict[type, _TransferMap] = {
    ev.TransferRequested: lambda e, at, t: (
        "requested",
        pb.TransferRequested(occurred_at=at, transfer=t, actor=e.requested_by, reason=e.reason),
    ),
    ev.TransferApproved: lambda e, at, t: (
        "approved",
        pb.TransferApproved(occurred_at=at, transfer=t, actor=e.approved_by),
    ),
    ev.TransferRejected: lambda e, at, t: (
        "rejected",
        pb.TransferRejected(occurred_at=at, transfer=t, actor=e.rejected_by, reason=e.reason),
    ),
    ev.TransferCancelled: lambda e, at, t: (
        "cancelled",
        pb.TransferCancelled(occurred_at=at, transfer=t, actor=e.cancelled_by, reason=e.reason),
    ),
    ev.TransferShipped: lambda e, at, t: (
        "shipped",
        pb.TransferShipped(occurred_at=at, transfer=t, actor=e.shipped_by),
    ),
    ev.TransferReceived: lambda e, at, t: (
        "received",
        pb.TransferReceived(occurred_at=at, transfer=t, actor=e.received_by),
    ),
}

_PartsMap = Callable[[Any, Timestamp], tuple[str, Message]]
_PARTS: dict[type, _PartsMap] = {
    ev.PartsReceived: lambda e, at: (
        "received",
        pb.PartsReceived(
            occurred_at=at,
            store_id=e.store_id,
            part_number=e.part_number,
            quantity=e.quantity,
            unit_cost=money(e.unit_cost_fen),
            reference=e.reference,
            on_hand_after=e.on_hand,
        ),
    ),
    ev.PartsReserved: lambda e, at: (
        "reserved",
        pb.PartsReserved(
            occurred_at=at, store_id=e.store_id, reference=e.reference, lines=[_part_line(e)]
        ),
    ),
    ev.PartsReleased: lambda e, at: (
        "released",
        pb.PartsReleased(
            occurred_at=at, store_id=e.store_id, reference=e.reference, lines=[_part_line(e)]
        ),
    ),
    ev.PartsConsumed: lambda e, at: (
        "consumed",
        pb.PartsConsumed(
            occurred_at=at,
            store_id=e.store_id,
            reference=e.reference,
            lines=[_part_line(e, e.unit_cost_fen)],
        ),
    ),
}


async def outgoing(
    session: AsyncSession, catalog: CatalogLookup, events: list[ev.InventoryEvent]
) -> list[OutgoingEvent]:
    trims = {e.trim_code for e in events if isinstance(e, ev.VehicleEvent)}
    facts = await catalog.facts(session, trims) if trims else {}
    return [to_outgoing(e, facts) for e in events]
