"""Stock views: counts per store and per model, group-wide availability, 库龄 (stock age) buckets,
and each store's 安全库存 (safety-stock) rules."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy import Select, and_, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from marque_inventory.api.deps import InventoryDep
from marque_inventory.domain.ageing import AgeBuckets, stock_age_days
from marque_inventory.domain.safety_stock import SafetyStockRule
from marque_inventory.domain.vehicles import VehicleStatus
from marque_inventory.models import Colour, Store, Trim, VehicleModel, VehicleRow
from marque_inventory.models import SafetyStockRule as SafetyStockRuleRow
from marque_inventory.stock_service import AGEING_STATUS_VALUES, business_date
from marque_kit.auth import Principal
from marque_kit.errors import InvalidInput, NotFound, PreconditionRequired, StaleVersion
from marque_kit.http import (
    CurrentPrincipal,
    Page,
    check_version,
    etag,
    parse_if_match,
    permission,
    scope_to_stores,
)

# Any select, whatever its columns (SQLAlchemy 2.1 types a select by its column tuple).
AnySelect = Select[*tuple[Any, ...]]

router = APIRouter(prefix="/api/v1/inventory", tags=["stock"])

VEHICLES_READ = "inventory.vehicles:read"
SAFETY_STOCK_WRITE = "inventory.safety_stock:write"
IN_STOCK = VehicleStatus.IN_STOCK.value
# Delivered cars have left the dealer for good; every other status is still the store's business.
HELD_STATUSES = tuple(s.value for s in VehicleStatus if s is not VehicleStatus.DELIVERED)


def _zero_counts() -> dict[str, int]:
    return {s.value: 0 for s in VehicleStatus}


def _held(counts: dict[str, int]) -> int:
    return sum(counts[s] for s in HELD_STATUSES)


# --- counts per store and per model ----------------------------------------------------------


class StoreStock(BaseModel):
    store_id: str
    store_name: str
    city: str
    counts: dict[str, int] = Field(description="Vehicles per status")
    total: int = Field(description="Vehicles the store holds or awaits (all but delivered)")


@router.get(
    "/stock/by-store", response_model=Page[StoreStock], dependencies=[permission(VEHICLES_READ)]
)
async def stock_by_store(principal: CurrentPrincipal, inventory: InventoryDep) -> Page[StoreStock]:
    """Vehicles per store and status, for the caller's stores (HQ: every store)."""
    principal.require(VEHICLES_READ)
    stmt: AnySelect = (
        select(
            col(Store.id),
            col(Store.name),
            col(Store.city),
            col(VehicleRow.status),
            func.count(col(VehicleRow.vin)),
        )
        .select_from(Store)
        .outerjoin(VehicleRow, col(VehicleRow.store_id) == col(Store.id))
        .group_by(col(Store.id), col(Store.name), col(Store.city), col(VehicleRow.status))
        .order_by(col(Store.id))
    )
    stmt = scope_to_stores(stmt, col(Store.id), principal)
    stores: dict[str, StoreStock] = {}
    async with inventory.db.session() as session:
        for store_id, name, city, status, n in await session.execute(stmt):
            entry = stores.setdefault(
                store_id,
                StoreStock(
                    store_id=store_id, store_name=name, city=city, counts=_zero_counts(), total=0
                ),
            )
            if status is not None:
                entry.counts[status] = n
    for entry in stores.values():
        entry.total = _held(entry.counts)
    return Page(items=list(stores.values()))


class ModelStock(BaseModel):
    brand_code: str
    model_code: str
    model_name: str
    trim_code: str
    trim_name: str
    counts: dict[str, int] = Field(description="Vehicles per status")
    total: int = Field(description="Vehicles held or awaited (all but delivered)")


