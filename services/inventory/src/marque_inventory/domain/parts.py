"""Parts stock (配件库存) per store and part number.

available = on hand - reserved. Stock is never negative and never more is reserved than is on
hand. Every change appends a `StockMovement` to the ledger (`pull_movements()`); when available
stock falls below the reorder point it raises `PartBelowReorderPoint`, once per crossing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from fractions import Fraction
from typing import Any

from marque_inventory.domain import events as ev
from marque_inventory.domain.checks import require_quantity, require_text, utc_now
from marque_inventory.domain.errors import InsufficientStock
from marque_inventory.domain.money import require_fen, round_half_up
from marque_inventory.domain.part_lines import CostedPartLine, PartLine, merge_lines
from marque_kit.errors import InvalidInput


class MovementKind(StrEnum):
    RECEIPT = "receipt"  # bought in from a supplier or the OEM
    RESERVATION = "reservation"  # held for a repair order or a transfer
    RELEASE = "release"  # a hold given back
    CONSUMPTION = "consumption"  # fitted on a repair order
    TRANSFER_OUT = "transfer_out"  # shipped to another store
    TRANSFER_IN = "transfer_in"  # received from another store


@dataclass(frozen=True)
class StockMovement:
    """One line of the append-only stock ledger: what changed and what it left."""

    store_id: str
    part_number: str
    kind: MovementKind
    on_hand_delta: int
    reserved_delta: int
    reference: str
    on_hand_after: int
    reserved_after: int
    unit_cost_fen: int
    version: int
    occurred_at: datetime


@dataclass(eq=False)
class PartStock:
    store_id: str
    part_number: str
    on_hand: int = 0
    reserved: int = 0
    bin: str = ""  # the shelf location (库位)
    reorder_point: int = 0  # alert when available stock falls below this
    average_unit_cost_fen: int = 0  # moving average, VAT excluded: the cost finance posts
    version: int = 0
    _pending: list[ev.InventoryEvent] = field(default_factory=list, init=False, repr=False)
    _movements: list[StockMovement] = field(default_factory=list, init=False, repr=False)

    @classmethod
    def open(
        cls, store_id: str, part_number: str, *, bin: str = "", reorder_point: int = 0
    ) -> PartStock:
        """An empty stock record for a part the store has never held."""
        stock = cls(
            store_id=require_text(store_id, "store_id"),
            part_number=require_text(part_number, "part_number"),
            bin=bin,
        )
        stock.set_reorder_point(reorder_point)
        stock.version = 0
        return stock

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved

    def pull_events(self) -> list[ev.InventoryEvent]:
        pending, self._pending = self._pending, []
        return pending

    def pull_movements(self) -> list[StockMovement]:
        movements, self._movements = self._movements, []
        return movements

    # --- commands ---------------------------------------------------------------------------

    def receive(
        self, qty: int, unit_cost_fen: int, reference: str, *, now: datetime | None = None
    ) -> list[ev.InventoryEvent]:
        """Parts bought in; the moving-average cost absorbs their unit cost."""
        qty, reference = require_quantity(qty), require_text(reference, "reference")
        self._absorb_cost(qty, require_fen(unit_cost_fen, "unit_cost_fen"))
        alerts = self._change(MovementKind.RECEIPT, qty, 0, reference, now)
        event = ev.PartsReceived(**self._facts(qty, reference, now), unit_cost_fen=unit_cost_fen)
        return self._record(event, *alerts)

    def reserve(
        self, qty: int, reference: str, *, now: datetime | None = None
    ) -> list[ev.InventoryEvent]:
        """Hold parts for a repair order or a transfer; only available parts can be held."""
        qty, reference = require_quantity(qty), require_text(reference, "reference")
        self._require(qty, self.available, "available")
        alerts = self._change(MovementKind.RESERVATION, 0, qty, reference, now)
        return self._record(ev.PartsReserved(**self._facts(qty, reference, now)), *alerts)

    def release(
        self, qty: int, reference: str, *, now: datetime | None = None
    ) -> list[ev.InventoryEvent]:
        """Give a hold back: the parts are available again."""
        qty, reference = require_quantity(qty), require_text(reference, "reference")
        self._require(qty, self.reserved, "reserved")
        alerts = self._change(MovementKind.RELEASE, 0, -qty, reference, now)
        return self._record(ev.PartsReleased(**self._facts(qty, reference, now)), *alerts)

    def consume(
        self, qty: int, reference: str, *, now: datetime | None = None
    ) -> list[ev.InventoryEvent]:
        """Parts fitted on a repair order leave stock; only reserved parts can be consumed."""
        qty, reference = require_quantity(qty), require_text(reference, "reference")
        self._require(qty, self.reserved, "reserved")
        alerts = self._change(MovementKind.CONSUMPTION, -qty, -qty, reference, now)
        event = ev.PartsConsumed(
            **self._facts(qty, reference, now), unit_cost_fen=self.average_unit_cost_fen
        )
        return self._record(event, *alerts)

    def transfer_out(
        self, qty: int, reference: str, *, now: datetime | None = None
    ) -> list[ev.InventoryEvent]:
        """Ship held parts to another store (the transfer reserved them first)."""
        qty, reference = require_quantity(qty), require_text(reference, "reference")
        self._require(qty, self.reserved, "reserved")
        return self._record(*self._change(MovementKind.TRANSFER_OUT, -qty, -qty, reference, now))

    def transfer_in(
        self, qty: int, unit_cost_fen: int, reference: str, *, now: datetime | None = None
    ) -> list[ev.InventoryEvent]:
        """Parts arrived from another store at the cost they left it with."""
        qty, reference = require_quantity(qty), require_text(reference, "reference")
        self._absorb_cost(qty, require_fen(unit_cost_fen, "unit_cost_fen"))
        return self._record(*self._change(MovementKind.TRANSFER_IN, qty, 0, reference, now))

    def set_reorder_point(self, reorder_point: int) -> None:
        if isinstance(reorder_point, bool) or not isinstance(reorder_point, int):
            raise InvalidInput("A reorder point is a whole number of parts.")
        if reorder_point < 0:
            raise InvalidInput(
                "A reorder point cannot be negative.",
                errors=[{"field": "reorder_point", "rule": "non_negative"}],
            )
        self.reorder_point = reorder_point
        self.version += 1

    # --- the machinery ----------------------------------------------------------------------

    def _require(self, qty: int, have: int, what: str) -> None:
        if qty > have:
            raise InsufficientStock(
                f"Part {self.part_number} in store {self.store_id}: wanted {qty}, "
                f"only {have} {what}.",
                errors=[_shortage(self.part_number, qty, have, what)],
            )

    def _absorb_cost(self, qty: int, unit_cost_fen: int) -> None:
        total = self.on_hand * self.average_unit_cost_fen + qty * unit_cost_fen
        self.average_unit_cost_fen = round_half_up(Fraction(total, self.on_hand + qty))

    def _change(
        self,
        kind: MovementKind,
        on_hand_delta: int,
        reserved_delta: int,
        reference: str,
        now: datetime | None,
    ) -> list[ev.InventoryEvent]:
        available_before = self.available
        self.on_hand += on_hand_delta
        self.reserved += reserved_delta
        # The command checked its quantity first; this guards the invariant itself.
        assert 0 <= self.reserved <= self.on_hand, "parts stock went negative"
        self.version += 1
        self._movements.append(
            StockMovement(
                store_id=self.store_id,
                part_number=self.part_number,
                kind=kind,
                on_hand_delta=on_hand_delta,
                reserved_delta=reserved_delta,
                reference=reference,
                on_hand_after=self.on_hand,
                reserved_after=self.reserved,
                unit_cost_fen=self.average_unit_cost_fen,
                version=self.version,
                occurred_at=utc_now(now),
            )
        )
        if available_before >= self.reorder_point > self.available:
            return [
                ev.PartBelowReorderPoint(
                    store_id=self.store_id,
                    part_number=self.part_number,
                    available=self.available,
                    reorder_point=self.reorder_point,
                    on_hand=self.on_hand,
                    reserved=self.reserved,
                    version=self.version,
                    occurred_at=utc_now(now),
                )
            ]
        return []

    def _facts(self, qty: int, reference: str, now: datetime | None) -> dict[str, Any]:
        return {
            "store_id": self.store_id,
            "part_number": self.part_number,
            "quantity": qty,
            "reference": reference,
            "on_hand": self.on_hand,
            "reserved": self.reserved,
            "version": self.version,
            "occurred_at": utc_now(now),
        }

    def _record(self, *events: ev.InventoryEvent) -> list[ev.InventoryEvent]:
        self._pending.extend(events)
        return list(events)


def _shortage(part_number: str, wanted: int, have: int, what: str) -> dict[str, object]:
    return {
        "field": "quantity",
        "rule": f"at_most_{what}",
        "part_number": part_number,
        "wanted": wanted,
        what: have,
    }


# --- several parts at once (a repair order's lines): all or nothing -------------------------


def _apply_lines(
    stocks: Mapping[str, PartStock],
    lines: Iterable[PartLine],
    what: str,
    have: Callable[[PartStock], int],
    apply: Callable[[PartStock, int], list[ev.InventoryEvent]],
) -> list[ev.InventoryEvent]:
    merged = merge_lines(lines)
    if not merged:
        raise InvalidInput("At least one part line is required.")
    shortages = [
        _shortage(line.part_number, line.quantity, got, what)
        for line in merged
        if line.quantity
        > (got := have(stocks[line.part_number]) if line.part_number in stocks else 0)
    ]
    if shortages:
        listed = "; ".join(
            f"{s['part_number']}: wanted {s['wanted']}, only {s[what]}" for s in shortages
        )
        raise InsufficientStock(
            f"Nothing was changed: not enough parts {what} ({listed}).", errors=shortages
        )
    return [event for line in merged for event in apply(stocks[line.part_number], line.quantity)]


def reserve_lines(
    stocks: Mapping[str, PartStock],
    lines: Iterable[PartLine],
    reference: str,
    *,
    now: datetime | None = None,
) -> list[ev.InventoryEvent]:
    """Hold every line or none: all lines are checked against available stock before any changes.
    `stocks` maps part number to the store's stock (a missing part counts as none available)."""
    return _apply_lines(
        stocks,
        lines,
        "available",
        lambda s: s.available,
        lambda s, q: s.reserve(q, reference, now=now),
    )


