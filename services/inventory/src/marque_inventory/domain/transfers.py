"""The cross-store transfer (调拨) as a saga: named steps, each with its compensation.

    hold_stock  (vehicle -> in transfer, or parts reserved at the source)   undo: release_stock
    approve     (a manager of the source store, or HQ)
    ship        (stock leaves the source store at cost: the point of no return)
    receive     (stock arrives at the destination store at the same cost)

A rejection or cancellation runs the compensations of the steps done so far, in reverse order.
The steps reach the stock through `TransferPorts`, which the service implements over its database,
so that the transfer and the stock it moves change in one transaction. Each step is idempotent:
asking for a step the transfer has already taken changes nothing and returns no events.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any, NoReturn, Protocol

from marque_inventory.domain import events as ev
from marque_inventory.domain.checks import require_text, utc_now
from marque_inventory.domain.errors import IllegalTransition
from marque_inventory.domain.part_lines import CostedPartLine, PartLine, merge_lines
from marque_inventory.domain.parts import (
    PartStock,
    release_lines,
    reserve_lines,
    transfer_out_lines,
)
from marque_inventory.domain.vehicles import Vehicle
from marque_inventory.domain.vin import validate_vin
from marque_kit.auth import Principal
from marque_kit.errors import Conflict, Forbidden, InvalidInput


class TransferKind(StrEnum):
    VEHICLE = "vehicle"
    PARTS = "parts"


class TransferStatus(StrEnum):
    REQUESTED = "requested"
    APPROVED = "approved"
    REJECTED = "rejected"
    SHIPPED = "shipped"
    RECEIVED = "received"
    CANCELLED = "cancelled"


# The rulebook: from each status, the commands allowed and the status each one leads to.
TRANSFER_TRANSITIONS: dict[TransferStatus, dict[str, TransferStatus]] = {
    TransferStatus.REQUESTED: {
        "approve": TransferStatus.APPROVED,
        "reject": TransferStatus.REJECTED,
        "cancel": TransferStatus.CANCELLED,
    },
    TransferStatus.APPROVED: {
        "ship": TransferStatus.SHIPPED,
        "cancel": TransferStatus.CANCELLED,
    },
    TransferStatus.SHIPPED: {"receive": TransferStatus.RECEIVED},
    TransferStatus.RECEIVED: {},
    TransferStatus.REJECTED: {},
    TransferStatus.CANCELLED: {},
}
# Each command leads to exactly one status, so that status tells whether it was already done.
_RESULT_OF: dict[str, TransferStatus] = {
    cmd: target for moves in TRANSFER_TRANSITIONS.values() for cmd, target in moves.items()
}
_PAST = {
    "approve": "approved",
    "reject": "rejected",
    "cancel": "cancelled",
    "ship": "shipped",
    "receive": "received",
}


@dataclass(frozen=True)
class TransferValuation:
    """What the transferred stock is worth at cost, fixed when it ships: finance posts from it."""

    vehicle_cost_fen: int | None
    costed_lines: tuple[CostedPartLine, ...] = ()

    @property
    def value_fen(self) -> int:
        return (self.vehicle_cost_fen or 0) + sum(line.value_fen for line in self.costed_lines)


@dataclass(eq=False)
class Transfer:
    id: str
    kind: TransferKind
    from_store_id: str
    to_store_id: str
    requested_by: str
    vin: str | None = None
    lines: tuple[PartLine, ...] = ()
    reason: str = ""  # why it was asked for, then why it was rejected or cancelled
    status: TransferStatus = TransferStatus.REQUESTED
    approved_by: str | None = None
    valuation: TransferValuation | None = None
    received_on: date | None = None
    version: int = 0
    _pending: list[ev.InventoryEvent] = field(default_factory=list, init=False, repr=False)

    @property
    def stock_reference(self) -> str:
        """How the stock ledger names this transfer."""
        return f"transfer:{self.id}"

    @classmethod
    def request(
        cls,
        *,
        transfer_id: str,
        kind: TransferKind | str,
        from_store_id: str,
        to_store_id: str,
        requested_by: str,
        vin: str | None = None,
        lines: Iterable[PartLine] = (),
        reason: str = "",
        now: datetime | None = None,
    ) -> Transfer:
        """Ask for one vehicle, or some parts, to move from one store to another."""
        kind = _kind(kind)
        from_store_id = require_text(from_store_id, "from_store_id")
        to_store_id = require_text(to_store_id, "to_store_id")
        if from_store_id == to_store_id:
            raise InvalidInput(
                f"A transfer goes to another store; both ends are {from_store_id}.",
                errors=[{"field": "to_store_id", "rule": "differs_from_source"}],
            )
        merged = merge_lines(lines)
        if kind is TransferKind.VEHICLE:
            if vin is None or merged:
                raise InvalidInput(
                    "A vehicle transfer names one VIN and no part lines.",
                    errors=[{"field": "vin", "rule": "required_for_vehicle_transfer"}],
                )
            vin = validate_vin(vin)
        elif vin is not None or not merged:
            raise InvalidInput(
                "A parts transfer lists at least one part line and no VIN.",
                errors=[{"field": "lines", "rule": "required_for_parts_transfer"}],
            )
        transfer = cls(
            id=require_text(transfer_id, "transfer_id"),
            kind=kind,
            from_store_id=from_store_id,
            to_store_id=to_store_id,
            requested_by=require_text(requested_by, "requested_by"),
            vin=vin,
            lines=merged,
            reason=reason,
            version=1,
        )
        transfer._record(
            ev.TransferRequested(**transfer._facts(now), requested_by=requested_by, reason=reason)
        )
        return transfer

    # --- reading ----------------------------------------------------------------------------

    def has_done(self, command: str) -> bool:
        return self.status is _RESULT_OF[command]

    def check_can(self, command: str) -> None:
        """Refuse, with a sentence, a command the table does not allow from the current status."""
        if command not in TRANSFER_TRANSITIONS[self.status]:
            self._refuse(command)

    def check_approver(self, approver: Principal) -> None:
        """Only a manager of the source store, or HQ, may give away that store's stock."""
        if not approver.is_manager_of(self.from_store_id):
            raise Forbidden(
                f"Only a manager of store {self.from_store_id} or HQ can approve or reject "
                f"transfer {self.id}."
            )

    def pull_events(self) -> list[ev.InventoryEvent]:
        pending, self._pending = self._pending, []
        return pending

    # --- commands (the saga functions below move the stock first) ----------------------------

    def approve(
        self, approver: Principal, *, now: datetime | None = None
    ) -> list[ev.InventoryEvent]:
        if self.has_done("approve"):
            return []
        self.check_can("approve")
        self.check_approver(approver)
        self._move("approve")
        self.approved_by = approver.subject
        return self._record(ev.TransferApproved(**self._facts(now), approved_by=approver.subject))

    def reject(
        self, rejecter: Principal, reason: str, *, now: datetime | None = None
    ) -> list[ev.InventoryEvent]:
        if self.has_done("reject"):
            return []
        self.check_can("reject")
        self.check_approver(rejecter)
        reason = require_text(reason, "reason")
        self._move("reject")
        self.reason = reason
        return self._record(
            ev.TransferRejected(**self._facts(now), rejected_by=rejecter.subject, reason=reason)
        )

    def cancel(
        self, cancelled_by: str, reason: str, *, now: datetime | None = None
    ) -> list[ev.InventoryEvent]:
        if self.has_done("cancel"):
            return []
        self.check_can("cancel")
        self._move("cancel")
        self.reason = reason
        return self._record(
            ev.TransferCancelled(**self._facts(now), cancelled_by=cancelled_by, reason=reason)
        )

    def ship(
        self, shipped_by: str, valuation: TransferValuation, *, now: datetime | None = None
    ) -> list[ev.InventoryEvent]:
        if self.has_done("ship"):
            return []
        self.check_can("ship")
        self._move("ship")
        self.valuation = valuation
        return self._record(
            ev.TransferShipped(**self._facts(now), shipped_by=shipped_by, **_valued(valuation))
        )

    def receive(
        self, received_by: str, received_on: date, *, now: datetime | None = None
    ) -> list[ev.InventoryEvent]:
        if self.has_done("receive"):
            return []
        self.check_can("receive")
        assert self.valuation is not None, "a shipped transfer is always valued"
        self._move("receive")
        self.received_on = received_on
        return self._record(
            ev.TransferReceived(
                **self._facts(now),
                received_by=received_by,
                received_on=received_on,
                **_valued(self.valuation),
            )
        )

    # --- the machinery ----------------------------------------------------------------------

    def _refuse(self, command: str) -> NoReturn:
        allowed = " or ".join(
            s.value for s, moves in TRANSFER_TRANSITIONS.items() if command in moves
        )
        raise IllegalTransition(
            f"Transfer {self.id} is {self.status.value}; only a {allowed} transfer can be "
            f"{_PAST[command]}.",
            errors=[{"field": "status", "rule": command, "status": self.status.value}],
        )

    def _move(self, command: str) -> None:
        self.check_can(command)
        self.status = TRANSFER_TRANSITIONS[self.status][command]
        self.version += 1

    def _facts(self, now: datetime | None) -> dict[str, Any]:
        return {
            "transfer_id": self.id,
            "kind": self.kind.value,
            "from_store_id": self.from_store_id,
            "to_store_id": self.to_store_id,
            "status": self.status.value,
            "version": self.version,
            "vin": self.vin,
            "lines": self.lines,
            "occurred_at": utc_now(now),
        }

    def _record(self, event: ev.InventoryEvent) -> list[ev.InventoryEvent]:
        self._pending.append(event)
        return [event]


