"""Inventory integration fixtures: a migrated database of this run, the app with its lifespan
(HTTP + gRPC + relay + jobs against the real PostgreSQL and RabbitMQ), and helpers."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy.dialects.postgresql import insert

from marque_inventory.demo import catalog_rows
from marque_inventory.domain.vin import with_check_digit
from marque_inventory.main import create_app
from marque_inventory.settings import InventorySettings
from marque_kit.migrations import upgrade
from marque_kit.testing.principals import free_port, principal_headers, staff_headers

SERVICE_DIR = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def inventory_settings(
    make_database: Callable[[str], str], marque_test_env: dict[str, Any]
) -> InventorySettings:
    url = make_database("inventory")
    upgrade(SERVICE_DIR, url)
    return InventorySettings(
        database_url=url,
        grpc_port=free_port(),
        expiry_sweep_seconds=0.3,
        **marque_test_env,
    )


@pytest.fixture(scope="session")
async def inventory_app(inventory_settings: InventorySettings) -> AsyncIterator[FastAPI]:
    app = create_app(inventory_settings)
    async with LifespanManager(app, startup_timeout=30, shutdown_timeout=30):
        await load_catalog(app)
        yield app


async def load_catalog(app: FastAPI) -> None:
    """The demo catalog (stores, brands, models, trims, colours, options, parts), idempotently."""
    async with app.state.inventory.db.session() as session, session.begin():
        for _name, model, values in catalog_rows():
            await session.execute(insert(model).values(values).on_conflict_do_nothing())


@pytest.fixture
async def client(inventory_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=inventory_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://inventory") as c:
        yield c


@pytest.fixture
def as_hq(inventory_settings: InventorySettings) -> dict[str, str]:
    return principal_headers(inventory_settings.internal_secret)


@pytest.fixture
def as_store(inventory_settings: InventorySettings) -> Callable[..., dict[str, str]]:
    """`as_store("SH01", role="store_manager")` -> headers of a principal seeing only that store."""

    def make(store: str, role: str = "store_manager", sub: str = "staff") -> dict[str, str]:
        return staff_headers(inventory_settings.internal_secret, role, store, sub=sub)

    return make


_serial = itertools.count(1)


@pytest.fixture(scope="session")
def new_vin() -> Callable[[], str]:
    """A fresh valid VIN per call (the database is per run, shared by its tests)."""

    def make() -> str:
        return with_check_digit(f"LRW3E7FATC{next(_serial):06d}")

    return make
