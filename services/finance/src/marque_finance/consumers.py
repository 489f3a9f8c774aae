"""Finance's event handlers: inventory's stock movements become journal entries (业务财务一体化).

One consumer, `finance.from.inventory`, bound to the six events that move stock value. Each handler
runs in the consumer's inbox transaction: it parses the envelope into the proto, maps the proto to
a domain fact (`facts_from`), posts the rule's entries through `books.post_all`, and, for goods
bought from the OEM or a supplier, opens the payable in the same transaction.

- The entry date is the business date of the event: a vehicle's `arrived_on`, otherwise
  `occurred_at` in the stores' time zone (Asia/Shanghai). A date in a closed period lands in the
  next open one with a note (the ledger's rule).
- The store comes from the event's data (a transfer names both ends); the envelope's `marquestore`
  is used only when the data names none.
- An event that can never post (no cost, a foreign currency, no store, ...) raises InvalidInput:
  the kit parks it in `finance.from.inventory.parked` and the worker goes on.
- A repeat of the same event id is stopped by the inbox; even past the inbox's retention, the
  books' (source_event_id, store, rule) key posts it once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, tzinfo
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from marque.common.v1 import common_pb2
from marque.inventory.v1 import events_pb2 as inv
from marque.inventory.v1 import inventory_pb2
from marque_finance import books, payables_service
from marque_finance.domain.money import add_vat
from marque_finance.domain.posting_rules.inventory import (
    CostedPart,
    InventoryFact,
    PartsIssue,
    PartsReceipt,
    TransferArrival,
    TransferKind,
    TransferMove,
    VehicleDelivery,
    VehicleReceipt,
    drafts_for,
)
from marque_finance.events import CURRENCY
from marque_finance.unit_of_work import Finance
from marque_kit.broker import Broker
from marque_kit.consumer import Consumer
from marque_kit.envelope import Envelope, MalformedEvent
from marque_kit.errors import InvalidInput

CONSUMER = "finance"
PRODUCER = "inventory"

# --- proto -> facts --------------------------------------------------------------------------


def _fen(money: common_pb2.Money, present: bool, field: str) -> int:
    """Fen from a Money field that must be there, in CNY."""
    if not present:
        raise InvalidInput(
            f"{field} is missing; finance cannot value the movement without a cost.",
            errors=[{"field": field, "rule": "required"}],
        )
    if money.currency_code not in ("", CURRENCY):
        raise InvalidInput(
            f"{field} is in {money.currency_code}; the books are kept in {CURRENCY}.",
            errors=[{"field": field, "rule": "currency"}],
        )
    return int(money.amount_fen)


def _occurred_on(message: Any, envelope: Envelope, zone: tzinfo) -> date:
    """The event's business date: `occurred_at` (else the envelope's time) in the stores' zone."""
    if message.HasField("occurred_at"):
        at: datetime = message.occurred_at.ToDatetime(tzinfo=UTC)
    else:
        try:
            at = datetime.fromisoformat(envelope.time.replace("Z", "+00:00"))
        except ValueError as exc:
            raise MalformedEvent(f"The event's time {envelope.time!r} is not a timestamp.") from exc
        if at.tzinfo is None:
            at = at.replace(tzinfo=UTC)
    return at.astimezone(zone).date()


def _store(data_store: str, envelope: Envelope) -> str:
    return data_store or envelope.store


def _vehicle(message: Any, field: str = "vehicle") -> inv.VehicleSnapshot:
    if not message.HasField(field):
        raise MalformedEvent(f"The event carries no {field}.")
    snapshot: inv.VehicleSnapshot = getattr(message, field)
    return snapshot


def vehicle_receipt(envelope: Envelope, zone: tzinfo) -> VehicleReceipt:
    message = envelope.parse(inv.VehicleArrived)
    vehicle = _vehicle(message)
    if vehicle.arrived_on:
        try:
            received_on = date.fromisoformat(vehicle.arrived_on)
        except ValueError:
            raise InvalidInput(
                f"vehicle.arrived_on {vehicle.arrived_on!r} is not a date (YYYY-MM-DD).",
                errors=[{"field": "vehicle.arrived_on", "rule": "date"}],
            ) from None
    else:
        received_on = _occurred_on(message, envelope, zone)
    return VehicleReceipt(
        event_id=envelope.id,
        store_id=_store(vehicle.store_id, envelope),
        vin=vehicle.vin,
        brand=vehicle.brand,
        model_code=vehicle.model_code,
        cost_fen=_fen(vehicle.cost, vehicle.HasField("cost"), "vehicle.cost"),
        received_on=received_on,
    )


def parts_receipt(envelope: Envelope, zone: tzinfo) -> PartsReceipt:
    message = envelope.parse(inv.PartsReceived)
    return PartsReceipt(
        event_id=envelope.id,
        store_id=_store(message.store_id, envelope),
        part_number=message.part_number,
        quantity=message.quantity,
        unit_cost_fen=_fen(message.unit_cost, message.HasField("unit_cost"), "unit_cost"),
        reference=message.reference,
        received_on=_occurred_on(message, envelope, zone),
    )


def _costed(line: Any, field: str) -> CostedPart:
    return CostedPart(
        part_number=line.part_number,
        quantity=line.quantity,
        unit_cost_fen=_fen(line.unit_cost, line.HasField("unit_cost"), field),
    )


_KINDS = {
    inventory_pb2.TRANSFER_KIND_VEHICLE: TransferKind.VEHICLE,
    inventory_pb2.TRANSFER_KIND_PARTS: TransferKind.PARTS,
}


