"""Posting rules for stock: what inventory's events become in the books (存货核算).

Inventory tells finance what moved and at what cost (VAT excluded); these rules turn each fact
into balanced entries. Every entry carries the inventory event's id as `source_event_id`, so an
event delivered twice posts once.

| fact | store | entry |
|---|---|---|
| vehicle from the OEM | receiving | Dr 1405.01 cost, Dr 2221.01 input VAT 13%, Cr 2202.01 AP-OEM |
| parts from a supplier | receiving | Dr 1405.03 qty x cost, Dr 2221.01 VAT, Cr 2202.02 AP |
| transfer shipped | sending | Dr 1901 inter-store (the receiver), Cr 1405.01 / 1405.03 |
| transfer shipped | receiving | Dr 1402 goods in transit, Cr 1901 inter-store (the sender) |
| transfer received | receiving | Dr 1405.01 / 1405.03, Cr 1402 goods in transit |
| parts consumed (出库) | issuing | Dr 6401.03 cost of sales (parts), Cr 1405.03 |
| vehicle delivered (交车) | selling | Dr 6401.01 cost of sales (new vehicles), Cr 1405.01 |

Transfers move at cost and carry no VAT: the stores are one legal group and the goods stay in it
(decision 0017). Both halves of a shipment post at once, so the group's inter-store account (1901)
nets to zero at every moment, and the goods sit in the receiver's transit account until they
arrive.

Payable lines name the supplier as the payables ledger does (`OEM:<BRAND>`; `SUPPLIER:PARTS`
with the delivery note as memo), so a payment's debit meets the receipt's credit on one party.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from marque_finance.domain.accounts import (
    AP_OEM,
    AP_SUPPLIERS,
    COST_ACCOUNT,
    GOODS_IN_TRANSIT,
    INTER_STORE,
    INVENTORY_NEW_VEHICLES,
    INVENTORY_PARTS,
    VAT_INPUT,
    BusinessLine,
)
from marque_finance.domain.ledger import EntryDraft, credit, debit
from marque_finance.domain.money import add_vat, format_yuan, require_fen
from marque_finance.domain.payables import PARTS_SUPPLIER, oem_supplier
from marque_kit.errors import InvalidInput

# The source of each entry: the inventory event type that caused it.
VEHICLE_ARRIVED = "marque.inventory.v1.VehicleArrived"
PARTS_RECEIVED = "marque.inventory.v1.PartsReceived"
TRANSFER_SHIPPED = "marque.inventory.v1.TransferShipped"
TRANSFER_RECEIVED = "marque.inventory.v1.TransferReceived"
PARTS_CONSUMED = "marque.inventory.v1.PartsConsumed"
VEHICLE_DELIVERED = "marque.inventory.v1.VehicleDelivered"


class Rule(StrEnum):
    """Rule names: with the event id and the store, they make an entry unique in the books."""

    VEHICLE_RECEIVED = "vehicle_received"
    PARTS_RECEIVED = "parts_received"
    TRANSFER_SHIPPED_OUT = "transfer_shipped_out"
    TRANSFER_SHIPPED_IN = "transfer_shipped_in"
    TRANSFER_RECEIVED = "transfer_received"
    PARTS_CONSUMED = "parts_consumed"
    VEHICLE_DELIVERED = "vehicle_delivered"


NEW_VEHICLES = BusinessLine.NEW_VEHICLES.value
PARTS = BusinessLine.PARTS.value
COST_OF_SALES_NEW_VEHICLES = COST_ACCOUNT[BusinessLine.NEW_VEHICLES]
COST_OF_SALES_PARTS = COST_ACCOUNT[BusinessLine.PARTS]

# Column widths in the books; a longer value is refused here rather than by the database.
STORE_ID_MAX = 20
VIN_MAX = 17
MODEL_CODE_MAX = 40
PARTY_MAX = 80
SOURCE_ID_MAX = 120
# More than a group ever moves at once; guards the arithmetic against nonsense quantities.
MAX_QUANTITY = 1_000_000


def require_text(value: str, field: str, *, max_length: int, required: bool = True) -> str:
    """A stripped identifier of at most `max_length` characters (empty only when optional)."""
    text = (value or "").strip()
    if required and not text:
        raise InvalidInput(
            f"{field} is missing; finance cannot post without it.",
            errors=[{"field": field, "rule": "required"}],
        )
    if len(text) > max_length:
        raise InvalidInput(
            f"{field} {text[:40]!r} is longer than {max_length} characters.",
            errors=[{"field": field, "rule": "max_length", "max_length": max_length}],
        )
    return text


def require_quantity(value: int, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_QUANTITY:
        raise InvalidInput(
            f"{field} must be a whole number of units, 1 to {MAX_QUANTITY:,} ({value!r} given).",
            errors=[{"field": field, "rule": "quantity"}],
        )
    return value


# --- facts ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class VehicleReceipt:
    """A new vehicle arrived at its store from the OEM; `cost_fen` is the OEM's price ex VAT."""

    event_id: str
    store_id: str
    vin: str
    brand: str
    model_code: str
    cost_fen: int
    received_on: date

    def __post_init__(self) -> None:
        _check_common(self.event_id, self.store_id)
        require_text(self.vin, "vin", max_length=VIN_MAX)
        require_text(self.brand, "brand", max_length=PARTY_MAX - len("OEM:"))
        require_text(self.model_code, "model_code", max_length=MODEL_CODE_MAX, required=False)
        require_fen(self.cost_fen, "vehicle.cost", positive=True)


