"""Cross-store transfers (调拨): each saga step is one transaction that moves the transfer and the
stock it holds together, with their events in the outbox. Every step is idempotent: asking again
for a step already taken answers the transfer as it stands and emits nothing."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select, true, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from marque_inventory.domain import transfers as saga
from marque_inventory.domain.part_lines import CostedPartLine, PartLine
from marque_inventory.domain.parts import PartStock
from marque_inventory.domain.transfers import (
    Transfer,
    TransferKind,
    TransferStatus,
    TransferValuation,
)
from marque_inventory.domain.vehicles import Vehicle
from marque_inventory.models import Part, PartStockRow, Store, TransferRow
from marque_inventory.repository import (
    ConcurrentChange,
    append_movements,
    load_vehicle,
    part_stock_from_row,
    save_part_stock,
    save_vehicle,
)
from marque_inventory.unit_of_work import Inventory, InventoryUnitOfWork
from marque_inventory.vehicle_service import check_safety_stock_after_leaving
from marque_kit.auth import Principal
from marque_kit.errors import Forbidden, InvalidInput, NotFound
from marque_kit.http import check_version
from marque_kit.metrics import business_events

READ = "inventory.transfers:read"
WRITE = "inventory.transfers:write"


# --- the stock the saga moves, over the database ------------------------------------------------


class DbTransferPorts:
    """`TransferPorts` over one transaction: loads lock their rows (FOR UPDATE), saves are
    conditional on the version loaded, and every saved aggregate is kept for its events."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._vehicle_versions: dict[str, int] = {}
        self._stock_versions: dict[tuple[str, str], int] = {}  # absent: no row yet
        self._changed: dict[int, Vehicle | PartStock] = {}

    @property
    def changed(self) -> list[Vehicle | PartStock]:
        """The vehicles and part stocks saved so far, once each: their events go to the outbox."""
        return list(self._changed.values())

    async def load_vehicle(self, vin: str) -> Vehicle:
        vehicle = await load_vehicle(self.session, vin, for_update=True)
        self._vehicle_versions[vehicle.vin] = vehicle.version
        return vehicle

    async def save_vehicle(self, vehicle: Vehicle) -> None:
        loaded = self._vehicle_versions[vehicle.vin]
        await save_vehicle(self.session, vehicle, loaded_version=loaded)
        self._vehicle_versions[vehicle.vin] = vehicle.version
        self._changed[id(vehicle)] = vehicle

    async def load_part_stock(self, store_id: str, part_number: str) -> PartStock | None:
        row = (
            await self.session.execute(
                select(PartStockRow)
                .where(
                    col(PartStockRow.store_id) == store_id,
                    col(PartStockRow.part_number) == part_number,
                )
                .with_for_update()
            )
        ).scalar_one_or_none()
        if row is None:
            return None
        stock = part_stock_from_row(row)
        self._stock_versions[(store_id, part_number)] = stock.version
        return stock

    async def save_part_stock(self, stock: PartStock) -> None:
        key = (stock.store_id, stock.part_number)
        await save_part_stock(self.session, stock, loaded_version=self._stock_versions.get(key))
        self._stock_versions[key] = stock.version
        await append_movements(self.session, stock.pull_movements())
        self._changed[id(stock)] = stock


# --- the transfer row --------------------------------------------------------------------------


@dataclass(frozen=True)
class TransferRecord:
    """A transfer as stored, with the times its row was written."""

    transfer: Transfer
    created_at: datetime | None
    updated_at: datetime | None


def _lines_json(lines: Iterable[PartLine]) -> list[dict[str, Any]]:
    return [{"part_number": line.part_number, "quantity": line.quantity} for line in lines]


def _valuation_json(valuation: TransferValuation | None) -> dict[str, Any] | None:
    if valuation is None:
        return None
    return {
        "vehicle_cost_fen": valuation.vehicle_cost_fen,
        "costed_lines": [
            {"part_number": c.part_number, "quantity": c.quantity, "unit_cost_fen": c.unit_cost_fen}
            for c in valuation.costed_lines
        ],
        "value_fen": valuation.value_fen,
    }