@router.get(
    "/stock/by-model", response_model=Page[ModelStock], dependencies=[permission(VEHICLES_READ)]
)
async def stock_by_model(
    principal: CurrentPrincipal, inventory: InventoryDep, store_id: str | None = None
) -> Page[ModelStock]:
    """Vehicles per model, trim and status in one store, or in all the caller's stores."""
    principal.require(VEHICLES_READ)
    stmt: AnySelect = (
        select(
            col(VehicleModel.brand_code),
            col(VehicleModel.code),
            col(VehicleModel.name),
            col(Trim.code),
            col(Trim.name),
            col(VehicleRow.status),
            func.count(col(VehicleRow.vin)),
        )
        .select_from(VehicleRow)
        .join(Trim, col(Trim.code) == col(VehicleRow.trim_code))
        .join(VehicleModel, col(VehicleModel.code) == col(Trim.model_code))
        .group_by(
            col(VehicleModel.brand_code),
            col(VehicleModel.code),
            col(VehicleModel.name),
            col(Trim.code),
            col(Trim.name),
            col(VehicleRow.status),
        )
        .order_by(col(VehicleModel.code), col(Trim.code))
    )
    stmt = scope_to_stores(stmt, col(VehicleRow.store_id), principal)
    if store_id:
        principal.require_store(store_id, what=f"Store {store_id}")
        stmt = stmt.where(col(VehicleRow.store_id) == store_id)
    trims: dict[str, ModelStock] = {}
    async with inventory.db.session() as session:
        for brand, model, model_name, trim, trim_name, status, n in await session.execute(stmt):
            entry = trims.setdefault(
                trim,
                ModelStock(
                    brand_code=brand,
                    model_code=model,
                    model_name=model_name,
                    trim_code=trim,
                    trim_name=trim_name,
                    counts=_zero_counts(),
                    total=0,
                ),
            )
            entry.counts[status] = n
    for entry in trims.values():
        entry.total = _held(entry.counts)
    return Page(items=list(trims.values()))


# --- group-wide availability -----------------------------------------------------------------


class StoreAvailability(BaseModel):
    store_id: str
    store_name: str
    city: str
    in_stock: int
    yours: bool = Field(description="The caller works in this store and may list its VINs")


class Availability(BaseModel):
    model: str | None
    trim: str | None
    colour: str | None
    total_in_stock: int
    stores: list[StoreAvailability]


async def _check_search_codes(
    session: AsyncSession, model: str | None, trim: str | None, colour: str | None
) -> None:
    """Unknown codes answer 422 naming the field, rather than an empty answer that misleads."""
    if model and await session.get(VehicleModel, model) is None:
        raise InvalidInput(
            f"Model {model!r} is not in the catalog.",
            errors=[{"field": "model", "rule": "known_model"}],
        )
    if trim:
        row = await session.get(Trim, trim)
        if row is None:
            raise InvalidInput(
                f"Trim {trim!r} is not in the catalog.",
                errors=[{"field": "trim", "rule": "known_trim"}],
            )
        if model and row.model_code != model:
            raise InvalidInput(
                f"Trim {trim} belongs to model {row.model_code}, not {model}.",
                errors=[{"field": "trim", "rule": "trim_of_model"}],
            )
    if colour and await session.get(Colour, colour) is None:
        raise InvalidInput(
            f"Colour {colour!r} is not in the catalog.",
            errors=[{"field": "colour", "rule": "known_colour"}],
        )


