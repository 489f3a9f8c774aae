"""Parts (配件) commands: receipts, shelf settings, and reserve / consume / release of part lines.

Each command is one transaction: lock the store's stock rows in part-number order (so concurrent
multi-line commands never deadlock), apply the domain, append every movement to the ledger, save
the rows conditionally on their version and collect the events into the outbox.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import orjson
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col

from marque_inventory.domain.events import InventoryEvent
from marque_inventory.domain.part_lines import PartLine, merge_lines
from marque_inventory.domain.parts import (
    PartStock,
    StockMovement,
    consume_lines,
    release_lines,
    reserve_lines,
)
from marque_inventory.models import Part, PartStockRow, StockMovementRow, Store
from marque_inventory.repository import (
    append_movements,
    part_stock_from_row,
    save_part_stock,
)
from marque_inventory.unit_of_work import Inventory, InventoryUnitOfWork
from marque_kit.auth import Principal
from marque_kit.errors import IdempotencyMismatch, InvalidInput, NotFound
from marque_kit.http import check_version
from marque_kit.metrics import business_events
from marque_kit.tables import idempotency_keys

# Quantities and stock live in 32-bit columns (and int32 proto fields): refuse what cannot fit.
MAX_LINE_QUANTITY = 1_000_000
MAX_STOCK = 2**31 - 1
MAX_LINES = 200
MAX_REFERENCE = 100
MAX_BIN = 40
# gRPC request ids share the kit's idempotency table under their own principal namespace.
RPC_REQUEST_PRINCIPAL = "rpc:inventory.parts"


@dataclass(frozen=True)
class RecordedMovement:
    """One ledger row as written: the domain movement plus the id the ledger gave it."""

    movement_id: int
    store_id: str
    part_number: str
    kind: str
    on_hand_delta: int
    reserved_delta: int
    reference: str
    on_hand_after: int
    reserved_after: int
    unit_cost_fen: int
    occurred_at: datetime

    @property
    def quantity(self) -> int:
        return max(abs(self.on_hand_delta), abs(self.reserved_delta))

    @property
    def available_after(self) -> int:
        return self.on_hand_after - self.reserved_after

    @classmethod
    def of(cls, row: StockMovementRow) -> RecordedMovement:
        assert row.id is not None
        return cls(
            movement_id=row.id,
            store_id=row.store_id,
            part_number=row.part_number,
            kind=row.kind,
            on_hand_delta=row.on_hand_delta,
            reserved_delta=row.reserved_delta,
            reference=row.reference,
            on_hand_after=row.on_hand_after,
            reserved_after=row.reserved_after,
            unit_cost_fen=row.unit_cost_fen,
            occurred_at=row.occurred_at,
        )


@dataclass(frozen=True)
class Receipt:
    """Parts bought in (入库); unit cost defaults to the catalog's purchase cost."""

    store_id: str
    part_number: str
    quantity: int
    reference: str
    unit_cost_fen: int | None = None


# --- input rules ----------------------------------------------------------------------------


def _reference(reference: str) -> str:
    reference = reference.strip() if isinstance(reference, str) else ""
    if not reference or len(reference) > MAX_REFERENCE:
        raise InvalidInput(
            f"reference is required and at most {MAX_REFERENCE} characters "
            "(a repair order, purchase order or delivery note number).",
            errors=[{"field": "reference", "rule": "required"}],
        )
    return reference


def _quantity(quantity: int, field: str = "quantity") -> int:
    if isinstance(quantity, int) and quantity > MAX_LINE_QUANTITY:
        raise InvalidInput(
            f"{field} is at most {MAX_LINE_QUANTITY:,} per line.",
            errors=[{"field": field, "rule": f"at_most_{MAX_LINE_QUANTITY}"}],
        )
    return quantity


def part_lines(lines: Iterable[tuple[str, int]]) -> tuple[PartLine, ...]:
    """(part number, quantity) pairs as merged domain lines; 422 on an unreadable line."""
    parsed = [
        PartLine(part_number.strip(), _quantity(qty, f"lines[{i}].quantity"))
        for i, (part_number, qty) in enumerate(lines)
    ]
    merged = merge_lines(parsed)
    if not merged:
        raise InvalidInput(
            "At least one part line is required.", errors=[{"field": "lines", "rule": "required"}]
        )
    if len(merged) > MAX_LINES:
        raise InvalidInput(f"At most {MAX_LINES} part lines per request; split it.")
    return merged


