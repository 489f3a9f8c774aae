"""Cross-store transfers (调拨) of a vehicle or parts: request, approve or reject, ship, receive,
or cancel before shipping. Seen by either store and HQ; every step needs If-Match."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field
from sqlalchemy import or_, select
from sqlmodel import col

from marque_inventory.api.deps import InventoryDep
from marque_inventory.domain.part_lines import PartLine
from marque_inventory.domain.transfers import TransferKind, TransferStatus
from marque_inventory.models import TransferRow
from marque_inventory.transfer_service import (
    READ,
    WRITE,
    NewTransfer,
    TransferRecord,
    approve_transfer,
    cancel_transfer,
    get_transfer,
    receive_transfer,
    record_of,
    reject_transfer,
    request_transfer,
    ship_transfer,
    visible_to,
)
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

router = APIRouter(prefix="/api/v1/inventory/transfers", tags=["transfers"])


class PartLineIn(BaseModel):
    part_number: str = Field(min_length=1, max_length=40, examples=["06L115562B"])
    quantity: int = Field(ge=1, le=100_000)


class TransferIn(BaseModel):
    kind: Literal["vehicle", "parts"]
    from_store_id: str = Field(min_length=1, max_length=20, examples=["SH01"])
    to_store_id: str = Field(min_length=1, max_length=20, examples=["HZ01"])
    vin: str | None = Field(None, examples=["LRW3E7FA0RC123456"])
    lines: list[PartLineIn] = Field(default_factory=list, max_length=200)
    reason: str = Field("", max_length=500, examples=["Customer in Hangzhou wants this colour"])


class PartLineOut(BaseModel):
    part_number: str
    quantity: int


class CostedLineOut(BaseModel):
    part_number: str
    quantity: int
    unit_cost_fen: int
    value_fen: int


class ValuationOut(BaseModel):
    """The stock's cost when it shipped: what finance posts from."""

    vehicle_cost_fen: int | None
    lines: list[CostedLineOut]
    value_fen: int


class TransferOut(BaseModel):
    id: str
    kind: str
    from_store_id: str
    to_store_id: str
    vin: str | None
    lines: list[PartLineOut]
    status: str
    reason: str
    requested_by: str
    approved_by: str | None
    valuation: ValuationOut | None
    received_on: date | None
    version: int
    created_at: datetime | None
    updated_at: datetime | None

    @classmethod
    def of(cls, record: TransferRecord) -> TransferOut:
        t = record.transfer
        valued = t.valuation
        return cls(
            id=t.id,
            kind=t.kind.value,
            from_store_id=t.from_store_id,
            to_store_id=t.to_store_id,
            vin=t.vin,
            lines=[PartLineOut(part_number=p.part_number, quantity=p.quantity) for p in t.lines],
            status=t.status.value,
            reason=t.reason,
            requested_by=t.requested_by,
            approved_by=t.approved_by,
            valuation=None
            if valued is None
            else ValuationOut(
                vehicle_cost_fen=valued.vehicle_cost_fen,
                lines=[
                    CostedLineOut(
                        part_number=c.part_number,
                        quantity=c.quantity,
                        unit_cost_fen=c.unit_cost_fen,
                        value_fen=c.value_fen,
                    )
                    for c in valued.costed_lines
                ],
                value_fen=valued.value_fen,
            ),
            received_on=t.received_on,
            version=t.version,
            created_at=record.created_at,
            updated_at=record.updated_at,
        )


class ReasonIn(BaseModel):
    reason: str = Field(min_length=1, max_length=500)


class ReceiveIn(BaseModel):
    received_on: date | None = Field(
        None, description="Default: today in the destination store's time zone"
    )


def _answer(response: Response, record: TransferRecord) -> TransferOut:
    response.headers["ETag"] = etag(record.transfer.version)
    return TransferOut.of(record)


@router.post("", status_code=201, response_model=TransferOut, dependencies=[permission(WRITE)])
async def request(
    body: TransferIn, principal: CurrentPrincipal, inventory: InventoryDep, idem: IdempotencyDep
) -> Response:
    """Ask for a vehicle or parts from another store; the stock is held there at once (409 when
    the vehicle is no longer free or the parts are short, and nothing is saved)."""
    uow = inventory.uow()
    async with uow:
        if replay := await idem.begin(uow.session, body):
            return replay
        record = await request_transfer(
            uow,
            principal,
            NewTransfer(
                kind=body.kind,
                from_store_id=body.from_store_id,
                to_store_id=body.to_store_id,
                vin=body.vin,
                lines=tuple(PartLine(p.part_number, p.quantity) for p in body.lines),
                reason=body.reason,
            ),
        )
        response = await idem.complete(
            uow.session,
            201,
            TransferOut.of(record),
            headers={"ETag": etag(record.transfer.version)},
        )
        await uow.commit()
    return response