def _kind(kind: TransferKind | str) -> TransferKind:
    try:
        return TransferKind(kind)
    except ValueError:
        raise InvalidInput(
            f"A transfer moves a vehicle or parts, not {kind!r}.",
            errors=[{"field": "kind", "rule": "vehicle_or_parts"}],
        ) from None


def _valued(valuation: TransferValuation) -> dict[str, Any]:
    return {
        "vehicle_cost_fen": valuation.vehicle_cost_fen,
        "costed_lines": valuation.costed_lines,
        "value_fen": valuation.value_fen,
    }


# --- the stock the saga moves ---------------------------------------------------------------


class TransferPorts(Protocol):
    """How the saga reaches the stock; the service implements it over its database, locking what it
    loads. `load_vehicle` raises NotFound for an unknown VIN; `load_part_stock` answers None for a
    part the store has never held."""

    async def load_vehicle(self, vin: str) -> Vehicle: ...

    async def save_vehicle(self, vehicle: Vehicle) -> None: ...

    async def load_part_stock(self, store_id: str, part_number: str) -> PartStock | None: ...

    async def save_part_stock(self, stock: PartStock) -> None: ...


@dataclass(frozen=True)
class StepContext:
    actor: str
    now: datetime
    received_on: date | None = None


StockAction = Callable[[Transfer, TransferPorts, StepContext], Awaitable[TransferValuation | None]]


