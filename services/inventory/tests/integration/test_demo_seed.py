"""`marque seed` for inventory: the demo group loads into a fresh database, and loads only once."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from marque_inventory.demo import seed
from marque_inventory.domain.ageing import AgeBuckets, stock_age_days
from marque_inventory.domain.vin import validate_vin
from marque_inventory.models import (
    PartStockRow,
    SafetyStockRule,
    StockMovementRow,
    Store,
    Trim,
    VehicleRow,
)
from marque_inventory.settings import InventorySettings
from marque_inventory.stock_service import business_date, sweep_stock_age
from marque_inventory.unit_of_work import Inventory
from marque_kit.db import Database
from marque_kit.migrations import upgrade
from marque_kit.tables import outbox

SERVICE_DIR = Path(__file__).resolve().parents[2]
TABLES = (Store, Trim, VehicleRow, PartStockRow, StockMovementRow, SafetyStockRule)


@pytest.fixture(scope="module")
def seed_settings(make_database: Callable[[str], str]) -> InventorySettings:
    url = make_database("inventory_seed")
    upgrade(SERVICE_DIR, url)
    return InventorySettings(database_url=url)


@pytest.fixture(scope="module")
async def seed_db(seed_settings: InventorySettings) -> AsyncIterator[Database]:
    db = Database(seed_settings.database_url, pool_size=2)
    yield db
    await db.dispose()


@pytest.fixture(scope="module")
async def first_seed(seed_settings: InventorySettings, seed_db: Database) -> str:
    """The summary of the first seed of the fresh database; every test here starts after it."""
    return await seed(seed_settings)


async def row_counts(db: Database) -> dict[str, int]:
    async with db.session() as session:
        return {
            t.__tablename__: int(await session.scalar(select(func.count()).select_from(t)) or 0)
            for t in TABLES
        }


async def test_seed_loads_the_demo_group_once(
    seed_settings: InventorySettings, seed_db: Database, first_seed: str
) -> None:
    loaded = await row_counts(seed_db)

    assert first_seed.startswith("6 stores, 18 trims, 300 vehicles, 96 part stocks")
    assert first_seed.endswith("(loaded)")
    assert loaded["stores"] >= 5
    assert loaded["vehicles"] >= 200
    assert loaded["part_stocks"] == loaded["stores"] * 16
    # Every part stock opens its ledger with one receipt.
    assert loaded["stock_movements"] == loaded["part_stocks"]
    assert loaded["safety_stock_rules"] > 0

    second = await seed(seed_settings)
    assert second.endswith("(already loaded)")
    assert await row_counts(seed_db) == loaded


async def test_seeded_vehicles_have_valid_vins_and_varied_status_age_and_stores(
    seed_db: Database, first_seed: str
) -> None:
    async with seed_db.session() as session:
        vehicles = (await session.execute(select(VehicleRow))).scalars().all()
    assert all(validate_vin(v.vin) == v.vin for v in vehicles)
    assert {v.vin[9] for v in vehicles} == {"S", "T"}  # model years 2025 and 2026
    assert len({v.store_id for v in vehicles}) == 6
    statuses = {v.status for v in vehicles}
    assert {"in_stock", "on_order", "demo", "sold"} <= statuses
    assert "reserved" not in statuses  # holds would lapse under the expiry sweeper
    today = business_date()
    buckets = AgeBuckets((30, 60, 90))
    in_stock_buckets = {
        buckets.bucket_of(stock_age_days(v.arrived_on, today))
        for v in vehicles
        if v.status == "in_stock" and v.arrived_on is not None
    }
    assert in_stock_buckets == set(buckets.labels)


async def test_seeded_stock_raises_no_flood_of_age_alerts(
    seed_db: Database, first_seed: str
) -> None:
    raised = await sweep_stock_age(Inventory(seed_db), AgeBuckets((30, 60, 90)), business_date())
    assert raised == 0
    async with seed_db.session() as session:
        assert await session.scalar(select(func.count()).select_from(outbox)) == 0


async def test_a_seeded_sold_car_can_be_delivered_to_its_order(
    first_seed: str, seed_db: Database
) -> None:
    from marque_inventory.repository import load_vehicle

    async with seed_db.session() as session:
        vin = await session.scalar(
            text("SELECT vin FROM vehicles WHERE status = 'sold' ORDER BY vin LIMIT 1")
        )
        assert vin is not None
        vehicle = await load_vehicle(session, vin)
    assert vehicle.order_ref is not None
    events = vehicle.mark_delivered(vehicle.order_ref)
    assert vehicle.status.value == "delivered"
    assert len(events) == 1