def _valuation_from(raw: dict[str, Any] | None) -> TransferValuation | None:
    if raw is None:
        return None
    return TransferValuation(
        vehicle_cost_fen=raw.get("vehicle_cost_fen"),
        costed_lines=tuple(
            CostedPartLine(c["part_number"], c["quantity"], c["unit_cost_fen"])
            for c in raw.get("costed_lines", ())
        ),
    )


def transfer_from_row(row: TransferRow) -> Transfer:
    return Transfer(
        id=row.id,
        kind=TransferKind(row.kind),
        from_store_id=row.from_store_id,
        to_store_id=row.to_store_id,
        requested_by=row.requested_by,
        vin=row.vin,
        lines=tuple(PartLine(raw["part_number"], raw["quantity"]) for raw in row.lines),
        reason=row.reason,
        status=TransferStatus(row.status),
        approved_by=row.approved_by,
        valuation=_valuation_from(row.valuation),
        received_on=row.received_on,
        version=row.version,
    )


def record_of(row: TransferRow) -> TransferRecord:
    return TransferRecord(transfer_from_row(row), row.created_at, row.updated_at)


def _changing_values(transfer: Transfer) -> dict[str, Any]:
    return {
        "status": transfer.status.value,
        "approved_by": transfer.approved_by,
        "reason": transfer.reason,
        "valuation": _valuation_json(transfer.valuation),
        "received_on": transfer.received_on,
        "version": transfer.version,
    }


async def _insert_transfer(session: AsyncSession, transfer: Transfer) -> TransferRecord:
    written = (
        await session.execute(
            insert(TransferRow)
            .values(
                id=transfer.id,
                kind=transfer.kind.value,
                from_store_id=transfer.from_store_id,
                to_store_id=transfer.to_store_id,
                vin=transfer.vin,
                lines=_lines_json(transfer.lines),
                requested_by=transfer.requested_by,
                **_changing_values(transfer),
            )
            .returning(col(TransferRow.created_at), col(TransferRow.updated_at))
        )
    ).one()
    return TransferRecord(transfer, written.created_at, written.updated_at)


async def _save_transfer(
    session: AsyncSession, transfer: Transfer, *, loaded_version: int
) -> TransferRecord:
    """Write the transfer only if nobody moved it since `loaded_version`."""
    written = (
        await session.execute(
            update(TransferRow)
            .where(
                col(TransferRow.id) == transfer.id,
                col(TransferRow.version) == loaded_version,
            )
            .values(**_changing_values(transfer), updated_at=func.now())
            .returning(col(TransferRow.created_at), col(TransferRow.updated_at))
        )
    ).one_or_none()
    if written is None:
        raise ConcurrentChange(
            f"Transfer {transfer.id} was changed by someone else a moment ago; reload and retry."
        )
    return TransferRecord(transfer, written.created_at, written.updated_at)


def _not_found(transfer_id: str) -> NotFound:
    return NotFound(f"Transfer {transfer_id} was not found in your stores.")


def visible_to(principal: Principal) -> Any:
    """The SQL condition for the transfers a principal sees: either end in one of its stores."""
    stores = principal.store_filter()
    if stores is None:
        return true()
    return or_(
        col(TransferRow.from_store_id).in_(stores),
        col(TransferRow.to_store_id).in_(stores),
    )


async def _load_row(
    session: AsyncSession, principal: Principal, transfer_id: str, *, for_update: bool = False
) -> TransferRow:
    stmt = select(TransferRow).where(col(TransferRow.id) == transfer_id, visible_to(principal))
    if for_update:
        stmt = stmt.with_for_update()
    row = (await session.execute(stmt)).scalar_one_or_none()
    if row is None:
        raise _not_found(transfer_id)
    return row


