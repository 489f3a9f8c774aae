"""Load the demo dealer group (`marque seed`, `marque up`): six stores, the catalog, 300 vehicles,
parts stock in every store and safety-stock rules, idempotently.

Demo data is loaded as reference state, not as business events: rows are inserted directly and
nothing goes to the outbox. Every insert is ON CONFLICT DO NOTHING on its natural key and every
vehicle's VIN is derived from a fixed seed, so a second run inserts nothing.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from marque_inventory import demo_data
from marque_inventory.domain.ageing import AgeBuckets
from marque_inventory.domain.catalog import EnergyType
from marque_inventory.domain.vehicles import VehicleStatus
from marque_inventory.domain.vin import with_check_digit
from marque_inventory.models import (
    Brand,
    Colour,
    Part,
    PartStockRow,
    SafetyStockRule,
    StockMovementRow,
    Store,
    Trim,
    VehicleModel,
    VehicleOption,
    VehicleRow,
)
from marque_inventory.settings import InventorySettings
from marque_inventory.stock_service import business_date
from marque_kit.db import Database

SEED = 2026
VEHICLE_COUNT = 300
MAX_STOCK_AGE_DAYS = 150
MODEL_YEAR_CODES = {2025: "S", 2026: "T"}  # VIN position 10
OPENING_BALANCE = "OPENING-BALANCE"
# Models every store keeps a minimum of (安全库存), with that minimum.
POPULAR_MODELS = {"TSL-MY": 3, "BYD-SONG": 3, "VW-LAVIDA": 2, "TYT-CAMRY": 2}
# Weights of the statuses a demo vehicle is left in; reservations would expire under the sweeper.
STATUS_WEIGHTS = {
    VehicleStatus.IN_STOCK: 62,
    VehicleStatus.ON_ORDER: 14,
    VehicleStatus.DEMO: 6,
    VehicleStatus.SOLD: 10,
    VehicleStatus.DELIVERED: 8,
}
_BODY_LETTER = {"sedan": "S", "suv": "U"}
_ENERGY_LETTER = {"ice": "G", "hev": "H", "phev": "P", "bev": "E"}
_PLANT_LETTER = {"BYD": "B", "TESLA": "C", "VW": "V", "TOYOTA": "G", "BMW": "D", "LI": "L"}


@dataclass
class Tally:
    """Rows of one kind: how many the demo holds and how many this run inserted."""

    name: str
    total: int = 0
    inserted: int = 0


def demo_vin(wmi: str, vds: str, model_year: int, plant: str, serial: int) -> str:
    """WMI (3) + VDS (5) + check digit + model-year code + plant + serial (6): a valid VIN."""
    return with_check_digit(f"{wmi}{vds}{MODEL_YEAR_CODES[model_year]}{plant}{serial:06d}")


def _energy(raw: str) -> str:
    return EnergyType(raw.lower()).value


def catalog_rows() -> list[tuple[str, type, list[dict[str, Any]]]]:
    """The group's reference data, in foreign-key order."""
    return [
        (
            "stores",
            Store,
            [dict(id=i, name=n, city=c, timezone=tz) for i, n, c, tz in demo_data.STORES],
        ),
        (
            "brands",
            Brand,
            [dict(code=c, name=n, country=k, wmi=w) for c, n, k, w in demo_data.BRANDS],
        ),
        (
            "models",
            VehicleModel,
            [dict(code=c, brand_code=b, name=n, body=y) for c, b, n, y in demo_data.MODELS],
        ),
        (
            "trims",
            Trim,
            [
                dict(
                    code=c,
                    model_code=m,
                    name=n,
                    energy_type=_energy(e),
                    msrp_fen=p * 100,
                    dealer_cost_fen=d * 100,
                )
                for c, m, n, e, p, d in demo_data.TRIMS
            ],
        ),
        ("colours", Colour, [dict(code=c, name=n, hex=h) for c, n, h in demo_data.COLOURS]),
        (
            "options",
            VehicleOption,
            [dict(code=c, name=n, price_fen=p * 100) for c, n, p in demo_data.OPTIONS],
        ),
        (
            "parts",
            Part,
            [
                dict(part_number=c, name=n, unit_price_fen=p * 100, unit_cost_fen=k * 100)
                for c, n, p, k in demo_data.PARTS
            ],
        ),
    ]


def vehicle_rows(today: date, buckets: AgeBuckets) -> list[dict[str, Any]]:
    """300 vehicles over the six stores, the same VINs, trims and ages on every run."""
    rng = random.Random(SEED)
    brands = {code: (wmi, _PLANT_LETTER[code]) for code, _, _, wmi in demo_data.BRANDS}
    models = {code: (brand, body) for code, brand, _, body in demo_data.MODELS}
    stores = [s[0] for s in demo_data.STORES]
    colours = [c[0] for c in demo_data.COLOURS]
    options = [o[0] for o in demo_data.OPTIONS]
    statuses, weights = zip(*STATUS_WEIGHTS.items(), strict=True)
    rows = []
    for serial in range(1, VEHICLE_COUNT + 1):
        index = rng.randrange(len(demo_data.TRIMS))
        trim, model, _, energy, _, cost_yuan = demo_data.TRIMS[index]
        brand, body = models[model]
        wmi, plant = brands[brand]
        vds = f"{_BODY_LETTER[body]}{_ENERGY_LETTER[_energy(energy)]}{index:02d}A"
        model_year = rng.choice((2025, 2026, 2026))
        status = rng.choices(statuses, weights)[0]
        age = rng.randint(0, MAX_STOCK_AGE_DAYS)
        arrived_on = None if status is VehicleStatus.ON_ORDER else today - timedelta(days=age)
        store = rng.choice(stores)
        sold = status in (VehicleStatus.SOLD, VehicleStatus.DELIVERED)
        rows.append(
            dict(
                vin=demo_vin(wmi, vds, model_year, plant, serial),
                store_id=store,
                model_code=model,
                trim_code=trim,
                colour_code=rng.choice(colours),
                model_year=model_year,
                cost_fen=cost_yuan * 100,
                status=status.value,
                arrived_on=arrived_on,
                # A sold car keeps the reservation its order held, as the domain does.
                order_ref=f"SO-{store}-D{serial:05d}" if sold else None,
                reservation_request_id=f"seed-{serial:05d}" if sold else None,
                reserved_until=_held_until(today) if sold else None,
                option_codes=rng.sample(options, rng.choice((0, 0, 1, 2))),
                # Ages already reached count as alerted, so that the first sweep raises no flood.
                age_alerted_days=_alerted(buckets, age) if arrived_on else 0,
                version=1,
            )
        )
    return rows


