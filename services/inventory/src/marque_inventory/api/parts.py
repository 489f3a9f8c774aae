"""Parts (配件): the catalog, stock per store, receipts, shelf settings, holds and the ledger."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field
from sqlalchemy import or_, select
from sqlmodel import col

from marque_inventory.api.deps import InventoryDep
from marque_inventory.domain.parts import PartStock
from marque_inventory.models import Part, PartStockRow, StockMovementRow, Store
from marque_inventory.parts_service import (
    MAX_BIN,
    MAX_LINE_QUANTITY,
    MAX_LINES,
    MAX_REFERENCE,
    Receipt,
    RecordedMovement,
    apply_part_lines,
    empty_stock,
    receive_parts,
    set_shelf,
)
from marque_inventory.repository import part_stock_from_row
from marque_kit.auth import Principal
from marque_kit.errors import NotFound
from marque_kit.http import (
    CurrentPrincipal,
    IdempotencyDep,
    IfMatch,
    Page,
    PageQuery,
    etag,
    paginate,
    permission,
)

router = APIRouter(prefix="/api/v1/inventory", tags=["parts"])

READ = "inventory.parts:read"
WRITE = "inventory.parts:write"


class PartOut(BaseModel):
    part_number: str
    name: str
    unit_price_fen: int = Field(description="Price to customers, VAT included")
    unit_cost_fen: int = Field(description="Catalog purchase cost, VAT excluded")


class StockOut(BaseModel):
    store_id: str
    part_number: str
    name: str = ""
    on_hand: int
    reserved: int
    available: int
    bin: str
    reorder_point: int
    below_reorder_point: bool
    average_unit_cost_fen: int = Field(description="Moving average, VAT excluded")
    version: int

    @classmethod
    def of(cls, stock: PartStock, name: str = "") -> StockOut:
        return cls(
            store_id=stock.store_id,
            part_number=stock.part_number,
            name=name,
            on_hand=stock.on_hand,
            reserved=stock.reserved,
            available=stock.available,
            bin=stock.bin,
            reorder_point=stock.reorder_point,
            below_reorder_point=stock.available < stock.reorder_point,
            average_unit_cost_fen=stock.average_unit_cost_fen,
            version=stock.version,
        )


class MovementOut(BaseModel):
    id: int
    store_id: str
    part_number: str
    kind: str
    quantity: int
    on_hand_delta: int
    reserved_delta: int
    reference: str
    on_hand_after: int
    reserved_after: int
    available_after: int
    unit_cost_fen: int
    occurred_at: datetime

    @classmethod
    def of(cls, m: RecordedMovement) -> MovementOut:
        return cls(
            id=m.movement_id,
            store_id=m.store_id,
            part_number=m.part_number,
            kind=m.kind,
            quantity=m.quantity,
            on_hand_delta=m.on_hand_delta,
            reserved_delta=m.reserved_delta,
            reference=m.reference,
            on_hand_after=m.on_hand_after,
            reserved_after=m.reserved_after,
            available_after=m.available_after,
            unit_cost_fen=m.unit_cost_fen,
            occurred_at=m.occurred_at,
        )


class ReceiptIn(BaseModel):
    part_number: str = Field(min_length=1, max_length=40, examples=["06L115562B"])
    quantity: int = Field(ge=1, le=MAX_LINE_QUANTITY, examples=[20])
    unit_cost_fen: int | None = Field(
        None, ge=0, le=10**12, description="Purchase unit cost, VAT excluded; default the catalog's"
    )
    reference: str = Field(min_length=1, max_length=MAX_REFERENCE, examples=["PO-SH01-0042"])


class ReceiptOut(BaseModel):
    movement: MovementOut
    stock: StockOut


class ShelfIn(BaseModel):
    bin: str | None = Field(None, max_length=MAX_BIN, examples=["A-03-2"])
    reorder_point: int | None = Field(None, ge=0, le=MAX_LINE_QUANTITY)


class LineIn(BaseModel):
    part_number: str = Field(min_length=1, max_length=40)
    quantity: int = Field(ge=1, le=MAX_LINE_QUANTITY)


class LinesIn(BaseModel):
    reference: str = Field(
        min_length=1, max_length=MAX_REFERENCE, description="e.g. the repair order number"
    )
    lines: list[LineIn] = Field(min_length=1, max_length=MAX_LINES)


class LinesOut(BaseModel):
    store_id: str
    reference: str
    movements: list[MovementOut]


def _scoped_store(principal: Principal, store_id: str, scope: str) -> None:
    principal.require(scope)
    principal.require_store(store_id, what=f"Store {store_id}")


@router.get("/parts", response_model=Page[PartOut], dependencies=[permission(READ)])
async def list_parts(
    principal: CurrentPrincipal,
    inventory: InventoryDep,
    page: PageQuery,
    q: Annotated[
        str | None, Query(max_length=60, description="Part number or name contains")
    ] = None,
) -> Page[PartOut]:
    """The group's parts catalog (no store: it is reference data)."""
    principal.require(READ)
    stmt = select(Part)
    if q:
        pattern = "%" + q.replace("%", r"\%").replace("_", r"\_") + "%"
        stmt = stmt.where(or_(col(Part.part_number).ilike(pattern), col(Part.name).ilike(pattern)))
    async with inventory.db.session() as session:
        rows, cursor = await paginate(session, stmt, page, order=(Part.part_number,))
    return Page(
        items=[
            PartOut(
                part_number=r.part_number,
                name=r.name,
                unit_price_fen=r.unit_price_fen,
                unit_cost_fen=r.unit_cost_fen,
            )
            for r in rows
        ],
        next_cursor=cursor,
    )