async def get_transfer(
    inventory: Inventory, principal: Principal, transfer_id: str
) -> TransferRecord:
    """A transfer seen from either of its stores, or HQ; any other caller gets 404."""
    principal.require(READ)
    async with inventory.db.session() as session:
        return record_of(await _load_row(session, principal, transfer_id))


# --- requesting --------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewTransfer:
    kind: TransferKind | str
    from_store_id: str
    to_store_id: str
    vin: str | None = None
    lines: tuple[PartLine, ...] = ()
    reason: str = ""


async def _check_references(session: AsyncSession, new: NewTransfer) -> None:
    for name, store_id in (("from_store_id", new.from_store_id), ("to_store_id", new.to_store_id)):
        if await session.get(Store, store_id) is None:
            raise InvalidInput(
                f"Store {store_id!r} does not exist.",
                errors=[{"field": name, "rule": "known_store"}],
            )
    numbers = {line.part_number for line in new.lines}
    if numbers:
        known = set(
            (
                await session.execute(
                    select(col(Part.part_number)).where(col(Part.part_number).in_(numbers))
                )
            ).scalars()
        )
        unknown = sorted(numbers - known)
        if unknown:
            raise InvalidInput(
                f"Part(s) {', '.join(unknown)} are not in the parts catalog.",
                errors=[{"field": "lines", "rule": "known_part", "part_numbers": unknown}],
            )


async def request_transfer(
    uow: InventoryUnitOfWork, principal: Principal, new: NewTransfer
) -> TransferRecord:
    """The destination store (or HQ) asks for a vehicle or parts; the stock is held at the source
    at once. If it cannot be held (a vehicle reserved meanwhile, parts short) nothing is saved."""
    principal.require(WRITE)
    if not principal.sees_store(new.to_store_id):
        raise Forbidden(
            f"Only store {new.to_store_id} or HQ can ask for stock to be transferred there."
        )
    await _check_references(uow.session, new)
    ports = DbTransferPorts(uow.session)
    transfer = await saga.request_transfer(
        ports,
        transfer_id=f"TRF-{uuid.uuid4().hex}",
        kind=new.kind,
        from_store_id=new.from_store_id,
        to_store_id=new.to_store_id,
        requested_by=principal.subject,
        vin=new.vin,
        lines=new.lines,
        reason=new.reason,
    )
    record = await _insert_transfer(uow.session, transfer)
    uow.collect(transfer, *ports.changed)
    for changed in ports.changed:
        if isinstance(changed, Vehicle):
            # The car stops counting as sellable stock at the source from the request on.
            await check_safety_stock_after_leaving(uow, changed.store_id, changed.model_code)
    business_events.labels("inventory", "transfer_requested").inc()
    return record


# --- the later steps ---------------------------------------------------------------------------

Act = Callable[[Transfer, DbTransferPorts], Awaitable[object]]
Gate = Callable[[Principal, Transfer], None]


async def _take_step(
    inventory: Inventory,
    principal: Principal,
    transfer_id: str,
    command: str,
    act: Act,
    *,
    gate: Gate,
    expected_version: int | None,
) -> TransferRecord:
    """Lock the transfer, check who asks, skip a step already taken, else run it and save."""
    principal.require(WRITE)
    uow = inventory.uow()
    async with uow:
        row = await _load_row(uow.session, principal, transfer_id, for_update=True)
        transfer = transfer_from_row(row)
        gate(principal, transfer)
        if transfer.has_done(command):
            return record_of(row)
        if expected_version is not None:
            check_version(transfer.version, expected_version)
        ports = DbTransferPorts(uow.session)
        loaded = transfer.version
        await act(transfer, ports)
        record = await _save_transfer(uow.session, transfer, loaded_version=loaded)
        uow.collect(transfer, *ports.changed)
        await uow.commit()
    business_events.labels("inventory", f"transfer_{transfer.status.value}").inc()
    return record


def _approver(principal: Principal, transfer: Transfer) -> None:
    transfer.check_approver(principal)