def _transfer_fields(message: Any, envelope: Envelope, zone: tzinfo) -> dict[str, Any]:
    if not message.HasField("transfer"):
        raise MalformedEvent("The event carries no transfer.")
    transfer: inv.TransferSnapshot = message.transfer
    kind = _KINDS.get(transfer.kind)
    if kind is None:
        raise InvalidInput(
            f"Transfer {transfer.transfer_id} is neither a vehicle nor a parts transfer.",
            errors=[{"field": "transfer.kind", "rule": "required"}],
        )
    fields: dict[str, Any] = {
        "event_id": envelope.id,
        "transfer_id": transfer.transfer_id,
        "kind": kind,
        "from_store_id": _store(transfer.from_store_id, envelope),
        "to_store_id": transfer.to_store_id,
        "on": _occurred_on(message, envelope, zone),
    }
    if kind is TransferKind.VEHICLE:
        fields["vin"] = transfer.vin
        fields["vehicle_cost_fen"] = _fen(
            transfer.vehicle_cost, transfer.HasField("vehicle_cost"), "transfer.vehicle_cost"
        )
    else:
        fields["part_lines"] = tuple(
            _costed(line, f"transfer.part_lines[{n}].unit_cost")
            for n, line in enumerate(transfer.part_lines)
        )
    return fields


def transfer_shipment(envelope: Envelope, zone: tzinfo) -> TransferMove:
    return TransferMove(**_transfer_fields(envelope.parse(inv.TransferShipped), envelope, zone))


def transfer_arrival(envelope: Envelope, zone: tzinfo) -> TransferArrival:
    return TransferArrival(**_transfer_fields(envelope.parse(inv.TransferReceived), envelope, zone))


def parts_issue(envelope: Envelope, zone: tzinfo) -> PartsIssue:
    message = envelope.parse(inv.PartsConsumed)
    return PartsIssue(
        event_id=envelope.id,
        store_id=_store(message.store_id, envelope),
        reference=message.reference,
        lines=tuple(_costed(line, f"lines[{n}].unit_cost") for n, line in enumerate(message.lines)),
        on=_occurred_on(message, envelope, zone),
    )


def vehicle_delivery(envelope: Envelope, zone: tzinfo) -> VehicleDelivery:
    message = envelope.parse(inv.VehicleDelivered)
    vehicle = _vehicle(message)
    return VehicleDelivery(
        event_id=envelope.id,
        store_id=_store(vehicle.store_id, envelope),
        vin=vehicle.vin,
        model_code=vehicle.model_code,
        cost_fen=_fen(vehicle.cost, vehicle.HasField("cost"), "vehicle.cost"),
        on=_occurred_on(message, envelope, zone),
        order_ref=message.order_ref,
    )


Mapper = Callable[[Envelope, tzinfo], InventoryFact]

# Event type -> (routing key, proto -> fact).
MAPPERS: dict[str, tuple[str, Mapper]] = {
    "marque.inventory.v1.VehicleArrived": ("inventory.vehicle.arrived", vehicle_receipt),
    "marque.inventory.v1.VehicleDelivered": ("inventory.vehicle.delivered", vehicle_delivery),
    "marque.inventory.v1.PartsReceived": ("inventory.part.received", parts_receipt),
    "marque.inventory.v1.PartsConsumed": ("inventory.part.consumed", parts_issue),
    "marque.inventory.v1.TransferShipped": ("inventory.transfer.shipped", transfer_shipment),
    "marque.inventory.v1.TransferReceived": ("inventory.transfer.received", transfer_arrival),
}


def facts_from(envelope: Envelope, zone: tzinfo) -> InventoryFact:
    """The domain fact an inventory event states; MalformedEvent for a type finance ignores."""
    entry = MAPPERS.get(envelope.type)
    if entry is None:
        raise MalformedEvent(f"Finance posts nothing for {envelope.type}.")
    return entry[1](envelope, zone)


# --- handlers -------------------------------------------------------------------------------


async def open_payable(
    session: AsyncSession, finance: Finance, fact: InventoryFact, envelope: Envelope
) -> None:
    """Goods bought on credit: what the OEM or the supplier is owed, beside the entry."""
    if isinstance(fact, VehicleReceipt):
        amount = add_vat(fact.cost_fen)
        await payables_service.oem_vehicle_received(
            session,
            finance,
            store_id=fact.store_id,
            vin=fact.vin,
            brand=fact.brand,
            model_code=fact.model_code,
            net_fen=amount.net,
            vat_fen=amount.vat,
            received_on=fact.received_on,
            source_event_id=envelope.id,
        )
    elif isinstance(fact, PartsReceipt):
        amount = add_vat(fact.net_fen)
        await payables_service.supplier_parts_received(
            session,
            finance,
            store_id=fact.store_id,
            reference=fact.reference,
            part_number=fact.part_number,
            quantity=fact.quantity,
            net_fen=amount.net,
            vat_fen=amount.vat,
            received_on=fact.received_on,
            source_event_id=envelope.id,
        )


def posting_handler(
    finance: Finance, mapper: Mapper
) -> Callable[[AsyncSession, Envelope], Awaitable[None]]:
    async def handle(session: AsyncSession, envelope: Envelope) -> None:
        fact = mapper(envelope, finance.zone)
        posted = await books.post_all(session, drafts_for(fact))
        if posted:
            # Posted just now, so the payable (same transaction, same key) is new as well.
            await open_payable(session, finance, fact, envelope)

    return handle


def inventory_consumer(finance: Finance, broker: Broker) -> Consumer:
    """`finance.from.inventory`: posts stock movements; every other inventory event is ignored."""
    return Consumer(
        finance.db,
        broker,
        service="finance",
        consumer=CONSUMER,
        producer=PRODUCER,
        handlers={
            event_type: posting_handler(finance, mapper)
            for event_type, (_, mapper) in MAPPERS.items()
        },
        bindings=sorted(key for key, _ in MAPPERS.values()),
    )
