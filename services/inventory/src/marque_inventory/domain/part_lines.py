"""Lines of parts, as a repair order or a transfer lists them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from marque_inventory.domain.checks import require_quantity, require_text
from marque_inventory.domain.money import require_fen


@dataclass(frozen=True)
class PartLine:
    part_number: str
    quantity: int

    def __post_init__(self) -> None:
        require_text(self.part_number, "part_number")
        require_quantity(self.quantity)


@dataclass(frozen=True)
class CostedPartLine:
    """A line valued at the store's moving-average unit cost: what finance posts from."""

    part_number: str
    quantity: int
    unit_cost_fen: int

    def __post_init__(self) -> None:
        require_text(self.part_number, "part_number")
        require_quantity(self.quantity)
        require_fen(self.unit_cost_fen, "unit_cost_fen")

    @property
    def value_fen(self) -> int:
        return self.quantity * self.unit_cost_fen


def merge_lines(lines: Iterable[PartLine]) -> tuple[PartLine, ...]:
    """One line per part number, quantities summed, in the order parts first appear."""
    totals: dict[str, int] = {}
    for line in lines:
        totals[line.part_number] = totals.get(line.part_number, 0) + line.quantity
    return tuple(PartLine(part, qty) for part, qty in totals.items())
