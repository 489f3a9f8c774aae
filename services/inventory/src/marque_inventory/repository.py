"""Loading and saving aggregates. Saves are conditional updates on `version`: a concurrent
change makes the save fail instead of overwriting (never check-then-act)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import case, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from marque_inventory.domain.parts import PartStock, StockMovement
from marque_inventory.domain.vehicles import Reservation, Vehicle, VehicleStatus
from marque_inventory.models import PartStockRow, StockMovementRow, VehicleRow
from marque_kit.errors import Conflict, NotFound


class ConcurrentChange(Conflict):
    """Someone else changed the row between our read and our write."""


def vehicle_from_row(row: VehicleRow) -> Vehicle:
    reservation = None
    if row.order_ref and row.reserved_until and row.reservation_request_id:
        reservation = Reservation(row.order_ref, row.reservation_request_id, row.reserved_until)
    return Vehicle(
        vin=row.vin,
        store_id=row.store_id,
        model_code=row.model_code,
        trim_code=row.trim_code,
        colour_code=row.colour_code,
        model_year=row.model_year,
        cost_fen=row.cost_fen,
        status=VehicleStatus(row.status),
        arrived_on=row.arrived_on,
        reservation=reservation,
        transfer_id=row.transfer_id,
        version=row.version,
    )


def vehicle_values(vehicle: Vehicle) -> dict[str, object]:
    held = vehicle.reservation
    return {
        "store_id": vehicle.store_id,
        "status": vehicle.status.value,
        "arrived_on": vehicle.arrived_on,
        "order_ref": held.order_ref if held else None,
        "reservation_request_id": held.request_id if held else None,
        "reserved_until": held.expires_at if held else None,
        "transfer_id": vehicle.transfer_id,
        "version": vehicle.version,
        # A new stay (arrival, or arrival at another store) starts stock-age alerts afresh.
        "age_alerted_days": case(
            (col(VehicleRow.arrived_on).is_distinct_from(vehicle.arrived_on), 0),
            else_=col(VehicleRow.age_alerted_days),
        ),
        "updated_at": func.now(),
    }


async def get_vehicle_row(
    session: AsyncSession, vin: str, *, for_update: bool = False
) -> VehicleRow | None:
    stmt = select(VehicleRow).where(col(VehicleRow.vin) == vin)
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def load_vehicle(session: AsyncSession, vin: str, *, for_update: bool = False) -> Vehicle:
    row = await get_vehicle_row(session, vin, for_update=for_update)
    if row is None:
        raise NotFound(f"Vehicle {vin} was not found in your stores.")
    return vehicle_from_row(row)


async def save_vehicle(session: AsyncSession, vehicle: Vehicle, *, loaded_version: int) -> None:
    """Write the vehicle only if nobody changed it since `loaded_version`."""
    if vehicle.version == loaded_version:
        return
    result = await session.execute(
        update(VehicleRow)
        .where(col(VehicleRow.vin) == vehicle.vin, col(VehicleRow.version) == loaded_version)
        .values(**vehicle_values(vehicle))
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise ConcurrentChange(
            f"Vehicle {vehicle.vin} was changed by someone else a moment ago; reload and retry."
        )


def part_stock_from_row(row: PartStockRow) -> PartStock:
    return PartStock(
        store_id=row.store_id,
        part_number=row.part_number,
        on_hand=row.on_hand,
        reserved=row.reserved,
        bin=row.bin,
        reorder_point=row.reorder_point,
        average_unit_cost_fen=row.average_unit_cost_fen,
        version=row.version,
    )


def part_stock_values(stock: PartStock) -> dict[str, object]:
    return {
        "on_hand": stock.on_hand,
        "reserved": stock.reserved,
        "bin": stock.bin,
        "reorder_point": stock.reorder_point,
        "average_unit_cost_fen": stock.average_unit_cost_fen,
        "version": stock.version,
    }


def _part_stock_changed(stock: PartStock) -> ConcurrentChange:
    return ConcurrentChange(
        f"Stock of part {stock.part_number} in store {stock.store_id} was changed by someone "
        "else a moment ago; reload and retry."
    )


async def save_part_stock(
    session: AsyncSession, stock: PartStock, *, loaded_version: int | None
) -> None:
    """Insert a stock the store never held (`loaded_version` None), else write it only if nobody
    changed it since `loaded_version`."""
    if loaded_version is None:
        inserted = await session.execute(
            insert(PartStockRow)
            .values(
                store_id=stock.store_id, part_number=stock.part_number, **part_stock_values(stock)
            )
            .on_conflict_do_nothing(index_elements=["store_id", "part_number"])
            .returning(col(PartStockRow.part_number))
        )
        if inserted.scalar_one_or_none() is None:
            raise _part_stock_changed(stock)
        return
    if stock.version == loaded_version:
        return
    result = await session.execute(
        update(PartStockRow)
        .where(
            col(PartStockRow.store_id) == stock.store_id,
            col(PartStockRow.part_number) == stock.part_number,
            col(PartStockRow.version) == loaded_version,
        )
        .values(**part_stock_values(stock))
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise _part_stock_changed(stock)


async def append_movements(
    session: AsyncSession, movements: Sequence[StockMovement]
) -> dict[str, int]:
    """Append to the stock ledger; answers each part number's new movement id."""
    if not movements:
        return {}
    rows = await session.execute(
        insert(StockMovementRow)
        .values(
            [
                {
                    "store_id": m.store_id,
                    "part_number": m.part_number,
                    "kind": m.kind.value,
                    "on_hand_delta": m.on_hand_delta,
                    "reserved_delta": m.reserved_delta,
                    "reference": m.reference,
                    "on_hand_after": m.on_hand_after,
                    "reserved_after": m.reserved_after,
                    "unit_cost_fen": m.unit_cost_fen,
                    "occurred_at": m.occurred_at,
                }
                for m in movements
            ]
        )
        .returning(col(StockMovementRow.id), col(StockMovementRow.part_number))
    )
    return {part: movement_id for movement_id, part in rows.all() if movement_id is not None}