@dataclass(frozen=True)
class PartsReceipt:
    """Parts taken into a store's stock against a supplier's delivery note or purchase order."""

    event_id: str
    store_id: str
    part_number: str
    quantity: int
    unit_cost_fen: int
    reference: str
    received_on: date

    def __post_init__(self) -> None:
        _check_common(self.event_id, self.store_id)
        require_text(self.part_number, "part_number", max_length=SOURCE_ID_MAX)
        require_text(self.reference, "reference", max_length=PARTY_MAX)
        require_quantity(self.quantity, "quantity")
        require_fen(self.unit_cost_fen, "unit_cost", positive=True)

    @property
    def net_fen(self) -> int:
        return self.quantity * self.unit_cost_fen


@dataclass(frozen=True)
class CostedPart:
    """A part line at cost (VAT excluded): a transfer line or an issue line."""

    part_number: str
    quantity: int
    unit_cost_fen: int

    def __post_init__(self) -> None:
        require_text(self.part_number, "part_number", max_length=SOURCE_ID_MAX)
        require_quantity(self.quantity, f"quantity of {self.part_number}")
        require_fen(self.unit_cost_fen, f"unit_cost of {self.part_number}", positive=True)

    @property
    def value_fen(self) -> int:
        return self.quantity * self.unit_cost_fen


class TransferKind(StrEnum):
    VEHICLE = "vehicle"
    PARTS = "parts"


@dataclass(frozen=True)
class TransferMove:
    """A cross-store transfer (调拨) as it shipped or arrived, valued at the sender's cost."""

    event_id: str
    transfer_id: str
    kind: TransferKind
    from_store_id: str
    to_store_id: str
    on: date
    vin: str = ""
    vehicle_cost_fen: int = 0
    part_lines: tuple[CostedPart, ...] = ()

    def __post_init__(self) -> None:
        _check_common(self.event_id, self.from_store_id)
        require_text(self.to_store_id, "to_store_id", max_length=STORE_ID_MAX)
        require_text(self.transfer_id, "transfer_id", max_length=SOURCE_ID_MAX)
        if self.from_store_id == self.to_store_id:
            raise InvalidInput(
                f"Transfer {self.transfer_id} goes from store {self.from_store_id} to itself.",
                errors=[{"field": "to_store_id", "rule": "other_store"}],
            )
        if self.kind is TransferKind.VEHICLE:
            require_text(self.vin, "vin", max_length=VIN_MAX)
            require_fen(self.vehicle_cost_fen, "vehicle_cost", positive=True)
        elif not self.part_lines:
            raise InvalidInput(
                f"Parts transfer {self.transfer_id} has no part lines to value.",
                errors=[{"field": "part_lines", "rule": "required"}],
            )

    @property
    def value_fen(self) -> int:
        if self.kind is TransferKind.VEHICLE:
            return self.vehicle_cost_fen
        return sum(line.value_fen for line in self.part_lines)

    @property
    def inventory_account(self) -> str:
        return INVENTORY_NEW_VEHICLES if self.kind is TransferKind.VEHICLE else INVENTORY_PARTS

    @property
    def business_line(self) -> str:
        return NEW_VEHICLES if self.kind is TransferKind.VEHICLE else PARTS


@dataclass(frozen=True)
class TransferArrival(TransferMove):
    """The same transfer, taken into the receiving store's stock."""


