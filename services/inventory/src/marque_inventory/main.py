"""Composition root: `create_app(settings)` wires the database, broker, routers, gRPC and jobs."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from marque.inventory.v1 import inventory_service_pb2_grpc
from marque_inventory.api import catalog, parts, stock, transfers, vehicles
from marque_inventory.domain.ageing import AgeBuckets
from marque_inventory.rpc import InventoryRpc
from marque_inventory.settings import InventorySettings
from marque_inventory.stock_service import business_date, sweep_stock_age
from marque_inventory.unit_of_work import Inventory
from marque_inventory.vehicle_service import expire_due_reservations, sweeper
from marque_kit.broker import Broker
from marque_kit.db import Database
from marque_kit.http import create_http_app
from marque_kit.runtime import Runtime
from marque_kit.service import ServiceSpec

ROUTERS = [vehicles.router, transfers.router, parts.router, catalog.router, stock.router]


def create_app(settings: InventorySettings) -> FastAPI:
    db = Database(settings.database_url, pool_size=settings.db_pool_size)
    broker = Broker.from_settings(settings)
    inventory = Inventory(db)
    runtime = Runtime(
        service="inventory", settings=settings, db=db, broker=broker, role=settings.role
    )
    age_buckets = AgeBuckets(tuple(settings.age_buckets))
    runtime.add_grpc(
        inventory_service_pb2_grpc.add_InventoryServiceServicer_to_server,
        InventoryRpc(inventory, age_buckets),
        "marque.inventory.v1.InventoryService",
    )
    runtime.add_job(
        "expire-reservations",
        sweeper(lambda: expire_due_reservations(inventory), settings.expiry_sweep_seconds),
    )
    runtime.add_job(
        "stock-age-sweep",
        sweeper(
            lambda: sweep_stock_age(inventory, age_buckets, business_date()),
            settings.ageing_sweep_seconds,
        ),
    )
    app = create_http_app(
        service="inventory",
        settings=settings,
        routers=ROUTERS if runtime.serves_api else [],
        lifespan=runtime.lifespan,
        readiness_checks={"database": db.ping, "broker": broker.ping},
    )
    app.state.inventory = inventory
    app.state.runtime = runtime
    return app


def _settings(**overrides: object) -> InventorySettings:
    return InventorySettings(**overrides)  # type: ignore[arg-type]


async def _seed(settings: InventorySettings) -> str:
    from marque_inventory.demo import seed

    return await seed(settings)


spec = ServiceSpec(
    name="inventory",
    settings=_settings,
    create_app=create_app,
    service_dir=Path(__file__).resolve().parents[2],
    seed=_seed,
    order=10,
)