async def _require_store(uow: InventoryUnitOfWork, principal: Principal, store_id: str) -> None:
    principal.require_store(store_id, what=f"Store {store_id}")
    if await uow.session.get(Store, store_id) is None:
        raise NotFound(f"Store {store_id} was not found in your stores.")


async def _require_known_parts(uow: InventoryUnitOfWork, part_numbers: Sequence[str]) -> None:
    known = set(
        (
            await uow.session.execute(
                select(col(Part.part_number)).where(col(Part.part_number).in_(part_numbers))
            )
        ).scalars()
    )
    unknown = [p for p in part_numbers if p not in known]
    if unknown:
        raise InvalidInput(
            f"Not in the parts catalog: {', '.join(unknown)}.",
            errors=[
                {"field": "part_number", "rule": "known_part", "part_number": p} for p in unknown
            ],
        )


# --- rows -----------------------------------------------------------------------------------


async def lock_stocks(
    uow: InventoryUnitOfWork, store_id: str, part_numbers: Iterable[str], *, create: bool = False
) -> dict[str, PartStock]:
    """The store's stock of these parts, locked in part-number order; `create` opens missing
    rows first (an INSERT that yields to a concurrent one, never a check-then-insert)."""
    wanted = sorted(set(part_numbers))
    if create:
        await uow.session.execute(
            insert(PartStockRow)
            .values([{"store_id": store_id, "part_number": p, "version": 0} for p in wanted])
            .on_conflict_do_nothing(index_elements=["store_id", "part_number"])
        )
    rows = (
        (
            await uow.session.execute(
                select(PartStockRow)
                .where(
                    col(PartStockRow.store_id) == store_id,
                    col(PartStockRow.part_number).in_(wanted),
                )
                .order_by(col(PartStockRow.part_number))
                .with_for_update()
                .execution_options(populate_existing=True)
            )
        )
        .scalars()
        .all()
    )
    return {row.part_number: part_stock_from_row(row) for row in rows}


async def save_stock(uow: InventoryUnitOfWork, stock: PartStock, *, loaded_version: int) -> None:
    """Write the stock only if nobody changed it since `loaded_version`."""
    await save_part_stock(uow.session, stock, loaded_version=loaded_version)


async def _append_movements(
    uow: InventoryUnitOfWork, movements: Sequence[StockMovement]
) -> list[RecordedMovement]:
    # One movement per part and command (lines are merged), so the part number finds its id.
    id_of = await append_movements(uow.session, movements)
    return [
        RecordedMovement(
            movement_id=id_of[m.part_number],
            store_id=m.store_id,
            part_number=m.part_number,
            kind=m.kind.value,
            on_hand_delta=m.on_hand_delta,
            reserved_delta=m.reserved_delta,
            reference=m.reference,
            on_hand_after=m.on_hand_after,
            reserved_after=m.reserved_after,
            unit_cost_fen=m.unit_cost_fen,
            occurred_at=m.occurred_at,
        )
        for m in movements
    ]


async def _record(
    uow: InventoryUnitOfWork, stocks: Iterable[tuple[PartStock, int]]
) -> list[RecordedMovement]:
    """Ledger rows, conditional saves and outbox events for every changed stock."""
    movements: list[StockMovement] = []
    for stock, loaded in stocks:
        movements.extend(stock.pull_movements())
        await save_stock(uow, stock, loaded_version=loaded)
        uow.collect(stock)
    return await _append_movements(uow, movements)


# --- commands -------------------------------------------------------------------------------


async def receive_parts(
    uow: InventoryUnitOfWork, principal: Principal, receipt: Receipt
) -> tuple[RecordedMovement, PartStock]:
    """Take parts into a store's stock; opens the stock record if the store never held the part."""
    store_id, part_number = receipt.store_id, receipt.part_number.strip()
    reference = _reference(receipt.reference)
    await _require_store(uow, principal, store_id)
    part = await uow.session.get(Part, part_number) if part_number else None
    if part is None:
        raise InvalidInput(
            f"Part {part_number!r} is not in the parts catalog.",
            errors=[{"field": "part_number", "rule": "known_part"}],
        )
    quantity = _quantity(receipt.quantity)
    unit_cost = receipt.unit_cost_fen if receipt.unit_cost_fen is not None else part.unit_cost_fen
    stock = (await lock_stocks(uow, store_id, [part_number], create=True))[part_number]
    if isinstance(quantity, int) and stock.on_hand + quantity > MAX_STOCK:
        raise InvalidInput(f"Part {part_number} in store {store_id} cannot hold that many.")
    loaded = stock.version
    stock.receive(quantity, unit_cost, reference)
    (movement,) = await _record(uow, [(stock, loaded)])
    business_events.labels("inventory", "parts_received").inc()
    return movement, stock