def release_lines(
    stocks: Mapping[str, PartStock],
    lines: Iterable[PartLine],
    reference: str,
    *,
    now: datetime | None = None,
) -> list[ev.InventoryEvent]:
    """Give back every held line or none."""
    return _apply_lines(
        stocks,
        lines,
        "reserved",
        lambda s: s.reserved,
        lambda s, q: s.release(q, reference, now=now),
    )


def consume_lines(
    stocks: Mapping[str, PartStock],
    lines: Iterable[PartLine],
    reference: str,
    *,
    now: datetime | None = None,
) -> list[ev.InventoryEvent]:
    """Consume every held line or none (a repair order's parts are issued together)."""
    return _apply_lines(
        stocks,
        lines,
        "reserved",
        lambda s: s.reserved,
        lambda s, q: s.consume(q, reference, now=now),
    )


def transfer_out_lines(
    stocks: Mapping[str, PartStock],
    lines: Iterable[PartLine],
    reference: str,
    *,
    now: datetime | None = None,
) -> tuple[CostedPartLine, ...]:
    """Ship every held line or none; each line leaves at the store's moving-average cost."""
    shipped: list[CostedPartLine] = []

    def ship(stock: PartStock, qty: int) -> list[ev.InventoryEvent]:
        shipped.append(CostedPartLine(stock.part_number, qty, stock.average_unit_cost_fen))
        return stock.transfer_out(qty, reference, now=now)

    _apply_lines(stocks, lines, "reserved", lambda s: s.reserved, ship)
    return tuple(shipped)