@dataclass(frozen=True)
class PartsIssue:
    """Parts issued out of a store's stock (出库) against a reference such as a repair order."""

    event_id: str
    store_id: str
    reference: str
    lines: tuple[CostedPart, ...]
    on: date

    def __post_init__(self) -> None:
        _check_common(self.event_id, self.store_id)
        require_text(self.reference, "reference", max_length=SOURCE_ID_MAX)
        if not self.lines:
            raise InvalidInput(
                f"Parts issue {self.reference} has no lines.",
                errors=[{"field": "lines", "rule": "required"}],
            )

    @property
    def value_fen(self) -> int:
        return sum(line.value_fen for line in self.lines)


@dataclass(frozen=True)
class VehicleDelivery:
    """A sold vehicle handed over to its customer (交车): its cost becomes cost of sales."""

    event_id: str
    store_id: str
    vin: str
    model_code: str
    cost_fen: int
    on: date
    order_ref: str = ""

    def __post_init__(self) -> None:
        _check_common(self.event_id, self.store_id)
        require_text(self.vin, "vin", max_length=VIN_MAX)
        require_text(self.model_code, "model_code", max_length=MODEL_CODE_MAX, required=False)
        require_fen(self.cost_fen, "vehicle.cost", positive=True)


def _check_common(event_id: str, store_id: str) -> None:
    require_text(event_id, "event id", max_length=SOURCE_ID_MAX)
    require_text(store_id, "store_id", max_length=STORE_ID_MAX)


# --- rules ---------------------------------------------------------------------------------


def vehicle_received(fact: VehicleReceipt) -> EntryDraft:
    """Dr 1405.01 inventory at cost, Dr 2221.01 input VAT (13%), Cr 2202.01 what the OEM is owed."""
    amount = add_vat(fact.cost_fen)
    dims = {"business_line": NEW_VEHICLES, "model_code": fact.model_code, "vin": fact.vin}
    party = oem_supplier(fact.brand)
    return EntryDraft(
        store_id=fact.store_id,
        entry_date=fact.received_on,
        description=f"Vehicle {fact.vin} ({fact.model_code or fact.brand}) received from "
        f"{fact.brand}: cost {format_yuan(amount.net)} + VAT {format_yuan(amount.vat)}",
        source_type=VEHICLE_ARRIVED,
        source_id=fact.vin,
        source_event_id=fact.event_id,
        rule=Rule.VEHICLE_RECEIVED.value,
        lines=(
            debit(INVENTORY_NEW_VEHICLES, amount.net, **dims),
            debit(VAT_INPUT, amount.vat, **dims, party=party),
            credit(AP_OEM, amount.gross, **dims, party=party),
        ),
    )


def parts_received(fact: PartsReceipt) -> EntryDraft:
    """Dr 1405.03 quantity x unit cost, Dr 2221.01 input VAT, Cr 2202.02 owed to the supplier."""
    amount = add_vat(fact.net_fen)
    memo = f"{fact.quantity} x {fact.part_number} @ {format_yuan(fact.unit_cost_fen)}"
    # The payables ledger's party for parts deliveries; the delivery note is the line's memo.
    payable = {"business_line": PARTS, "party": PARTS_SUPPLIER, "memo": fact.reference}
    return EntryDraft(
        store_id=fact.store_id,
        entry_date=fact.received_on,
        description=f"Parts received on {fact.reference}: {memo}",
        source_type=PARTS_RECEIVED,
        source_id=fact.reference,
        source_event_id=fact.event_id,
        rule=Rule.PARTS_RECEIVED.value,
        lines=(
            debit(INVENTORY_PARTS, amount.net, business_line=PARTS, memo=memo),
            debit(VAT_INPUT, amount.vat, **payable),
            credit(AP_SUPPLIERS, amount.gross, **payable),
        ),
    )


def _what(move: TransferMove) -> str:
    if move.kind is TransferKind.VEHICLE:
        return f"vehicle {move.vin}"
    return f"{len(move.part_lines)} part line(s)"