@router.get(
    "/stock/availability", response_model=Availability, dependencies=[permission(VEHICLES_READ)]
)
async def availability(
    principal: CurrentPrincipal,
    inventory: InventoryDep,
    model: Annotated[str | None, Query(examples=["TSL-MY"])] = None,
    trim: Annotated[str | None, Query(examples=["TSL-MY-LR"])] = None,
    colour: Annotated[str | None, Query(examples=["WHT"])] = None,
) -> Availability:
    """Which store has it in stock? Group-wide on purpose, so that a store can ask for a
    transfer (调拨): every store is listed with a count, but never another store's VINs."""
    principal.require(VEHICLES_READ)
    match = [col(VehicleRow.store_id) == col(Store.id), col(VehicleRow.status) == IN_STOCK]
    if model:
        match.append(col(VehicleRow.model_code) == model)
    if trim:
        match.append(col(VehicleRow.trim_code) == trim)
    if colour:
        match.append(col(VehicleRow.colour_code) == colour)
    in_stock = func.count(col(VehicleRow.vin))
    stmt = (
        select(col(Store.id), col(Store.name), col(Store.city), in_stock)
        .select_from(Store)
        .outerjoin(VehicleRow, and_(*match))
        .group_by(col(Store.id), col(Store.name), col(Store.city))
        .order_by(in_stock.desc(), col(Store.id))
    )
    async with inventory.db.session() as session:
        await _check_search_codes(session, model, trim, colour)
        rows = (await session.execute(stmt)).all()
    stores = [
        StoreAvailability(
            store_id=sid, store_name=name, city=city, in_stock=n, yours=principal.sees_store(sid)
        )
        for sid, name, city, n in rows
    ]
    return Availability(
        model=model,
        trim=trim,
        colour=colour,
        total_in_stock=sum(s.in_stock for s in stores),
        stores=stores,
    )


# --- 库龄: stock age ---------------------------------------------------------------------------


class BucketCount(BaseModel):
    bucket: str
    count: int
    cost_fen: int = Field(description="Dealer cost tied up in these vehicles")


class StoreAgeing(BaseModel):
    store_id: str
    buckets: list[BucketCount]


class AgedVehicle(BaseModel):
    vin: str
    store_id: str
    model_code: str
    trim_code: str
    colour_code: str
    status: str
    arrived_on: date
    age_days: int
    bucket: str
    cost_fen: int


class AgeingReport(BaseModel):
    business_date: date
    thresholds: list[int]
    total: int
    buckets: list[BucketCount]
    stores: list[StoreAgeing]
    oldest: list[AgedVehicle]


def _age_buckets(request: Request) -> AgeBuckets:
    return AgeBuckets(tuple(request.app.state.settings.age_buckets))


def _empty_buckets(buckets: AgeBuckets) -> dict[str, list[int]]:
    return {label: [0, 0] for label in buckets.labels}


def _bucket_counts(tally: dict[str, list[int]]) -> list[BucketCount]:
    return [BucketCount(bucket=b, count=n, cost_fen=c) for b, (n, c) in tally.items()]


@router.get("/stock/ageing", response_model=AgeingReport, dependencies=[permission(VEHICLES_READ)])
async def stock_ageing(
    request: Request,
    principal: CurrentPrincipal,
    inventory: InventoryDep,
    store_id: str | None = None,
    oldest: Annotated[int, Query(ge=0, le=200, description="How many oldest vehicles")] = 20,
) -> AgeingReport:
    """库龄: vehicles in stock (reserved, demo and in-transfer ones age too) per age bucket, on
    the business date in Asia/Shanghai, with the oldest vehicles first."""
    principal.require(VEHICLES_READ)
    buckets = _age_buckets(request)
    today = business_date()
    ageing = and_(
        col(VehicleRow.status).in_(AGEING_STATUS_VALUES),
        col(VehicleRow.arrived_on).is_not(None),
    )
    per_day_all: AnySelect = (
        select(
            col(VehicleRow.store_id),
            col(VehicleRow.arrived_on),
            func.count(col(VehicleRow.vin)),
            func.coalesce(func.sum(col(VehicleRow.cost_fen)), 0),
        )
        .where(ageing)
        .group_by(col(VehicleRow.store_id), col(VehicleRow.arrived_on))
    )
    per_day = scope_to_stores(per_day_all, col(VehicleRow.store_id), principal)
    oldest_stmt = scope_to_stores(
        select(VehicleRow)
        .where(ageing)
        .order_by(col(VehicleRow.arrived_on), col(VehicleRow.vin))
        .limit(oldest),
        col(VehicleRow.store_id),
        principal,
    )
    if store_id:
        principal.require_store(store_id, what=f"Store {store_id}")
        per_day = per_day.where(col(VehicleRow.store_id) == store_id)
        oldest_stmt = oldest_stmt.where(col(VehicleRow.store_id) == store_id)
    async with inventory.db.session() as session:
        days = (await session.execute(per_day)).all()
        aged = (await session.execute(oldest_stmt)).scalars().all()
    group = _empty_buckets(buckets)
    by_store: dict[str, dict[str, list[int]]] = defaultdict(lambda: _empty_buckets(buckets))
    for sid, arrived_on, n, cost in days:
        label = buckets.bucket_of(stock_age_days(arrived_on or today, today))
        for tally in (group[label], by_store[sid][label]):
            tally[0] += n
            tally[1] += int(cost)
    return AgeingReport(
        business_date=today,
        thresholds=list(buckets.thresholds),
        total=sum(n for n, _ in group.values()),
        buckets=_bucket_counts(group),
        stores=[
            StoreAgeing(store_id=sid, buckets=_bucket_counts(tally))
            for sid, tally in sorted(by_store.items())
        ],
        oldest=[_aged(v, buckets, today) for v in aged],
    )


