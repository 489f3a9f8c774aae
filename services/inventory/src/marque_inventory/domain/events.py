"""What the inventory tells the rest of the group. The service maps each to its protobuf event.

Each event is a frozen fact in business terms, stamped with `occurred_at` (UTC) and the version
its aggregate reached, which travels as `marqueseq` so that consumers can ignore stale news.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from marque_inventory.domain.part_lines import CostedPartLine, PartLine


@dataclass(frozen=True, kw_only=True)
class InventoryEvent:
    occurred_at: datetime


# --- vehicles -------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class VehicleEvent(InventoryEvent):
    """Every vehicle event carries the vehicle as it stands after the change."""

    vin: str
    store_id: str
    model_code: str
    trim_code: str
    colour_code: str
    model_year: int
    cost_fen: int
    status: str
    version: int
    arrived_on: date | None  # the day it reached its current store; None while on order


@dataclass(frozen=True, kw_only=True)
class VehicleRegistered(VehicleEvent):
    pass


@dataclass(frozen=True, kw_only=True)
class VehicleArrived(VehicleEvent):
    arrived_on: date


@dataclass(frozen=True, kw_only=True)
class VehicleReserved(VehicleEvent):
    order_ref: str
    request_id: str
    expires_at: datetime


@dataclass(frozen=True, kw_only=True)
class VehicleReservationReleased(VehicleEvent):
    order_ref: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class VehicleReservationExpired(VehicleEvent):
    order_ref: str
    expired_at: datetime


@dataclass(frozen=True, kw_only=True)
class VehicleSold(VehicleEvent):
    order_ref: str


@dataclass(frozen=True, kw_only=True)
class VehicleDelivered(VehicleEvent):
    order_ref: str


@dataclass(frozen=True, kw_only=True)
class VehicleDemoAssigned(VehicleEvent):
    pass


@dataclass(frozen=True, kw_only=True)
class VehicleDemoReturned(VehicleEvent):
    pass


# --- cross-store transfers (调拨) ------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class TransferEvent(InventoryEvent):
    transfer_id: str
    kind: str  # "vehicle" or "parts"
    from_store_id: str
    to_store_id: str
    status: str
    version: int
    vin: str | None
    lines: tuple[PartLine, ...]


@dataclass(frozen=True, kw_only=True)
class TransferRequested(TransferEvent):
    requested_by: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class TransferApproved(TransferEvent):
    approved_by: str


@dataclass(frozen=True, kw_only=True)
class TransferRejected(TransferEvent):
    rejected_by: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class TransferCancelled(TransferEvent):
    cancelled_by: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class TransferShipped(TransferEvent):
    """The stock left the source store: finance moves its cost out of that store's inventory."""

    shipped_by: str
    vehicle_cost_fen: int | None
    costed_lines: tuple[CostedPartLine, ...]
    value_fen: int


@dataclass(frozen=True, kw_only=True)
class TransferReceived(TransferEvent):
    """The stock arrived at the destination store: finance books its cost there."""

    received_by: str
    received_on: date
    vehicle_cost_fen: int | None
    costed_lines: tuple[CostedPartLine, ...]
    value_fen: int


# --- parts (配件) ----------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class PartsEvent(InventoryEvent):
    """Every parts event carries the stock as it stands after the change."""

    store_id: str
    part_number: str
    quantity: int
    reference: str  # the repair order, purchase receipt or transfer that caused it
    on_hand: int
    reserved: int
    version: int


@dataclass(frozen=True, kw_only=True)
class PartsReceived(PartsEvent):
    unit_cost_fen: int


@dataclass(frozen=True, kw_only=True)
class PartsReserved(PartsEvent):
    pass


@dataclass(frozen=True, kw_only=True)
class PartsReleased(PartsEvent):
    pass


@dataclass(frozen=True, kw_only=True)
class PartsConsumed(PartsEvent):
    """Parts fitted on a repair order; finance posts their cost at `unit_cost_fen` (moving avg)."""

    unit_cost_fen: int


# --- alerts ---------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class PartBelowReorderPoint(InventoryEvent):
    store_id: str
    part_number: str
    available: int
    reorder_point: int
    on_hand: int
    reserved: int
    version: int


@dataclass(frozen=True, kw_only=True)
class SafetyStockBreached(InventoryEvent):
    store_id: str
    model_code: str
    minimum: int
    in_stock: int


@dataclass(frozen=True, kw_only=True)
class StockAgeThresholdCrossed(InventoryEvent):
    vin: str
    store_id: str
    model_code: str
    trim_code: str
    cost_fen: int
    arrived_on: date
    age_days: int
    threshold_days: int
    bucket: str
    version: int  # the vehicle's version when the alert was raised
