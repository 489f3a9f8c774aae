"""库龄 (stock age): the business date and the sweep that raises one alert per bucket crossed; and
one store's stock at a glance (vehicles and parts), which the gateway composes into its views."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from marque_inventory.domain.ageing import (
    AGEING_STATUSES,
    AgeBuckets,
    check_stock_age,
    stock_age_days,
)
from marque_inventory.domain.vehicles import VehicleStatus
from marque_inventory.models import Part, PartStockRow, Store, VehicleModel, VehicleRow
from marque_inventory.repository import vehicle_from_row
from marque_inventory.unit_of_work import Inventory
from marque_kit.auth import Principal
from marque_kit.errors import NotFound
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


# --- one store at a glance -------------------------------------------------------------------

SHORTAGE_LIST_LIMIT = 20


@dataclass(frozen=True)
class ModelInStock:
    model_code: str
    model_name: str
    in_stock: int


@dataclass(frozen=True)
class AgeBucketTally:
    bucket: str
    count: int
    cost_fen: int


@dataclass(frozen=True)
class VehicleStockSummary:
    store_id: str
    business_date: date
    counts_by_status: dict[str, int]
    in_stock_by_model: list[ModelInStock]
    age_buckets: list[AgeBucketTally]
    oldest_vehicle_days: int


@dataclass(frozen=True)
class PartShortage:
    part_number: str
    name: str
    on_hand: int
    available: int
    reorder_point: int


@dataclass(frozen=True)
class PartsStockSummary:
    store_id: str
    sku_count: int
    stock_value_fen: int
    below_reorder_point_count: int
    out_of_stock_count: int
    below_reorder_point: list[PartShortage]
    out_of_stock: list[PartShortage]


async def _store_of(session: AsyncSession, principal: Principal, store_id: str) -> Store:
    """The store, if the caller may see it; another store or an unknown one answers 404."""
    principal.require_store(store_id, what=f"Store {store_id}")
    store = await session.get(Store, store_id)
    if store is None:
        raise NotFound(f"Store {store_id} was not found in your stores.")
    return store


async def vehicle_stock_summary(
    inventory: Inventory,
    principal: Principal,
    *,
    store_id: str,
    buckets: AgeBuckets,
    today: date,
) -> VehicleStockSummary:
    """Vehicles of one store: per status, in stock per model, and per 库龄 bucket."""
    principal.require("inventory.vehicles:read")
    in_store = col(VehicleRow.store_id) == store_id
    in_stock = func.count(col(VehicleRow.vin))
    async with inventory.db.session() as session:
        await _store_of(session, principal, store_id)
        by_status = await session.execute(
            select(col(VehicleRow.status), func.count(col(VehicleRow.vin)))
            .where(in_store)
            .group_by(col(VehicleRow.status))
        )
        by_model = await session.execute(
            select(col(VehicleModel.code), col(VehicleModel.name), in_stock)
            .join(VehicleModel, col(VehicleModel.code) == col(VehicleRow.model_code))
            .where(in_store, col(VehicleRow.status) == VehicleStatus.IN_STOCK.value)
            .group_by(col(VehicleModel.code), col(VehicleModel.name))
            .order_by(in_stock.desc(), col(VehicleModel.code))
        )
        per_day = await session.execute(
            select(
                col(VehicleRow.arrived_on),
                func.count(col(VehicleRow.vin)),
                func.coalesce(func.sum(col(VehicleRow.cost_fen)), 0),
            )
            .where(
                in_store,
                col(VehicleRow.status).in_(AGEING_STATUS_VALUES),
                col(VehicleRow.arrived_on).is_not(None),
            )
            .group_by(col(VehicleRow.arrived_on))
        )
        counts = {status.value: 0 for status in VehicleStatus}
        counts.update({status: n for status, n in by_status.all()})
        models = [ModelInStock(code, name, n) for code, name, n in by_model.all()]
        tally = {label: [0, 0] for label in buckets.labels}
        oldest = 0
        for arrived_on, n, cost in per_day.all():
            age = stock_age_days(arrived_on or today, today)
            oldest = max(oldest, age)
            entry = tally[buckets.bucket_of(age)]
            entry[0] += n
            entry[1] += int(cost)
    return VehicleStockSummary(
        store_id=store_id,
        business_date=today,
        counts_by_status=counts,
        in_stock_by_model=models,
        age_buckets=[AgeBucketTally(label, n, cost) for label, (n, cost) in tally.items()],
        oldest_vehicle_days=oldest,
    )


async def parts_stock_summary(
    inventory: Inventory, principal: Principal, *, store_id: str
) -> PartsStockSummary:
    """Parts of one store: SKUs, stock value at average cost, and what is short."""
    principal.require("inventory.parts:read")
    in_store = col(PartStockRow.store_id) == store_id
    available = col(PartStockRow.on_hand) - col(PartStockRow.reserved)
    below = available < col(PartStockRow.reorder_point)
    empty = available <= 0
    shortage_columns = (
        col(PartStockRow.part_number),
        col(Part.name),
        col(PartStockRow.on_hand),
        available,
        col(PartStockRow.reorder_point),
    )
    async with inventory.db.session() as session:
        await _store_of(session, principal, store_id)
        totals = (
            await session.execute(
                select(
                    func.count(),
                    func.coalesce(
                        func.sum(
                            col(PartStockRow.on_hand) * col(PartStockRow.average_unit_cost_fen)
                        ),
                        0,
                    ),
                    func.count().filter(below),
                    func.count().filter(empty),
                ).where(in_store)
            )
        ).one()
        short = await session.execute(
            select(*shortage_columns)
            .join(Part, col(Part.part_number) == col(PartStockRow.part_number))
            .where(in_store, below)
            .order_by((col(PartStockRow.reorder_point) - available).desc(), col(Part.part_number))
            .limit(SHORTAGE_LIST_LIMIT)
        )
        out = await session.execute(
            select(*shortage_columns)
            .join(Part, col(Part.part_number) == col(PartStockRow.part_number))
            .where(in_store, empty)
            .order_by(col(PartStockRow.part_number))
            .limit(SHORTAGE_LIST_LIMIT)
        )
        below_list = [PartShortage(*row) for row in short.all()]
        out_list = [PartShortage(*row) for row in out.all()]
    skus, value, n_below, n_out = totals
    return PartsStockSummary(
        store_id=store_id,
        sku_count=skus,
        stock_value_fen=int(value),
        below_reorder_point_count=n_below,
        out_of_stock_count=n_out,
        below_reorder_point=below_list,
        out_of_stock=out_list,
    )