def _aged(row: VehicleRow, buckets: AgeBuckets, today: date) -> AgedVehicle:
    arrived = row.arrived_on or today
    age = stock_age_days(arrived, today)
    return AgedVehicle(
        vin=row.vin,
        store_id=row.store_id,
        model_code=row.model_code,
        trim_code=row.trim_code,
        colour_code=row.colour_code,
        status=row.status,
        arrived_on=arrived,
        age_days=age,
        bucket=buckets.bucket_of(age),
        cost_fen=row.cost_fen,
    )


# --- 安全库存: safety-stock rules ---------------------------------------------------------------


class SafetyStockOut(BaseModel):
    store_id: str
    model_code: str
    model_name: str
    minimum: int
    in_stock: int
    below_minimum: bool
    version: int


class SafetyStockIn(BaseModel):
    model_code: str = Field(min_length=1, max_length=40, examples=["TSL-MY"])
    minimum: int = Field(ge=0, le=10_000, description="Fewest in-stock cars before reordering")


async def _visible_store(session: AsyncSession, principal: Principal, store_id: str) -> Store:
    principal.require_store(store_id, what=f"Store {store_id}")
    store = await session.get(Store, store_id)
    if store is None:
        raise NotFound(f"Store {store_id} was not found in your stores.")
    return store


def _rules_query(store_id: str, model_code: str | None = None) -> Any:
    in_stock = (
        select(func.count(col(VehicleRow.vin)))
        .where(
            col(VehicleRow.store_id) == col(SafetyStockRuleRow.store_id),
            col(VehicleRow.model_code) == col(SafetyStockRuleRow.model_code),
            col(VehicleRow.status) == IN_STOCK,
        )
        .correlate(SafetyStockRuleRow)
        .scalar_subquery()
    )
    stmt = (
        select(SafetyStockRuleRow, col(VehicleModel.name), in_stock)
        .join(VehicleModel, col(VehicleModel.code) == col(SafetyStockRuleRow.model_code))
        .where(col(SafetyStockRuleRow.store_id) == store_id)
        .order_by(col(SafetyStockRuleRow.model_code))
    )
    if model_code is not None:
        stmt = stmt.where(col(SafetyStockRuleRow.model_code) == model_code)
    return stmt


def _rule_out(rule: SafetyStockRuleRow, model_name: str, in_stock: int) -> SafetyStockOut:
    return SafetyStockOut(
        store_id=rule.store_id,
        model_code=rule.model_code,
        model_name=model_name,
        minimum=rule.minimum,
        in_stock=in_stock,
        below_minimum=in_stock < rule.minimum,
        version=rule.version,
    )


