"""Safety stock (安全库存): the fewest cars of a model a store wants in stock before it reorders."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from marque_inventory.domain.checks import require_text, utc_now
from marque_inventory.domain.events import SafetyStockBreached
from marque_inventory.domain.vehicles import Vehicle, VehicleStatus
from marque_kit.errors import InvalidInput


@dataclass(frozen=True)
class SafetyStockRule:
    store_id: str
    model_code: str
    minimum: int

    def __post_init__(self) -> None:
        require_text(self.store_id, "store_id")
        require_text(self.model_code, "model_code")
        if isinstance(self.minimum, bool) or not isinstance(self.minimum, int) or self.minimum < 0:
            raise InvalidInput(
                "A safety-stock minimum is a whole number of vehicles, zero or more.",
                errors=[{"field": "minimum", "rule": "non_negative_integer"}],
            )


def counts_toward_safety_stock(vehicle: Vehicle, model_code: str) -> bool:
    """Only cars free to sell count: reserved, demo, on-order and in-transfer cars do not."""
    return vehicle.model_code == model_code and vehicle.status is VehicleStatus.IN_STOCK


def in_stock_count(vehicles: Iterable[Vehicle], model_code: str) -> int:
    return sum(1 for v in vehicles if counts_toward_safety_stock(v, model_code))


def check_safety_stock(
    rule: SafetyStockRule,
    in_stock_before: int,
    in_stock_after: int,
    *,
    now: datetime | None = None,
) -> SafetyStockBreached | None:
    """The alert when a change takes the store from at-or-above its minimum to below it (once)."""
    if not (in_stock_before >= rule.minimum > in_stock_after):
        return None
    return SafetyStockBreached(
        store_id=rule.store_id,
        model_code=rule.model_code,
        minimum=rule.minimum,
        in_stock=in_stock_after,
        occurred_at=utc_now(now),
    )