def _held_until(today: date) -> datetime:
    return datetime.combine(today, time(12), tzinfo=UTC) - timedelta(days=1)


def _alerted(buckets: AgeBuckets, age_days: int) -> int:
    return max((t for t in buckets.thresholds if age_days > t), default=0)


def part_stock_rows() -> list[dict[str, Any]]:
    """Every part in every store, on a shelf bin, with its reorder point."""
    rng = random.Random(SEED + 1)
    rows = []
    for store_id, *_ in demo_data.STORES:
        for number, _, _, cost_yuan in demo_data.PARTS:
            rows.append(
                dict(
                    store_id=store_id,
                    part_number=number,
                    on_hand=rng.randint(0, 40),
                    reserved=0,
                    bin=f"{rng.choice('ABCD')}-{rng.randint(1, 12):02d}-{rng.randint(1, 4)}",
                    reorder_point=rng.randint(2, 8),
                    average_unit_cost_fen=cost_yuan * 100,
                    version=1,
                )
            )
    return rows


def safety_stock_rows() -> list[dict[str, Any]]:
    return [
        dict(store_id=store_id, model_code=model, minimum=minimum, version=1)
        for store_id, *_ in demo_data.STORES
        for model, minimum in POPULAR_MODELS.items()
    ]


async def _insert(
    session: AsyncSession, model: type, rows: list[dict[str, Any]], returning: Any
) -> list[Any]:
    """Insert what is missing; the rows already present stay as they are."""
    if not rows:
        return []
    result = await session.execute(
        insert(model).values(rows).on_conflict_do_nothing().returning(*returning)
    )
    return list(result.all())


async def _load(session: AsyncSession, name: str, model: type, rows: list[dict[str, Any]]) -> Tally:
    key = tuple(model.__table__.primary_key.columns)  # type: ignore[attr-defined]
    return Tally(name, total=len(rows), inserted=len(await _insert(session, model, rows, key)))


async def _load_part_stocks(session: AsyncSession) -> Tally:
    rows = part_stock_rows()
    created = await _insert(
        session, PartStockRow, rows, (PartStockRow.store_id, PartStockRow.part_number)
    )
    new = {(store_id, part_number) for store_id, part_number in created}
    now = datetime.now(UTC)
    # The ledger opens with one receipt per new stock row, so that it sums to what is on hand.
    movements = [
        dict(
            store_id=r["store_id"],
            part_number=r["part_number"],
            kind="receipt",
            on_hand_delta=r["on_hand"],
            reserved_delta=0,
            reference=OPENING_BALANCE,
            on_hand_after=r["on_hand"],
            reserved_after=0,
            unit_cost_fen=r["average_unit_cost_fen"],
            occurred_at=now,
        )
        for r in rows
        if (r["store_id"], r["part_number"]) in new
    ]
    if movements:
        await session.execute(insert(StockMovementRow).values(movements))
    return Tally("part stocks", total=len(rows), inserted=len(created))


def summary(tallies: list[Tally]) -> str:
    """ "6 stores, 18 trims, 300 vehicles, 96 part stocks (already loaded)" or what was inserted."""
    shown = ", ".join(f"{t.total} {t.name}" for t in tallies)
    inserted = sum(t.inserted for t in tallies)
    if inserted == 0:
        return f"{shown} (already loaded)"
    if all(t.inserted == t.total for t in tallies):
        return f"{shown} (loaded)"
    new = ", ".join(f"{t.inserted} {t.name}" for t in tallies if t.inserted)
    return f"{shown} (added {new})"


async def seed(settings: InventorySettings) -> str:
    """Load the demo group into the migrated database; safe to run any number of times."""
    buckets = AgeBuckets(tuple(settings.age_buckets))
    db = Database(settings.database_url, pool_size=1)
    tallies = {name: Tally(name) for name, _, _ in catalog_rows()}
    try:
        async with db.session() as session, session.begin():
            for name, model, rows in catalog_rows():
                key = tuple(model.__table__.primary_key.columns)  # type: ignore[attr-defined]
                tallies[name].total = len(rows)
                tallies[name].inserted = len(await _insert(session, model, rows, key))
            tallies["vehicles"] = await _load(
                session, "vehicles", VehicleRow, vehicle_rows(business_date(), buckets)
            )
            tallies["part stocks"] = await _load_part_stocks(session)
            tallies["safety-stock rules"] = await _load(
                session, "safety-stock rules", SafetyStockRule, safety_stock_rows()
            )
    finally:
        await db.dispose()
    shown = ("stores", "trims", "vehicles", "part stocks", "safety-stock rules")
    return summary([tallies[name] for name in shown])
