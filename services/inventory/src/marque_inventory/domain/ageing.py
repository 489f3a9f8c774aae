"""Stock age (库龄): days since a vehicle arrived at its store, grouped into the buckets HQ watches.

An alert fires once per bucket: when a vehicle's age crosses a threshold between two checks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from itertools import pairwise

from marque_inventory.domain.checks import utc_now
from marque_inventory.domain.events import StockAgeThresholdCrossed
from marque_inventory.domain.vehicles import Vehicle, VehicleStatus
from marque_kit.errors import InvalidInput

# Vehicles that no longer (or not yet) sit in the store's stock do not age.
AGEING_STATUSES = frozenset(
    {VehicleStatus.IN_STOCK, VehicleStatus.RESERVED, VehicleStatus.DEMO, VehicleStatus.IN_TRANSFER}
)


def stock_age_days(arrived_on: date, business_date: date) -> int:
    """Whole days in stock; the arrival day is day 0. A business date before arrival counts as 0,
    so that a mistyped arrival date never breaks the ageing report."""
    return max(0, (business_date - arrived_on).days)


@dataclass(frozen=True)
class AgeBuckets:
    """Thresholds in days; (30, 60, 90) gives the buckets 0-30, 31-60, 61-90 and 90+."""

    thresholds: tuple[int, ...] = (30, 60, 90)

    def __post_init__(self) -> None:
        t = self.thresholds
        if not t or any(isinstance(d, bool) or not isinstance(d, int) or d <= 0 for d in t):
            raise InvalidInput("Stock-age thresholds are whole numbers of days above zero.")
        if any(a >= b for a, b in pairwise(t)):
            raise InvalidInput("Stock-age thresholds must increase: e.g. 30, 60, 90.")

    @property
    def labels(self) -> tuple[str, ...]:
        lows = (0, *(t + 1 for t in self.thresholds[:-1]))
        ranges = tuple(f"{lo}-{hi}" for lo, hi in zip(lows, self.thresholds, strict=True))
        return (*ranges, f"{self.thresholds[-1]}+")

    def index_of(self, age_days: int) -> int:
        """0 for the first bucket, len(thresholds) for the last (older than every threshold)."""
        return sum(1 for t in self.thresholds if age_days > t)

    def bucket_of(self, age_days: int) -> str:
        return self.labels[self.index_of(age_days)]

    def threshold_crossed(self, age_before: int, age_now: int) -> int | None:
        """The highest threshold passed between two checks, or None: one alert per bucket even when
        a check was missed and several thresholds passed at once."""
        passed = [t for t in self.thresholds if age_before <= t < age_now]
        return passed[-1] if passed else None


DEFAULT_AGE_BUCKETS = AgeBuckets()


def check_stock_age(
    vehicle: Vehicle,
    *,
    last_checked_on: date | None,
    business_date: date,
    buckets: AgeBuckets = DEFAULT_AGE_BUCKETS,
    now: datetime | None = None,
) -> StockAgeThresholdCrossed | None:
    """The alert to raise for this vehicle today, if its stock age crossed a threshold since the
    last check (`last_checked_on`; None means never checked, i.e. since arrival)."""
    if vehicle.arrived_on is None or vehicle.status not in AGEING_STATUSES:
        return None
    age_now = stock_age_days(vehicle.arrived_on, business_date)
    since = last_checked_on if last_checked_on is not None else vehicle.arrived_on
    age_before = stock_age_days(vehicle.arrived_on, since)
    threshold = buckets.threshold_crossed(age_before, age_now)
    if threshold is None:
        return None
    return StockAgeThresholdCrossed(
        vin=vehicle.vin,
        store_id=vehicle.store_id,
        model_code=vehicle.model_code,
        trim_code=vehicle.trim_code,
        cost_fen=vehicle.cost_fen,
        arrived_on=vehicle.arrived_on,
        age_days=age_now,
        threshold_days=threshold,
        bucket=buckets.bucket_of(age_now),
        version=vehicle.version,
        occurred_at=utc_now(now),
    )
