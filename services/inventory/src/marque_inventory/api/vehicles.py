"""Vehicles by VIN: receive (one, or a CSV batch), list, read, and status moves."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, File, Query, Response, UploadFile
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlmodel import col

from marque_inventory.api.deps import InventoryDep
from marque_inventory.domain.vehicles import Vehicle, VehicleStatus
from marque_inventory.models import VehicleModel, VehicleRow
from marque_inventory.repository import get_vehicle_row, vehicle_from_row
from marque_inventory.vehicle_service import (
    NewVehicle,
    add_vehicle,
    change_vehicle,
    mark_vehicle_delivered,
    mark_vehicle_sold,
    release_vehicle,
    reserve_vehicle,
)
from marque_kit.errors import DomainError, InvalidInput, NotFound
from marque_kit.http import (
    CurrentPrincipal,
    IdempotencyDep,
    IfMatch,
    Page,
    PageQuery,
    etag,
    paginate,
    permission,
    scope_to_stores,
)

router = APIRouter(prefix="/api/v1/inventory", tags=["vehicles"])


class VehicleIn(BaseModel):
    vin: str = Field(examples=["LRW3E7FA0RC123456"])
    store_id: str = Field(examples=["SH01"])
    trim_code: str = Field(examples=["TSL-MY-LR"])
    colour_code: str = Field(examples=["WHT"])
    model_year: int = Field(ge=1981, le=2100, examples=[2026])
    cost_fen: int | None = Field(
        None, ge=0, description="Dealer cost in fen; default from the trim"
    )
    status: Literal["on_order", "in_stock"] = "on_order"
    arrived_on: date | None = None
    option_codes: list[str] = []


class VehicleOut(BaseModel):
    vin: str
    store_id: str
    model_code: str
    trim_code: str
    colour_code: str
    model_year: int
    cost_fen: int
    status: str
    arrived_on: date | None
    order_ref: str | None
    reserved_until: datetime | None
    transfer_id: str | None
    version: int

    @classmethod
    def of(cls, v: Vehicle | VehicleRow) -> VehicleOut:
        if isinstance(v, VehicleRow):
            v = vehicle_from_row(v)
        held = v.reservation
        return cls(
            vin=v.vin,
            store_id=v.store_id,
            model_code=v.model_code,
            trim_code=v.trim_code,
            colour_code=v.colour_code,
            model_year=v.model_year,
            cost_fen=v.cost_fen,
            status=v.status.value,
            arrived_on=v.arrived_on,
            order_ref=held.order_ref if held else None,
            reserved_until=held.expires_at if held else None,
            transfer_id=v.transfer_id,
            version=v.version,
        )


def _with_etag(response: Response, vehicle: VehicleOut) -> VehicleOut:
    response.headers["ETag"] = etag(vehicle.version)
    return vehicle


@router.post(
    "/vehicles",
    status_code=201,
    response_model=VehicleOut,
    dependencies=[permission("inventory.vehicles:write")],
)
async def receive_vehicle(
    body: VehicleIn, principal: CurrentPrincipal, inventory: InventoryDep, idem: IdempotencyDep
) -> Response:
    """Receive one vehicle from the OEM (on order, or already in stock with its arrival date)."""
    async with inventory.uow() as uow:
        if replay := await idem.begin(uow.session, body):
            return replay
        vehicle = await add_vehicle(uow, principal, _new_vehicle(body))
        out = VehicleOut.of(vehicle)
        response = await idem.complete(
            uow.session, 201, out, headers={"ETag": etag(vehicle.version)}
        )
        await uow.commit()
    return response


def _new_vehicle(body: VehicleIn) -> NewVehicle:
    return NewVehicle(
        vin=body.vin,
        store_id=body.store_id,
        trim_code=body.trim_code,
        colour_code=body.colour_code,
        model_year=body.model_year,
        cost_fen=body.cost_fen,
        status=VehicleStatus(body.status),
        arrived_on=body.arrived_on,
        option_codes=tuple(body.option_codes),
    )


class BatchRowResult(BaseModel):
    row: int
    vin: str
    ok: bool
    error: str | None = None
    errors: list[dict[str, object]] | None = None


class BatchResult(BaseModel):
    applied: int
    rejected: int
    partial: bool
    rows: list[BatchRowResult]


CSV_COLUMNS = ("vin", "store_id", "trim_code", "colour_code", "model_year")


@router.post(
    "/vehicles/batch",
    response_model=BatchResult,
    dependencies=[permission("inventory.vehicles:write")],
)
async def receive_vehicle_batch(
    principal: CurrentPrincipal,
    inventory: InventoryDep,
    response: Response,
    file: Annotated[
        UploadFile,
        File(description="CSV: vin,store_id,trim_code,colour_code,model_year"),
    ],
    partial: Annotated[bool, Query(description="Apply the good rows even if some are bad")] = False,
) -> BatchResult:
    """Receive an OEM allocation as CSV. A bad row applies nothing unless `partial=true`."""
    rows = _read_csv(await file.read())
    results: list[BatchRowResult] = []
    applied = 0
    async with inventory.uow() as uow:
        for number, raw in rows:
            vin = (raw.get("vin") or "").strip().upper()
            savepoint = await uow.session.begin_nested()
            try:
                await add_vehicle(uow, principal, _parse_row(raw))
                await uow.flush_events()
                await savepoint.commit()
                results.append(BatchRowResult(row=number, vin=vin, ok=True))
                applied += 1
            except DomainError as exc:
                await savepoint.rollback()
                results.append(
                    BatchRowResult(
                        row=number, vin=vin, ok=False, error=exc.detail, errors=exc.errors
                    )
                )
        rejected = len(results) - applied
        if rejected and not partial:
            await uow.rollback()
            response.status_code = 422
            return BatchResult(applied=0, rejected=rejected, partial=False, rows=results)
        await uow.commit()
    response.status_code = 200 if not rejected else 207
    return BatchResult(applied=applied, rejected=rejected, partial=partial, rows=results)


def _read_csv(content: bytes) -> list[tuple[int, dict[str, str]]]:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput("The CSV file is not UTF-8 text.") from exc
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in CSV_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise InvalidInput(
            f"The CSV header lacks column(s): {', '.join(missing)}. "
            f"Expected: {','.join(CSV_COLUMNS)}[,cost_fen,status,arrived_on].",
            errors=[{"field": "file", "rule": "header", "missing": missing}],
        )
    rows = [(i, row) for i, row in enumerate(reader, start=2)]
    if not rows:
        raise InvalidInput("The CSV file has no vehicle rows.")
    if len(rows) > 5000:
        raise InvalidInput("A batch holds at most 5,000 vehicles; split the file.")
    return rows


def _parse_row(raw: dict[str, str]) -> NewVehicle:
    def field(name: str) -> str:
        return (raw.get(name) or "").strip()

    try:
        model_year = int(field("model_year"))
        cost = int(field("cost_fen")) if field("cost_fen") else None
        arrived = date.fromisoformat(field("arrived_on")) if field("arrived_on") else None
        status = VehicleStatus(field("status") or ("in_stock" if arrived else "on_order"))
    except ValueError as exc:
        raise InvalidInput(f"Unreadable value: {exc}.") from exc
    return NewVehicle(
        vin=field("vin"),
        store_id=field("store_id"),
        trim_code=field("trim_code"),
        colour_code=field("colour_code"),
        model_year=model_year,
        cost_fen=cost,
        status=status,
        arrived_on=arrived,
    )


@router.get(
    "/vehicles",
    response_model=Page[VehicleOut],
    dependencies=[permission("inventory.vehicles:read")],
)
async def list_vehicles(
    principal: CurrentPrincipal,
    inventory: InventoryDep,
    page: PageQuery,
    store_id: str | None = None,
    status: VehicleStatus | None = None,
    model_code: str | None = None,
    trim_code: str | None = None,
    colour_code: str | None = None,
    brand: str | None = None,
) -> Page[VehicleOut]:
    principal.require("inventory.vehicles:read")
    stmt = scope_to_stores(select(VehicleRow), col(VehicleRow.store_id), principal)
    if store_id:
        stmt = stmt.where(col(VehicleRow.store_id) == store_id)
    if status:
        stmt = stmt.where(col(VehicleRow.status) == status.value)
    if model_code:
        stmt = stmt.where(col(VehicleRow.model_code) == model_code)
    if trim_code:
        stmt = stmt.where(col(VehicleRow.trim_code) == trim_code)
    if colour_code:
        stmt = stmt.where(col(VehicleRow.colour_code) == colour_code)
    if brand:
        stmt = stmt.where(
            col(VehicleRow.model_code).in_(
                select(col(VehicleModel.code)).where(col(VehicleModel.brand_code) == brand)
            )
        )
    async with inventory.db.session() as session:
        rows, cursor = await paginate(session, stmt, page, order=(VehicleRow.vin,))
    return Page(items=[VehicleOut.of(r) for r in rows], next_cursor=cursor)


@router.get(
    "/vehicles/{vin}",
    response_model=VehicleOut,
    dependencies=[permission("inventory.vehicles:read")],
)
async def get_vehicle(
    vin: str, principal: CurrentPrincipal, inventory: InventoryDep, response: Response
) -> VehicleOut:
    principal.require("inventory.vehicles:read")
    async with inventory.db.session() as session:
        row = await get_vehicle_row(session, vin.strip().upper())
    if row is None or not principal.sees_store(row.store_id):
        raise NotFound(f"Vehicle {vin} was not found in your stores.")
    return _with_etag(response, VehicleOut.of(row))


class ArriveIn(BaseModel):
    arrived_on: date | None = None


class ReserveIn(BaseModel):
    order_ref: str = Field(min_length=1, max_length=60, examples=["SO-SH01-000123"])
    request_id: str = Field(
        min_length=1, max_length=100, description="Retry-safe id of this attempt"
    )
    hours: int = Field(72, ge=1, le=720, description="How long the hold lasts")


class ReleaseIn(BaseModel):
    order_ref: str
    request_id: str = Field(min_length=1, max_length=100)
    reason: str = "released by staff"


class OrderStepIn(BaseModel):
    order_ref: str
    request_id: str = Field(min_length=1, max_length=100)


async def _move(
    inventory: InventoryDep,
    principal: CurrentPrincipal,
    vin: str,
    version: int,
    command: str,
    response: Response,
    **kw: object,
) -> VehicleOut:
    principal.require("inventory.vehicles:write")
    async with inventory.uow() as uow:
        vehicle = await change_vehicle(
            uow, principal, vin, lambda v: getattr(v, command)(**kw), expected_version=version
        )
        await uow.commit()
    return _with_etag(response, VehicleOut.of(vehicle))


@router.post(
    "/vehicles/{vin}/arrive",
    response_model=VehicleOut,
    dependencies=[permission("inventory.vehicles:write")],
)
async def arrive(
    vin: str,
    body: ArriveIn,
    principal: CurrentPrincipal,
    inventory: InventoryDep,
    version: IfMatch,
    response: Response,
) -> VehicleOut:
    """The vehicle on order reached the store (its stock age starts)."""
    on = body.arrived_on or datetime.now(UTC).date()
    return await _move(inventory, principal, vin, version, "arrive", response, on=on)


@router.post(
    "/vehicles/{vin}/demo",
    response_model=VehicleOut,
    dependencies=[permission("inventory.vehicles:write")],
)
async def assign_demo(
    vin: str,
    principal: CurrentPrincipal,
    inventory: InventoryDep,
    version: IfMatch,
    response: Response,
) -> VehicleOut:
    """Make the vehicle a test-drive car (试驾车); not for sale meanwhile."""
    return await _move(inventory, principal, vin, version, "assign_demo", response)


@router.post(
    "/vehicles/{vin}/demo/return",
    response_model=VehicleOut,
    dependencies=[permission("inventory.vehicles:write")],
)
async def return_from_demo(
    vin: str,
    principal: CurrentPrincipal,
    inventory: InventoryDep,
    version: IfMatch,
    response: Response,
) -> VehicleOut:
    return await _move(inventory, principal, vin, version, "return_from_demo", response)


@router.post(
    "/vehicles/{vin}/reservation",
    response_model=VehicleOut,
    dependencies=[permission("inventory.vehicles:reserve")],
)
async def reserve(
    vin: str,
    body: ReserveIn,
    principal: CurrentPrincipal,
    inventory: InventoryDep,
    response: Response,
) -> VehicleOut:
    """Hold the vehicle for an order. Retrying with the same request_id never reserves twice."""
    vehicle = await reserve_vehicle(
        inventory,
        principal,
        request_id=body.request_id,
        vin=vin,
        order_ref=body.order_ref,
        expires_at=datetime.now(UTC) + timedelta(hours=body.hours),
    )
    return _with_etag(response, VehicleOut.of(vehicle))


@router.post(
    "/vehicles/{vin}/reservation/release",
    response_model=VehicleOut,
    dependencies=[permission("inventory.vehicles:reserve")],
)
async def release(
    vin: str,
    body: ReleaseIn,
    principal: CurrentPrincipal,
    inventory: InventoryDep,
    response: Response,
) -> VehicleOut:
    vehicle = await release_vehicle(
        inventory,
        principal,
        request_id=body.request_id,
        vin=vin,
        order_ref=body.order_ref,
        reason=body.reason,
    )
    return _with_etag(response, VehicleOut.of(vehicle))


@router.post(
    "/vehicles/{vin}/sold",
    response_model=VehicleOut,
    dependencies=[permission("inventory.vehicles:reserve")],
)
async def mark_sold(
    vin: str,
    body: OrderStepIn,
    principal: CurrentPrincipal,
    inventory: InventoryDep,
    response: Response,
) -> VehicleOut:
    vehicle = await mark_vehicle_sold(
        inventory, principal, request_id=body.request_id, vin=vin, order_ref=body.order_ref
    )
    return _with_etag(response, VehicleOut.of(vehicle))


@router.post(
    "/vehicles/{vin}/delivered",
    response_model=VehicleOut,
    dependencies=[permission("inventory.vehicles:reserve")],
)
async def mark_delivered(
    vin: str,
    body: OrderStepIn,
    principal: CurrentPrincipal,
    inventory: InventoryDep,
    response: Response,
) -> VehicleOut:
    vehicle = await mark_vehicle_delivered(
        inventory, principal, request_id=body.request_id, vin=vin, order_ref=body.order_ref
    )
    return _with_etag(response, VehicleOut.of(vehicle))
