"""Vehicle commands: parse -> load -> domain -> save with events -> answer, one transaction each."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col

from marque_inventory.domain.events import InventoryEvent
from marque_inventory.domain.safety_stock import SafetyStockRule, check_safety_stock
from marque_inventory.domain.vehicles import Vehicle, VehicleStatus
from marque_inventory.domain.vin import validate_vin
from marque_inventory.models import (
    Colour,
    Store,
    Trim,
    VehicleRequest,
    VehicleRow,
)
from marque_inventory.models import (
    SafetyStockRule as SafetyStockRuleRow,
)
from marque_inventory.repository import (
    load_vehicle,
    save_vehicle,
    vehicle_from_row,
)
from marque_inventory.unit_of_work import Inventory, InventoryUnitOfWork
from marque_kit.auth import Principal
from marque_kit.errors import IdempotencyMismatch, InvalidInput, NotFound
from marque_kit.metrics import business_events

log = logging.getLogger("marque.inventory")

# vehicle_requests.request_id is VARCHAR(100): a longer id must be refused, not reach the insert.
MAX_REQUEST_ID = 100


@dataclass(frozen=True)
class NewVehicle:
    vin: str
    store_id: str
    trim_code: str
    colour_code: str
    model_year: int
    cost_fen: int | None = None
    status: VehicleStatus = VehicleStatus.ON_ORDER
    arrived_on: date | None = None
    option_codes: tuple[str, ...] = ()


async def _check_catalog(uow: InventoryUnitOfWork, new: NewVehicle) -> Trim:
    trim = await uow.session.get(Trim, new.trim_code)
    if trim is None:
        raise InvalidInput(
            f"Trim {new.trim_code!r} is not in the model catalog.",
            errors=[{"field": "trim_code", "rule": "known_trim"}],
        )
    if await uow.session.get(Colour, new.colour_code) is None:
        raise InvalidInput(
            f"Colour {new.colour_code!r} is not in the catalog.",
            errors=[{"field": "colour_code", "rule": "known_colour"}],
        )
    if await uow.session.get(Store, new.store_id) is None:
        raise InvalidInput(
            f"Store {new.store_id!r} does not exist.",
            errors=[{"field": "store_id", "rule": "known_store"}],
        )
    return trim


async def add_vehicle(uow: InventoryUnitOfWork, principal: Principal, new: NewVehicle) -> Vehicle:
    """Receive one vehicle from the OEM into a store (on order, or already in stock)."""
    principal.require("inventory.vehicles:write")
    principal.require_store(new.store_id, what=f"Store {new.store_id}")
    trim = await _check_catalog(uow, new)
    vehicle = Vehicle.register(
        vin=new.vin,
        store_id=new.store_id,
        model_code=trim.model_code,
        trim_code=trim.code,
        colour_code=new.colour_code,
        model_year=new.model_year,
        cost_fen=new.cost_fen if new.cost_fen is not None else trim.dealer_cost_fen,
        status=new.status,
        arrived_on=new.arrived_on,
    )
    inserted = await uow.session.execute(
        insert(VehicleRow)
        .values(
            vin=vehicle.vin,
            store_id=vehicle.store_id,
            model_code=vehicle.model_code,
            trim_code=vehicle.trim_code,
            colour_code=vehicle.colour_code,
            model_year=vehicle.model_year,
            cost_fen=vehicle.cost_fen,
            status=vehicle.status.value,
            arrived_on=vehicle.arrived_on,
            option_codes=list(new.option_codes),
            version=vehicle.version,
        )
        .on_conflict_do_nothing(index_elements=["vin"])
        .returning(col(VehicleRow.vin))
    )
    if inserted.scalar_one_or_none() is None:
        from marque_kit.errors import AlreadyExists

        raise AlreadyExists(
            f"Vehicle {vehicle.vin} is already registered.",
            errors=[{"field": "vin", "rule": "unique"}],
        )
    uow.collect(vehicle)
    business_events.labels("inventory", "vehicle_received").inc()
    return vehicle


VehicleCommand = Callable[[Vehicle], list[InventoryEvent]]


async def change_vehicle(
    uow: InventoryUnitOfWork,
    principal: Principal,
    vin: str,
    command: VehicleCommand,
    *,
    expected_version: int | None = None,
) -> Vehicle:
    """Load, apply one domain command, save conditionally on the loaded version."""
    from marque_kit.http import check_version

    vehicle = await load_vehicle(uow.session, vin.strip().upper())
    principal.require_store(vehicle.store_id, what=f"Vehicle {vin}")
    if expected_version is not None:
        check_version(vehicle.version, expected_version)
    loaded = vehicle.version
    before = vehicle.status
    command(vehicle)
    await save_vehicle(uow.session, vehicle, loaded_version=loaded)
    uow.collect(vehicle)
    if before is VehicleStatus.IN_STOCK and vehicle.status is not VehicleStatus.IN_STOCK:
        await check_safety_stock_after_leaving(uow, vehicle.store_id, vehicle.model_code)
    return vehicle


async def check_safety_stock_after_leaving(
    uow: InventoryUnitOfWork, store_id: str, model_code: str
) -> None:
    rule = await uow.session.get(SafetyStockRuleRow, (store_id, model_code))
    if rule is None:
        return
    in_stock = await uow.session.scalar(
        select(func.count())
        .select_from(VehicleRow)
        .where(
            col(VehicleRow.store_id) == store_id,
            col(VehicleRow.model_code) == model_code,
            col(VehicleRow.status) == VehicleStatus.IN_STOCK.value,
        )
    )
    # This change took one car out of in-stock, so "before" was one more.
    alert = check_safety_stock(
        SafetyStockRule(store_id, model_code, rule.minimum), (in_stock or 0) + 1, in_stock or 0
    )
    if alert is not None:
        uow.add([alert])
        business_events.labels("inventory", "safety_stock_breached").inc()


async def claim_request(
    uow: InventoryUnitOfWork, request_id: str, method: str, vin: str, order_ref: str
) -> bool:
    """Record a gRPC request id in this transaction. False when it was applied before."""
    if not request_id.strip():
        raise InvalidInput(
            "request_id is required so that a retried call never acts twice.",
            errors=[{"field": "request_id", "rule": "required"}],
        )
    if len(request_id) > MAX_REQUEST_ID:
        raise InvalidInput(
            f"request_id is at most {MAX_REQUEST_ID} characters (a UUID is 36); "
            f"this one has {len(request_id):,}.",
            errors=[{"field": "request_id", "rule": f"at_most_{MAX_REQUEST_ID}"}],
        )
    claimed = await uow.session.execute(
        insert(VehicleRequest)
        .values(request_id=request_id, method=method, vin=vin, order_ref=order_ref)
        .on_conflict_do_nothing(index_elements=["request_id"])
        .returning(col(VehicleRequest.request_id))
    )
    if claimed.scalar_one_or_none() is not None:
        return True
    prior = await uow.session.get(VehicleRequest, request_id)
    if prior is None or (prior.method, prior.vin, prior.order_ref) != (method, vin, order_ref):
        raise IdempotencyMismatch(
            f"Request id {request_id} was already used for another call; use a new request id."
        )
    return False


async def run_vehicle_request(
    inventory: Inventory,
    principal: Principal,
    *,
    request_id: str,
    method: str,
    vin: str,
    order_ref: str,
    command: VehicleCommand,
) -> Vehicle:
    """A vehicle command that is idempotent by request id (the gRPC calls sales makes)."""
    # Reserve, release, sold and delivered are one sales flow: one scope covers them all.
    principal.require("inventory.vehicles:reserve")
    vin = validate_vin(vin)  # a mistyped VIN is bad input, not an unknown vehicle
    async with inventory.uow() as uow:
        if not await claim_request(uow, request_id, method, vin, order_ref):
            vehicle = await load_vehicle(uow.session, vin)
            principal.require_store(vehicle.store_id, what=f"Vehicle {vin}")
            return vehicle
        vehicle = await change_vehicle(uow, principal, vin, command)
        await uow.commit()
    business_events.labels("inventory", f"vehicle_{method}").inc()
    return vehicle


async def reserve_vehicle(
    inventory: Inventory,
    principal: Principal,
    *,
    request_id: str,
    vin: str,
    order_ref: str,
    expires_at: datetime,
    store_id: str = "",
) -> Vehicle:
    def reserve(vehicle: Vehicle) -> list[InventoryEvent]:
        if store_id and vehicle.store_id != store_id:
            raise NotFound(f"Vehicle {vin} is not in store {store_id}.")
        return vehicle.reserve(order_ref, request_id, expires_at, datetime.now(UTC))

    return await run_vehicle_request(
        inventory,
        principal,
        request_id=request_id,
        method="reserve",
        vin=vin,
        order_ref=order_ref,
        command=reserve,
    )


async def expire_due_reservations(inventory: Inventory, *, batch: int = 100) -> int:
    """Release every reservation whose hold ran out; each emits VehicleReservationExpired."""
    now = datetime.now(UTC)
    async with inventory.uow() as uow:
        rows = (
            (
                await uow.session.execute(
                    select(VehicleRow)
                    .where(
                        col(VehicleRow.status) == VehicleStatus.RESERVED.value,
                        col(VehicleRow.reserved_until) <= now,
                    )
                    .limit(batch)
                    .with_for_update(skip_locked=True)
                )
            )
            .scalars()
            .all()
        )
        for row in rows:
            vehicle = vehicle_from_row(row)
            loaded = vehicle.version
            vehicle.expire(now)
            await save_vehicle(uow.session, vehicle, loaded_version=loaded)
            uow.collect(vehicle)
        await uow.commit()
    if rows:
        business_events.labels("inventory", "reservation_expired").inc(len(rows))
        log.info("released expired reservations", extra={"count": len(rows)})
    return len(rows)


def sweeper(sweep: Callable[[], Awaitable[int]], interval: float) -> Callable[[], Awaitable[None]]:
    """A background loop running `sweep` every `interval` seconds (faster while it finds work)."""
    import asyncio

    async def loop() -> None:
        while True:
            found = await sweep()
            await asyncio.sleep(0 if found else interval)

    return loop


async def release_vehicle(
    inventory: Inventory,
    principal: Principal,
    *,
    request_id: str,
    vin: str,
    order_ref: str,
    reason: str,
) -> Vehicle:
    """The order lets the vehicle go (cancelled order, customer changed their mind)."""
    return await run_vehicle_request(
        inventory,
        principal,
        request_id=request_id,
        method="release",
        vin=vin,
        order_ref=order_ref,
        command=lambda v: v.release(order_ref, reason),
    )


async def mark_vehicle_sold(
    inventory: Inventory, principal: Principal, *, request_id: str, vin: str, order_ref: str
) -> Vehicle:
    """The order holding the reservation signed its contract."""
    return await run_vehicle_request(
        inventory,
        principal,
        request_id=request_id,
        method="sold",
        vin=vin,
        order_ref=order_ref,
        command=lambda v: v.mark_sold(order_ref),
    )


async def mark_vehicle_delivered(
    inventory: Inventory, principal: Principal, *, request_id: str, vin: str, order_ref: str
) -> Vehicle:
    """交车: the customer drove the vehicle away."""
    return await run_vehicle_request(
        inventory,
        principal,
        request_id=request_id,
        method="delivered",
        vin=vin,
        order_ref=order_ref,
        command=lambda v: v.mark_delivered(order_ref),
    )