async def set_shelf(
    uow: InventoryUnitOfWork,
    principal: Principal,
    *,
    store_id: str,
    part_number: str,
    expected_version: int,
    bin: str | None = None,
    reorder_point: int | None = None,
) -> PartStock:
    """Change the shelf location (库位) and/or reorder point; the caller names the version read.

    A part the store never held stands at version 0, so it can be shelved before its first receipt.
    """
    if bin is None and reorder_point is None:
        raise InvalidInput("Name a bin, a reorder point or both to change.")
    await _require_store(uow, principal, store_id)
    await _require_known_parts(uow, [part_number])
    if bin is not None and len(bin.strip()) > MAX_BIN:
        raise InvalidInput(
            f"A bin is at most {MAX_BIN} characters.", errors=[{"field": "bin", "rule": "length"}]
        )
    stock = (await lock_stocks(uow, store_id, [part_number], create=True))[part_number]
    check_version(stock.version, expected_version)
    loaded = stock.version
    if reorder_point is not None:
        stock.set_reorder_point(reorder_point)
    if bin is not None:
        stock.bin = bin.strip()
    stock.version = loaded + 1  # one edit, one version, whichever fields it touched
    await save_stock(uow, stock, loaded_version=loaded)
    return stock


LinesCommand = Callable[[Mapping[str, PartStock], Iterable[PartLine], str], list[InventoryEvent]]

COMMANDS: dict[str, LinesCommand] = {
    "reserve": lambda stocks, lines, ref: reserve_lines(stocks, lines, ref),
    "consume": lambda stocks, lines, ref: consume_lines(stocks, lines, ref),
    "release": lambda stocks, lines, ref: release_lines(stocks, lines, ref),
}


async def apply_part_lines(
    uow: InventoryUnitOfWork,
    principal: Principal,
    method: str,
    *,
    store_id: str,
    reference: str,
    lines: Iterable[tuple[str, int]],
) -> list[RecordedMovement]:
    """Reserve, consume or release every line or none; movements come back in line order."""
    command = COMMANDS[method]
    reference = _reference(reference)
    merged = part_lines(lines)
    await _require_store(uow, principal, store_id)
    await _require_known_parts(uow, [line.part_number for line in merged])
    stocks = await lock_stocks(uow, store_id, [line.part_number for line in merged])
    loaded = {part: stock.version for part, stock in stocks.items()}
    command(stocks, merged, reference)
    recorded = await _record(
        uow, [(stocks[line.part_number], loaded[line.part_number]) for line in merged]
    )
    business_events.labels("inventory", f"parts_{method}").inc(len(recorded))
    return recorded


async def reserve_parts(
    uow: InventoryUnitOfWork,
    principal: Principal,
    *,
    store_id: str,
    reference: str,
    lines: Iterable[tuple[str, int]],
) -> list[RecordedMovement]:
    """Hold parts for a repair order or transfer: all lines or none (409 names the shortages)."""
    return await apply_part_lines(
        uow, principal, "reserve", store_id=store_id, reference=reference, lines=lines
    )


async def consume_parts(
    uow: InventoryUnitOfWork,
    principal: Principal,
    *,
    store_id: str,
    reference: str,
    lines: Iterable[tuple[str, int]],
) -> list[RecordedMovement]:
    """Issue held parts out of stock (出库) at the moving-average cost: all lines or none."""
    return await apply_part_lines(
        uow, principal, "consume", store_id=store_id, reference=reference, lines=lines
    )


async def release_parts(
    uow: InventoryUnitOfWork,
    principal: Principal,
    *,
    store_id: str,
    reference: str,
    lines: Iterable[tuple[str, int]],
) -> list[RecordedMovement]:
    """Give held parts back to available stock: all lines or none."""
    return await apply_part_lines(
        uow, principal, "release", store_id=store_id, reference=reference, lines=lines
    )


# --- retry-safe calls by request id (the gRPC methods) ---------------------------------------


def _fingerprint(method: str, store_id: str, reference: str, lines: Sequence[PartLine]) -> str:
    payload = [method, store_id, reference, [[line.part_number, line.quantity] for line in lines]]
    return hashlib.sha256(orjson.dumps(payload)).hexdigest()