@router.get("", response_model=Page[TransferOut], dependencies=[permission(READ)])
async def list_transfers(
    principal: CurrentPrincipal,
    inventory: InventoryDep,
    page: PageQuery,
    store_id: str | None = None,
    status: TransferStatus | None = None,
    kind: TransferKind | None = None,
) -> Page[TransferOut]:
    """Transfers into or out of the caller's stores, newest first; `store_id` matches either end."""
    principal.require(READ)
    stmt = select(TransferRow).where(visible_to(principal))
    if store_id:
        stmt = stmt.where(
            or_(
                col(TransferRow.from_store_id) == store_id, col(TransferRow.to_store_id) == store_id
            )
        )
    if status:
        stmt = stmt.where(col(TransferRow.status) == status.value)
    if kind:
        stmt = stmt.where(col(TransferRow.kind) == kind.value)
    async with inventory.db.session() as session:
        rows, cursor = await paginate(
            session,
            stmt,
            page,
            order=(col(TransferRow.created_at), col(TransferRow.id)),
            descending=True,
        )
    return Page(items=[TransferOut.of(record_of(r)) for r in rows], next_cursor=cursor)


@router.get("/{transfer_id}", response_model=TransferOut, dependencies=[permission(READ)])
async def read(
    transfer_id: str, principal: CurrentPrincipal, inventory: InventoryDep, response: Response
) -> TransferOut:
    return _answer(response, await get_transfer(inventory, principal, transfer_id))


@router.post("/{transfer_id}/approve", response_model=TransferOut, dependencies=[permission(WRITE)])
async def approve(
    transfer_id: str,
    principal: CurrentPrincipal,
    inventory: InventoryDep,
    version: IfMatch,
    response: Response,
) -> TransferOut:
    """A manager of the source store, or HQ, lets the stock go."""
    record = await approve_transfer(inventory, principal, transfer_id, expected_version=version)
    return _answer(response, record)


@router.post("/{transfer_id}/reject", response_model=TransferOut, dependencies=[permission(WRITE)])
async def reject(
    transfer_id: str,
    body: ReasonIn,
    principal: CurrentPrincipal,
    inventory: InventoryDep,
    version: IfMatch,
    response: Response,
) -> TransferOut:
    """A manager of the source store, or HQ, refuses; the held stock is for sale there again."""
    record = await reject_transfer(
        inventory, principal, transfer_id, reason=body.reason, expected_version=version
    )
    return _answer(response, record)


@router.post("/{transfer_id}/cancel", response_model=TransferOut, dependencies=[permission(WRITE)])
async def cancel(
    transfer_id: str,
    body: ReasonIn,
    principal: CurrentPrincipal,
    inventory: InventoryDep,
    version: IfMatch,
    response: Response,
) -> TransferOut:
    """Withdraw the transfer before it ships (409 once shipped)."""
    record = await cancel_transfer(
        inventory, principal, transfer_id, reason=body.reason, expected_version=version
    )
    return _answer(response, record)


@router.post("/{transfer_id}/ship", response_model=TransferOut, dependencies=[permission(WRITE)])
async def ship(
    transfer_id: str,
    principal: CurrentPrincipal,
    inventory: InventoryDep,
    version: IfMatch,
    response: Response,
) -> TransferOut:
    """The source store sends the approved stock; its cost is fixed now."""
    record = await ship_transfer(inventory, principal, transfer_id, expected_version=version)
    return _answer(response, record)


@router.post("/{transfer_id}/receive", response_model=TransferOut, dependencies=[permission(WRITE)])
async def receive(
    transfer_id: str,
    principal: CurrentPrincipal,
    inventory: InventoryDep,
    version: IfMatch,
    response: Response,
    body: ReceiveIn | None = None,
) -> TransferOut:
    """The destination store takes the stock in, at the cost it shipped at."""
    record = await receive_transfer(
        inventory,
        principal,
        transfer_id,
        received_on=body.received_on if body else None,
        expected_version=version,
    )
    return _answer(response, record)