async def _held_vehicle(transfer: Transfer, ports: TransferPorts) -> Vehicle:
    assert transfer.vin is not None
    return await ports.load_vehicle(transfer.vin)


async def _stocks_at(
    store_id: str, lines: Iterable[PartLine], ports: TransferPorts
) -> dict[str, PartStock]:
    """The store's stock of each part; a part it never held is an empty record (none available)."""
    stocks: dict[str, PartStock] = {}
    for line in lines:
        stock = await ports.load_part_stock(store_id, line.part_number)
        stocks[line.part_number] = stock or PartStock.open(store_id, line.part_number)
    return stocks


async def _save_all(stocks: dict[str, PartStock], ports: TransferPorts) -> None:
    for stock in stocks.values():
        await ports.save_part_stock(stock)


async def hold_stock(
    transfer: Transfer, ports: TransferPorts, ctx: StepContext
) -> TransferValuation | None:
    """Take the stock out of sale at the source store, or change nothing and say why."""
    if transfer.kind is TransferKind.VEHICLE:
        vehicle = await _held_vehicle(transfer, ports)
        if vehicle.store_id != transfer.from_store_id:
            raise Conflict(
                f"Vehicle {vehicle.vin} is in store {vehicle.store_id}, not "
                f"{transfer.from_store_id}; a transfer starts where the vehicle is."
            )
        vehicle.start_transfer(transfer.id)
        await ports.save_vehicle(vehicle)
    else:
        stocks = await _stocks_at(transfer.from_store_id, transfer.lines, ports)
        reserve_lines(stocks, transfer.lines, transfer.stock_reference, now=ctx.now)
        await _save_all(stocks, ports)
    return None