@router.get(
    "/stores/{store_id}/parts", response_model=Page[StockOut], dependencies=[permission(READ)]
)
async def list_stock(
    store_id: str,
    principal: CurrentPrincipal,
    inventory: InventoryDep,
    page: PageQuery,
    below_reorder: Annotated[
        bool, Query(description="Only parts whose available stock is below the reorder point")
    ] = False,
) -> Page[StockOut]:
    """Stock levels of every part the store holds or has shelved."""
    _scoped_store(principal, store_id, READ)
    stmt: Any = (
        select(PartStockRow, col(Part.name))
        .join(Part, col(Part.part_number) == col(PartStockRow.part_number))
        .where(col(PartStockRow.store_id) == store_id)
    )
    if below_reorder:
        stmt = stmt.where(
            col(PartStockRow.on_hand) - col(PartStockRow.reserved) < col(PartStockRow.reorder_point)
        )
    async with inventory.db.session() as session:
        if await session.get(Store, store_id) is None:
            raise NotFound(f"Store {store_id} was not found in your stores.")
        rows, cursor = await paginate(
            session,
            stmt,
            page,
            order=(PartStockRow.part_number,),
            scalars=False,
            key=lambda r: [r[0].part_number],
        )
    return Page(
        items=[StockOut.of(part_stock_from_row(row), name) for row, name in rows],
        next_cursor=cursor,
    )


async def _read_stock(inventory: InventoryDep, store_id: str, part_number: str) -> StockOut:
    async with inventory.db.session() as session:
        part = await session.get(Part, part_number)
        if part is None or await session.get(Store, store_id) is None:
            raise NotFound(f"Part {part_number} was not found in store {store_id}.")
        row = await session.get(PartStockRow, (store_id, part_number))
    stock = part_stock_from_row(row) if row else empty_stock(store_id, part_number)
    return StockOut.of(stock, part.name)


@router.get(
    "/stores/{store_id}/parts/{part_number}",
    response_model=StockOut,
    dependencies=[permission(READ)],
)
async def get_stock(
    store_id: str,
    part_number: str,
    principal: CurrentPrincipal,
    inventory: InventoryDep,
    response: Response,
) -> StockOut:
    """One part's stock; a catalog part the store never held reads as zero at version 0."""
    _scoped_store(principal, store_id, READ)
    stock = await _read_stock(inventory, store_id, part_number)
    response.headers["ETag"] = etag(stock.version)
    return stock


@router.patch(
    "/stores/{store_id}/parts/{part_number}",
    response_model=StockOut,
    dependencies=[permission(WRITE)],
)
async def update_shelf(
    store_id: str,
    part_number: str,
    body: ShelfIn,
    principal: CurrentPrincipal,
    inventory: InventoryDep,
    version: IfMatch,
    response: Response,
) -> StockOut:
    """Set the shelf location (库位) and/or the reorder point; If-Match names the version read."""
    _scoped_store(principal, store_id, WRITE)
    uow = inventory.uow()
    async with uow:
        await set_shelf(
            uow,
            principal,
            store_id=store_id,
            part_number=part_number,
            expected_version=version,
            bin=body.bin,
            reorder_point=body.reorder_point,
        )
        await uow.commit()
    stock = await _read_stock(inventory, store_id, part_number)
    response.headers["ETag"] = etag(stock.version)
    return stock


