"""库龄 (stock age): the business date and the sweep that raises one alert per bucket crossed."""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, or_, select, update
from sqlmodel import col

from marque_inventory.domain.ageing import AGEING_STATUSES, AgeBuckets, check_stock_age
from marque_inventory.models import VehicleRow
from marque_inventory.repository import vehicle_from_row
from marque_inventory.unit_of_work import Inventory
from marque_kit.metrics import business_events

log = logging.getLogger("marque.inventory")

BUSINESS_TZ = ZoneInfo("Asia/Shanghai")
AGEING_STATUS_VALUES = tuple(sorted(s.value for s in AGEING_STATUSES))


def business_date(now: datetime | None = None) -> date:
    """Today as the stores count days (Asia/Shanghai), whatever the server's clock zone."""
    return (now or datetime.now(BUSINESS_TZ)).astimezone(BUSINESS_TZ).date()


def _last_checked_on(arrived_on: date, age_alerted_days: int) -> date | None:
    """The day after the last alerted threshold was passed, so that it is never alerted again."""
    if age_alerted_days <= 0:
        return None
    return arrived_on + timedelta(days=age_alerted_days + 1)


async def sweep_stock_age(
    inventory: Inventory, buckets: AgeBuckets, today: date, *, batch: int = 200
) -> int:
    """Raise StockAgeThresholdCrossed once per vehicle and bucket crossed since the last alert.

    Each batch is one transaction: rows are locked with SKIP LOCKED (several replicas may sweep),
    the alert goes to the outbox and `age_alerted_days` moves up in the same commit. The vehicle's
    version is not bumped: an alert changes nothing a user edits. Returns the alerts raised.
    """
    # Age > t  <=>  arrived_on < today - t; only thresholds beyond the one already alerted count.
    crossed_unalerted = or_(
        *(
            and_(
                col(VehicleRow.age_alerted_days) < t,
                col(VehicleRow.arrived_on) < today - timedelta(days=t),
            )
            for t in buckets.thresholds
        )
    )
    raised = 0
    while True:
        uow = inventory.uow()
        async with uow:
            rows = (
                (
                    await uow.session.execute(
                        select(VehicleRow)
                        .where(
                            col(VehicleRow.status).in_(AGEING_STATUS_VALUES),
                            col(VehicleRow.arrived_on).is_not(None),
                            crossed_unalerted,
                        )
                        .order_by(col(VehicleRow.arrived_on), col(VehicleRow.vin))
                        .limit(batch)
                        .with_for_update(skip_locked=True)
                    )
                )
                .scalars()
                .all()
            )
            for row in rows:
                if row.arrived_on is None:  # excluded by the query; keeps the type checker honest
                    continue
                vehicle = vehicle_from_row(row)
                alert = check_stock_age(
                    vehicle,
                    last_checked_on=_last_checked_on(row.arrived_on, row.age_alerted_days),
                    business_date=today,
                    buckets=buckets,
                )
                age = (today - row.arrived_on).days
                # Even without an alert the row moves up, so that it is never picked again.
                passed = max((t for t in buckets.thresholds if age > t), default=0)
                if alert is not None:
                    uow.add([alert])
                    raised += 1
                await uow.session.execute(
                    update(VehicleRow)
                    .where(col(VehicleRow.vin) == row.vin)
                    .values(age_alerted_days=max(passed, row.age_alerted_days))
                )
            await uow.commit()
        if len(rows) < batch:
            break
    if raised:
        business_events.labels("inventory", "stock_age_threshold_crossed").inc(raised)
        log.info("stock-age alerts raised", extra={"count": raised})
    return raised