def _either_store(principal: Principal, transfer: Transfer) -> None:
    """Seeing the transfer is enough: the asking store or the giving one may withdraw it."""


def _source_store(principal: Principal, transfer: Transfer) -> None:
    if not principal.sees_store(transfer.from_store_id):
        raise Forbidden(
            f"Only store {transfer.from_store_id} or HQ can ship transfer {transfer.id}."
        )


def _destination_store(principal: Principal, transfer: Transfer) -> None:
    if not principal.sees_store(transfer.to_store_id):
        raise Forbidden(
            f"Only store {transfer.to_store_id} or HQ can receive transfer {transfer.id}."
        )


async def approve_transfer(
    inventory: Inventory,
    principal: Principal,
    transfer_id: str,
    *,
    expected_version: int | None = None,
) -> TransferRecord:
    """A manager of the source store, or HQ, lets the stock go."""

    async def act(transfer: Transfer, ports: DbTransferPorts) -> object:
        return await saga.approve_transfer(transfer, ports, approver=principal)

    return await _take_step(
        inventory,
        principal,
        transfer_id,
        "approve",
        act,
        gate=_approver,
        expected_version=expected_version,
    )


async def reject_transfer(
    inventory: Inventory,
    principal: Principal,
    transfer_id: str,
    *,
    reason: str,
    expected_version: int | None = None,
) -> TransferRecord:
    """A manager of the source store, or HQ, refuses; the held stock is for sale there again."""

    async def act(transfer: Transfer, ports: DbTransferPorts) -> object:
        return await saga.reject_transfer(transfer, ports, rejecter=principal, reason=reason)

    return await _take_step(
        inventory,
        principal,
        transfer_id,
        "reject",
        act,
        gate=_approver,
        expected_version=expected_version,
    )


async def cancel_transfer(
    inventory: Inventory,
    principal: Principal,
    transfer_id: str,
    *,
    reason: str,
    expected_version: int | None = None,
) -> TransferRecord:
    """Withdraw the transfer before it ships; the held stock is for sale at the source again."""

    async def act(transfer: Transfer, ports: DbTransferPorts) -> object:
        return await saga.cancel_transfer(
            transfer, ports, cancelled_by=principal.subject, reason=reason
        )

    return await _take_step(
        inventory,
        principal,
        transfer_id,
        "cancel",
        act,
        gate=_either_store,
        expected_version=expected_version,
    )


async def ship_transfer(
    inventory: Inventory,
    principal: Principal,
    transfer_id: str,
    *,
    expected_version: int | None = None,
) -> TransferRecord:
    """The source store sends the stock off; its cost is fixed now for finance."""

    async def act(transfer: Transfer, ports: DbTransferPorts) -> object:
        return await saga.ship_transfer(transfer, ports, shipped_by=principal.subject)

    return await _take_step(
        inventory,
        principal,
        transfer_id,
        "ship",
        act,
        gate=_source_store,
        expected_version=expected_version,
    )


async def receive_transfer(
    inventory: Inventory,
    principal: Principal,
    transfer_id: str,
    *,
    received_on: date | None = None,
    expected_version: int | None = None,
) -> TransferRecord:
    """The destination store takes the stock in, at the cost it shipped at. `received_on`
    defaults to today in the destination store's time zone; the vehicle's stock age restarts."""

    async def act(transfer: Transfer, ports: DbTransferPorts) -> object:
        on = received_on or await _store_today(ports.session, transfer.to_store_id)
        return await saga.receive_transfer(
            transfer, ports, received_by=principal.subject, received_on=on
        )

    return await _take_step(
        inventory,
        principal,
        transfer_id,
        "receive",
        act,
        gate=_destination_store,
        expected_version=expected_version,
    )


async def _store_today(session: AsyncSession, store_id: str) -> date:
    """Business dates follow the store's time zone, not UTC."""
    store = await session.get(Store, store_id)
    zone = ZoneInfo(store.timezone if store else "Asia/Shanghai")
    return datetime.now(zone).date()