@router.post(
    "/stores/{store_id}/parts/receipts",
    status_code=201,
    response_model=ReceiptOut,
    dependencies=[permission(WRITE)],
)
async def receive(
    store_id: str,
    body: ReceiptIn,
    principal: CurrentPrincipal,
    inventory: InventoryDep,
    idem: IdempotencyDep,
) -> Response:
    """Take parts into stock (入库); the moving-average cost absorbs their unit cost."""
    _scoped_store(principal, store_id, WRITE)
    uow = inventory.uow()
    async with uow:
        if replay := await idem.begin(uow.session, body):
            return replay
        movement, stock = await receive_parts(
            uow,
            principal,
            Receipt(
                store_id=store_id,
                part_number=body.part_number,
                quantity=body.quantity,
                reference=body.reference,
                unit_cost_fen=body.unit_cost_fen,
            ),
        )
        out = ReceiptOut(movement=MovementOut.of(movement), stock=StockOut.of(stock))
        response = await idem.complete(uow.session, 201, out, headers={"ETag": etag(stock.version)})
        await uow.commit()
    return response


async def _lines(
    method: str,
    store_id: str,
    body: LinesIn,
    principal: Principal,
    inventory: InventoryDep,
    idem: IdempotencyDep,
) -> Response:
    _scoped_store(principal, store_id, WRITE)
    uow = inventory.uow()
    async with uow:
        if replay := await idem.begin(uow.session, body):
            return replay
        movements = await apply_part_lines(
            uow,
            principal,
            method,
            store_id=store_id,
            reference=body.reference,
            lines=[(line.part_number, line.quantity) for line in body.lines],
        )
        out = LinesOut(
            store_id=store_id,
            reference=body.reference.strip(),
            movements=[MovementOut.of(m) for m in movements],
        )
        response = await idem.complete(uow.session, 201, out)
        await uow.commit()
    return response


@router.post(
    "/stores/{store_id}/parts/reservations",
    status_code=201,
    response_model=LinesOut,
    dependencies=[permission(WRITE)],
)
async def reserve(
    store_id: str,
    body: LinesIn,
    principal: CurrentPrincipal,
    inventory: InventoryDep,
    idem: IdempotencyDep,
) -> Response:
    """Hold parts for a repair order: every line or none (409 names each shortage)."""
    return await _lines("reserve", store_id, body, principal, inventory, idem)


@router.post(
    "/stores/{store_id}/parts/consumptions",
    status_code=201,
    response_model=LinesOut,
    dependencies=[permission(WRITE)],
)
async def consume(
    store_id: str,
    body: LinesIn,
    principal: CurrentPrincipal,
    inventory: InventoryDep,
    idem: IdempotencyDep,
) -> Response:
    """Issue held parts out of stock (出库) at the moving-average cost: every line or none."""
    return await _lines("consume", store_id, body, principal, inventory, idem)


@router.post(
    "/stores/{store_id}/parts/releases",
    status_code=201,
    response_model=LinesOut,
    dependencies=[permission(WRITE)],
)
async def release(
    store_id: str,
    body: LinesIn,
    principal: CurrentPrincipal,
    inventory: InventoryDep,
    idem: IdempotencyDep,
) -> Response:
    """Give held parts back to available stock: every line or none."""
    return await _lines("release", store_id, body, principal, inventory, idem)


@router.get(
    "/stores/{store_id}/parts/{part_number}/movements",
    response_model=Page[MovementOut],
    dependencies=[permission(READ)],
)
async def list_movements(
    store_id: str,
    part_number: str,
    principal: CurrentPrincipal,
    inventory: InventoryDep,
    page: PageQuery,
    newest_first: bool = False,
    reference: Annotated[str | None, Query(max_length=MAX_REFERENCE)] = None,
) -> Page[MovementOut]:
    """The part's stock ledger in this store, one row per change, by ledger id."""
    _scoped_store(principal, store_id, READ)
    stmt = select(StockMovementRow).where(
        col(StockMovementRow.store_id) == store_id,
        col(StockMovementRow.part_number) == part_number,
    )
    if reference:
        stmt = stmt.where(col(StockMovementRow.reference) == reference)
    id_column: Any = StockMovementRow.id
    async with inventory.db.session() as session:
        rows, cursor = await paginate(
            session, stmt, page, order=(id_column,), descending=newest_first
        )
    return Page(items=[MovementOut.of(RecordedMovement.of(r)) for r in rows], next_cursor=cursor)