async def _claim_request(
    uow: InventoryUnitOfWork, request_id: str, method: str, fingerprint: str
) -> list[int] | None:
    """Claim `request_id` in this transaction; the movement ids of its first answer if it was
    applied before. A concurrent claim waits on the key until the first transaction ends."""
    if not request_id.strip() or len(request_id) > 200:
        raise InvalidInput(
            "request_id is required (at most 200 characters) so that a retried call never acts "
            "twice.",
            errors=[{"field": "request_id", "rule": "required"}],
        )
    claimed = await uow.session.execute(
        insert(idempotency_keys)
        .values(
            principal=RPC_REQUEST_PRINCIPAL,
            key=request_id,
            method="RPC",
            path=f"parts/{method}",
            request_hash=fingerprint,
        )
        .on_conflict_do_nothing()
        .returning(idempotency_keys.c.key)
    )
    if claimed.first() is not None:
        return None
    prior = (
        await uow.session.execute(
            select(idempotency_keys).where(
                idempotency_keys.c.principal == RPC_REQUEST_PRINCIPAL,
                idempotency_keys.c.key == request_id,
            )
        )
    ).one()
    if prior.request_hash != fingerprint or prior.response_body is None:
        raise IdempotencyMismatch(
            f"Request id {request_id} was already used for another call; use a new request id.",
            errors=[{"field": "request_id", "rule": "reused"}],
        )
    return [int(i) for i in prior.response_body["movement_ids"]]


async def load_movements(uow: InventoryUnitOfWork, ids: Sequence[int]) -> list[RecordedMovement]:
    """Ledger rows by id, in the order asked (the ledger is append-only, so they never change)."""
    rows = (
        (
            await uow.session.execute(
                select(StockMovementRow).where(col(StockMovementRow.id).in_(ids))
            )
        )
        .scalars()
        .all()
    )
    by_id = {row.id: RecordedMovement.of(row) for row in rows}
    return [by_id[i] for i in ids]


async def run_parts_request(
    inventory: Inventory,
    principal: Principal,
    method: str,
    *,
    request_id: str,
    store_id: str,
    reference: str,
    lines: Iterable[tuple[str, int]],
) -> list[RecordedMovement]:
    """`apply_part_lines` that a retry with the same request id answers without acting twice."""
    # Repair orders hold, use and return parts; one scope covers the three.
    principal.require("inventory.parts:reserve")
    reference = _reference(reference)
    merged = part_lines(lines)
    principal.require_store(store_id, what=f"Store {store_id}")
    uow = inventory.uow()
    async with uow:
        prior = await _claim_request(
            uow, request_id, method, _fingerprint(method, store_id, reference, merged)
        )
        if prior is not None:
            return await load_movements(uow, prior)
        recorded = await apply_part_lines(
            uow, principal, method, store_id=store_id, reference=reference, lines=_pairs(merged)
        )
        await uow.session.execute(
            idempotency_keys.update()
            .where(
                idempotency_keys.c.principal == RPC_REQUEST_PRINCIPAL,
                idempotency_keys.c.key == request_id,
            )
            .values(
                status_code=200, response_body={"movement_ids": [m.movement_id for m in recorded]}
            )
        )
        await uow.commit()
    return recorded


def _pairs(lines: Iterable[PartLine]) -> list[tuple[str, int]]:
    return [(line.part_number, line.quantity) for line in lines]


# --- reads ----------------------------------------------------------------------------------


async def stock_levels(
    inventory: Inventory, principal: Principal, *, store_id: str, part_numbers: Sequence[str]
) -> list[PartStock]:
    """The store's stock of each known part, in the order asked; a part never held reads as zero
    and a part number outside the catalog is left out."""
    principal.require_store(store_id, what=f"Store {store_id}")
    wanted = list(dict.fromkeys(p.strip() for p in part_numbers if p.strip()))
    if not wanted:
        return []
    async with inventory.db.session() as session:
        if await session.get(Store, store_id) is None:
            raise NotFound(f"Store {store_id} was not found in your stores.")
        known = set(
            (
                await session.execute(
                    select(col(Part.part_number)).where(col(Part.part_number).in_(wanted))
                )
            ).scalars()
        )
        rows = (
            (
                await session.execute(
                    select(PartStockRow).where(
                        col(PartStockRow.store_id) == store_id,
                        col(PartStockRow.part_number).in_(wanted),
                    )
                )
            )
            .scalars()
            .all()
        )
    held = {row.part_number: part_stock_from_row(row) for row in rows}
    return [held.get(p) or empty_stock(store_id, p) for p in wanted if p in known]


def empty_stock(store_id: str, part_number: str) -> PartStock:
    """A part the store has never held: nothing on hand, version 0."""
    return PartStock(store_id=store_id, part_number=part_number, version=0)
