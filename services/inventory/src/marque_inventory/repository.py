"""Loading and saving aggregates. Saves are conditional updates on `version`: a concurrent
change makes the save fail instead of overwriting (never check-then-act)."""

from __future__ import annotations

from sqlalchemy import case, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from marque_inventory.domain.parts import PartStock
from marque_inventory.domain.vehicles import Reservation, Vehicle, VehicleStatus
from marque_inventory.models import PartStockRow, VehicleRow
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