def transfer_shipped(move: TransferMove) -> tuple[EntryDraft, EntryDraft]:
    """Two entries, one per store, meeting on 1901 so the group nets to zero.

    Sender: Dr 1901 (claim on the receiver) / Cr its inventory, at cost.
    Receiver: Dr 1402 goods in transit / Cr 1901 (debt to the sender).
    """
    value = move.value_fen
    dims = {"business_line": move.business_line, "vin": move.vin}
    text = f"Transfer {move.transfer_id} shipped, {_what(move)} at cost {format_yuan(value)}"
    out = EntryDraft(
        store_id=move.from_store_id,
        entry_date=move.on,
        description=f"{text} to {move.to_store_id}",
        source_type=TRANSFER_SHIPPED,
        source_id=move.transfer_id,
        source_event_id=move.event_id,
        rule=Rule.TRANSFER_SHIPPED_OUT.value,
        lines=(
            debit(INTER_STORE, value, counterparty_store=move.to_store_id, **dims),
            credit(move.inventory_account, value, **dims),
        ),
    )
    incoming = EntryDraft(
        store_id=move.to_store_id,
        entry_date=move.on,
        description=f"{text} from {move.from_store_id}",
        source_type=TRANSFER_SHIPPED,
        source_id=move.transfer_id,
        source_event_id=move.event_id,
        rule=Rule.TRANSFER_SHIPPED_IN.value,
        lines=(
            debit(GOODS_IN_TRANSIT, value, **dims),
            credit(INTER_STORE, value, counterparty_store=move.from_store_id, **dims),
        ),
    )
    return out, incoming


def transfer_received(move: TransferArrival) -> EntryDraft:
    """Receiver: Dr its inventory / Cr 1402 goods in transit, at the value shipped."""
    value = move.value_fen
    dims = {"business_line": move.business_line, "vin": move.vin}
    return EntryDraft(
        store_id=move.to_store_id,
        entry_date=move.on,
        description=f"Transfer {move.transfer_id} received from {move.from_store_id}, "
        f"{_what(move)} at cost {format_yuan(value)}",
        source_type=TRANSFER_RECEIVED,
        source_id=move.transfer_id,
        source_event_id=move.event_id,
        rule=Rule.TRANSFER_RECEIVED.value,
        lines=(
            debit(move.inventory_account, value, **dims),
            credit(GOODS_IN_TRANSIT, value, **dims),
        ),
    )


def parts_consumed(issue: PartsIssue) -> EntryDraft:
    """Dr 6401.03 cost of sales (parts) / Cr 1405.03, the sum of quantity x unit cost."""
    value = issue.value_fen
    return EntryDraft(
        store_id=issue.store_id,
        entry_date=issue.on,
        description=f"Parts issued to {issue.reference}: {len(issue.lines)} line(s) at cost "
        f"{format_yuan(value)}",
        source_type=PARTS_CONSUMED,
        source_id=issue.reference,
        source_event_id=issue.event_id,
        rule=Rule.PARTS_CONSUMED.value,
        lines=(
            debit(COST_OF_SALES_PARTS, value, business_line=PARTS, memo=issue.reference),
            credit(INVENTORY_PARTS, value, business_line=PARTS, memo=issue.reference),
        ),
    )


def vehicle_delivered(fact: VehicleDelivery) -> EntryDraft:
    """Dr 6401.01 cost of sales (new vehicles) / Cr 1405.01, at the vehicle's cost."""
    dims = {
        "business_line": NEW_VEHICLES,
        "model_code": fact.model_code,
        "vin": fact.vin,
        "memo": fact.order_ref,
    }
    return EntryDraft(
        store_id=fact.store_id,
        entry_date=fact.on,
        description=f"Cost of sale of vehicle {fact.vin} delivered"
        + (f" on order {fact.order_ref}" if fact.order_ref else "")
        + f": {format_yuan(fact.cost_fen)}",
        source_type=VEHICLE_DELIVERED,
        source_id=fact.vin,
        source_event_id=fact.event_id,
        rule=Rule.VEHICLE_DELIVERED.value,
        lines=(
            debit(COST_OF_SALES_NEW_VEHICLES, fact.cost_fen, **dims),
            credit(INVENTORY_NEW_VEHICLES, fact.cost_fen, **dims),
        ),
    )


InventoryFact = (
    VehicleReceipt | PartsReceipt | TransferMove | TransferArrival | PartsIssue | VehicleDelivery
)


def drafts_for(fact: InventoryFact) -> list[EntryDraft]:
    """Every entry one fact posts (two for a shipment: one per store)."""
    match fact:
        case VehicleReceipt():
            return [vehicle_received(fact)]
        case PartsReceipt():
            return [parts_received(fact)]
        case TransferArrival():
            return [transfer_received(fact)]
        case TransferMove():
            return list(transfer_shipped(fact))
        case PartsIssue():
            return [parts_consumed(fact)]
        case VehicleDelivery():
            return [vehicle_delivered(fact)]
    raise TypeError(f"no posting rule for {type(fact).__name__}")