async def release_stock(
    transfer: Transfer, ports: TransferPorts, ctx: StepContext
) -> TransferValuation | None:
    """Undo hold_stock: the vehicle or the parts are for sale at the source store again."""
    if transfer.kind is TransferKind.VEHICLE:
        vehicle = await _held_vehicle(transfer, ports)
        vehicle.abort_transfer(transfer.id)
        await ports.save_vehicle(vehicle)
    else:
        stocks = await _stocks_at(transfer.from_store_id, transfer.lines, ports)
        release_lines(stocks, transfer.lines, transfer.stock_reference, now=ctx.now)
        await _save_all(stocks, ports)
    return None


async def ship_stock(
    transfer: Transfer, ports: TransferPorts, ctx: StepContext
) -> TransferValuation | None:
    """The stock leaves the source store; its cost is fixed here for finance."""
    if transfer.kind is TransferKind.VEHICLE:
        vehicle = await _held_vehicle(transfer, ports)
        if vehicle.transfer_id != transfer.id:
            raise Conflict(
                f"Vehicle {vehicle.vin} is not held by transfer {transfer.id}; it cannot ship."
            )
        return TransferValuation(vehicle_cost_fen=vehicle.cost_fen)
    stocks = await _stocks_at(transfer.from_store_id, transfer.lines, ports)
    costed = transfer_out_lines(stocks, transfer.lines, transfer.stock_reference, now=ctx.now)
    await _save_all(stocks, ports)
    return TransferValuation(vehicle_cost_fen=None, costed_lines=costed)


async def receive_stock(
    transfer: Transfer, ports: TransferPorts, ctx: StepContext
) -> TransferValuation | None:
    """The stock arrives at the destination store, in stock there at the cost it shipped at."""
    assert transfer.valuation is not None and ctx.received_on is not None
    if transfer.kind is TransferKind.VEHICLE:
        vehicle = await _held_vehicle(transfer, ports)
        vehicle.complete_transfer(transfer.id, transfer.to_store_id, ctx.received_on)
        await ports.save_vehicle(vehicle)
    else:
        lines = [PartLine(c.part_number, c.quantity) for c in transfer.valuation.costed_lines]
        stocks = await _stocks_at(transfer.to_store_id, lines, ports)
        for line in transfer.valuation.costed_lines:
            stocks[line.part_number].transfer_in(
                line.quantity, line.unit_cost_fen, transfer.stock_reference, now=ctx.now
            )
        await _save_all(stocks, ports)
    return transfer.valuation


@dataclass(frozen=True)
class SagaStep:
    name: str
    completes_at: TransferStatus  # the transfer's status once this step is done
    action: StockAction | None = None
    compensation: StockAction | None = None


TRANSFER_SAGA: tuple[SagaStep, ...] = (
    SagaStep("hold_stock", TransferStatus.REQUESTED, hold_stock, compensation=release_stock),
    SagaStep("approve", TransferStatus.APPROVED),
    SagaStep("ship", TransferStatus.SHIPPED, ship_stock),
    SagaStep("receive", TransferStatus.RECEIVED, receive_stock),
)


def steps_done(status: TransferStatus) -> tuple[SagaStep, ...]:
    """The saga steps a transfer in this status has completed (none once it was undone)."""
    reached = [step.completes_at for step in TRANSFER_SAGA]
    return TRANSFER_SAGA[: reached.index(status) + 1] if status in reached else ()