@router.get(
    "/stores/{store_id}/safety-stock",
    response_model=Page[SafetyStockOut],
    dependencies=[permission(VEHICLES_READ)],
)
async def list_safety_stock(
    store_id: str, principal: CurrentPrincipal, inventory: InventoryDep
) -> Page[SafetyStockOut]:
    """The store's minimums per model, with how many are in stock now."""
    principal.require(VEHICLES_READ)
    async with inventory.db.session() as session:
        await _visible_store(session, principal, store_id)
        rows = (await session.execute(_rules_query(store_id))).all()
    return Page(items=[_rule_out(rule, name, n) for rule, name, n in rows])


@router.put(
    "/stores/{store_id}/safety-stock",
    response_model=SafetyStockOut,
    dependencies=[permission(SAFETY_STOCK_WRITE)],
)
async def put_safety_stock(
    store_id: str,
    body: SafetyStockIn,
    principal: CurrentPrincipal,
    inventory: InventoryDep,
    response: Response,
    if_match: Annotated[str | None, Header()] = None,
) -> SafetyStockOut:
    """Set the minimum for one model. A new rule needs no If-Match; changing one does (412 when
    someone changed it since you read it)."""
    principal.require(SAFETY_STOCK_WRITE)
    rule = SafetyStockRule(store_id, body.model_code.strip(), body.minimum)
    expected = parse_if_match(if_match) if if_match is not None else None
    async with inventory.uow() as uow:
        session = uow.session
        await _visible_store(session, principal, store_id)
        if await session.get(VehicleModel, rule.model_code) is None:
            raise InvalidInput(
                f"Model {rule.model_code!r} is not in the catalog.",
                errors=[{"field": "model_code", "rule": "known_model"}],
            )
        created = await session.execute(
            insert(SafetyStockRuleRow)
            .values(store_id=store_id, model_code=rule.model_code, minimum=rule.minimum, version=1)
            .on_conflict_do_nothing(index_elements=["store_id", "model_code"])
            .returning(col(SafetyStockRuleRow.model_code))
        )
        if created.scalar_one_or_none() is not None:
            if expected is not None:
                # If-Match names a version of a rule that did not exist: the caller's view is stale.
                raise StaleVersion(
                    f"There was no safety-stock rule for {rule.model_code} in {store_id} to "
                    "update; reload the rules.",
                    current_version=0,
                    expected_version=expected,
                )
            response.status_code = 201
        else:
            await _update_rule(session, rule, expected)
        rule_row, name, in_stock = (
            await session.execute(_rules_query(store_id, rule.model_code))
        ).one()
        await uow.commit()
    response.headers["ETag"] = etag(rule_row.version)
    return _rule_out(rule_row, name, in_stock)


async def _update_rule(session: AsyncSession, rule: SafetyStockRule, expected: int | None) -> None:
    """Change an existing rule, only from the version the caller read."""
    if expected is None:
        raise PreconditionRequired(
            f"A safety-stock rule for {rule.model_code} exists in {rule.store_id}; send If-Match "
            "with the version you read (GET the rules first)."
        )
    changed = await session.execute(
        update(SafetyStockRuleRow)
        .where(
            col(SafetyStockRuleRow.store_id) == rule.store_id,
            col(SafetyStockRuleRow.model_code) == rule.model_code,
            col(SafetyStockRuleRow.version) == expected,
        )
        .values(minimum=rule.minimum, version=col(SafetyStockRuleRow.version) + 1)
        .returning(col(SafetyStockRuleRow.version))
    )
    if changed.scalar_one_or_none() is None:
        current = await session.scalar(
            select(col(SafetyStockRuleRow.version)).where(
                col(SafetyStockRuleRow.store_id) == rule.store_id,
                col(SafetyStockRuleRow.model_code) == rule.model_code,
            )
        )
        check_version(current or 0, expected)