async def _run(
    name: str, transfer: Transfer, ports: TransferPorts, ctx: StepContext
) -> TransferValuation | None:
    step = next(s for s in TRANSFER_SAGA if s.name == name)
    return await step.action(transfer, ports, ctx) if step.action else None


async def _compensate(transfer: Transfer, ports: TransferPorts, ctx: StepContext) -> None:
    for step in reversed(steps_done(transfer.status)):
        if step.compensation is not None:
            await step.compensation(transfer, ports, ctx)


# --- the saga, one function per business command ---------------------------------------------


async def request_transfer(
    ports: TransferPorts,
    *,
    transfer_id: str,
    kind: TransferKind | str,
    from_store_id: str,
    to_store_id: str,
    requested_by: str,
    vin: str | None = None,
    lines: Iterable[PartLine] = (),
    reason: str = "",
    now: datetime | None = None,
) -> Transfer:
    """Ask for the transfer and hold its stock at once; if the stock cannot be held (a vehicle
    reserved meanwhile, parts short) nothing changes and the Conflict says why."""
    now = utc_now(now)
    transfer = Transfer.request(
        transfer_id=transfer_id,
        kind=kind,
        from_store_id=from_store_id,
        to_store_id=to_store_id,
        requested_by=requested_by,
        vin=vin,
        lines=lines,
        reason=reason,
        now=now,
    )
    await _run("hold_stock", transfer, ports, StepContext(requested_by, now))
    return transfer


async def approve_transfer(
    transfer: Transfer, ports: TransferPorts, *, approver: Principal, now: datetime | None = None
) -> list[ev.InventoryEvent]:
    if transfer.has_done("approve"):
        return []
    transfer.check_can("approve")
    transfer.check_approver(approver)
    await _run("approve", transfer, ports, StepContext(approver.subject, utc_now(now)))
    return transfer.approve(approver, now=now)


async def reject_transfer(
    transfer: Transfer,
    ports: TransferPorts,
    *,
    rejecter: Principal,
    reason: str,
    now: datetime | None = None,
) -> list[ev.InventoryEvent]:
    """Refuse the transfer; the held stock goes back on sale at the source store."""
    if transfer.has_done("reject"):
        return []
    transfer.check_can("reject")
    transfer.check_approver(rejecter)
    require_text(reason, "reason")
    await _compensate(transfer, ports, StepContext(rejecter.subject, utc_now(now)))
    return transfer.reject(rejecter, reason, now=now)


async def cancel_transfer(
    transfer: Transfer,
    ports: TransferPorts,
    *,
    cancelled_by: str,
    reason: str,
    now: datetime | None = None,
) -> list[ev.InventoryEvent]:
    """Withdraw the transfer before it ships; the held stock goes back on sale."""
    if transfer.has_done("cancel"):
        return []
    transfer.check_can("cancel")
    await _compensate(transfer, ports, StepContext(cancelled_by, utc_now(now)))
    return transfer.cancel(cancelled_by, reason, now=now)


async def ship_transfer(
    transfer: Transfer, ports: TransferPorts, *, shipped_by: str, now: datetime | None = None
) -> list[ev.InventoryEvent]:
    if transfer.has_done("ship"):
        return []
    transfer.check_can("ship")
    valuation = await _run("ship", transfer, ports, StepContext(shipped_by, utc_now(now)))
    assert valuation is not None, "shipping always values the stock"
    return transfer.ship(shipped_by, valuation, now=now)


async def receive_transfer(
    transfer: Transfer,
    ports: TransferPorts,
    *,
    received_by: str,
    received_on: date,
    now: datetime | None = None,
) -> list[ev.InventoryEvent]:
    if transfer.has_done("receive"):
        return []
    transfer.check_can("receive")
    await _run("receive", transfer, ports, StepContext(received_by, utc_now(now), received_on))
    return transfer.receive(received_by, received_on, now=now)
