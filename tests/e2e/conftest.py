"""End-to-end fixtures: the inventory service as a real process, a broker tap, callers.

The database is this run's own (`make_database`), migrated and given the demo catalog before the
process starts; the broker names carry this run's namespace. The process is stopped at the end.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import grpc
import httpx
import pytest
from e2e_support import REPO, Caller, EventTap, ServiceProcess, caller, free_port
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import create_async_engine

from marque.inventory.v1.inventory_service_pb2_grpc import InventoryServiceStub
from marque_inventory import demo_data
from marque_inventory.models import Brand, Colour, Part, Store, Trim, VehicleModel, VehicleOption
from marque_kit.migrations import upgrade
from marque_kit.rpc import client_channel

INVENTORY_DIR = REPO / "services" / "inventory"


@pytest.fixture(scope="session")
def internal_secret() -> str:
    return secrets.token_urlsafe(32)


@pytest.fixture(scope="session")
async def event_tap(marque_amqp_url: str, amqp_namespace: str) -> AsyncIterator[EventTap]:
    """Bound before the service starts, so no event of the run is missed."""
    tap = await EventTap.start(marque_amqp_url, f"{amqp_namespace}marque.inventory")
    yield tap
    await tap.close()


@pytest.fixture(scope="session")
def inventory_service(
    make_database: Callable[[str], str],
    marque_amqp_url: str,
    amqp_namespace: str,
    internal_secret: str,
    event_tap: EventTap,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ServiceProcess]:
    url = make_database("e2e_inventory")
    upgrade(INVENTORY_DIR, url)
    asyncio.run(load_catalog(url))
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("MARQUE_")},
        "MARQUE_ENV": "test",
        "MARQUE_INVENTORY_DATABASE_URL": url,
        "MARQUE_INVENTORY_HTTP_PORT": str(free_port()),
        "MARQUE_INVENTORY_GRPC_PORT": str(free_port()),
        "MARQUE_INVENTORY_EXPIRY_SWEEP_SECONDS": "0.5",
        "MARQUE_AMQP_URL": marque_amqp_url,
        "MARQUE_AMQP_NAMESPACE": amqp_namespace,
        "MARQUE_INTERNAL_SECRET": internal_secret,
        "MARQUE_RELAY_POLL_SECONDS": "0.5",
    }
    service = ServiceProcess(
        env=env,
        http_port=int(env["MARQUE_INVENTORY_HTTP_PORT"]),
        grpc_port=int(env["MARQUE_INVENTORY_GRPC_PORT"]),
        log_path=tmp_path_factory.mktemp("e2e") / "inventory.log",
    )
    service.start()
    yield service
    service.stop()


async def load_catalog(database_url: str) -> None:
    """The group's demo catalog (stores, brands, models, trims, colours, options, parts).

    Loaded straight into the fresh database: `marque seed` would also add hundreds of demo
    vehicles, and catalog maintenance is not what these journeys are about.
    """
    rows: list[tuple[type, list[dict[str, Any]]]] = [
        (Store, [dict(id=i, name=n, city=c, timezone=tz) for i, n, c, tz in demo_data.STORES]),
        (Brand, [dict(code=c, name=n, country=k, wmi=w) for c, n, k, w in demo_data.BRANDS]),
        (
            VehicleModel,
            [dict(code=c, brand_code=b, name=n, body=y) for c, b, n, y in demo_data.MODELS],
        ),
        (
            Trim,
            [
                dict(
                    code=c,
                    model_code=m,
                    name=n,
                    energy_type=e,
                    msrp_fen=p * 100,
                    dealer_cost_fen=d * 100,
                )
                for c, m, n, e, p, d in demo_data.TRIMS
            ],
        ),
        (Colour, [dict(code=c, name=n, hex=h) for c, n, h in demo_data.COLOURS]),
        (VehicleOption, [dict(code=c, name=n, price_fen=p * 100) for c, n, p in demo_data.OPTIONS]),
        (
            Part,
            [
                dict(part_number=c, name=n, unit_price_fen=p * 100, unit_cost_fen=k * 100)
                for c, n, p, k in demo_data.PARTS
            ],
        ),
    ]
    engine = create_async_engine(database_url)
    try:
        async with engine.begin() as conn:
            for model, values in rows:
                await conn.execute(insert(model).values(values).on_conflict_do_nothing())
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def hq(internal_secret: str) -> Caller:
    return caller(internal_secret, stores=("*",), roles=("hq_admin",), sub="hq-ops")


@pytest.fixture(scope="session")
def sh01_manager(internal_secret: str) -> Caller:
    return caller(internal_secret, stores=("SH01",), roles=("store_manager",), sub="sh01-manager")


@pytest.fixture(scope="session")
def bj01_manager(internal_secret: str) -> Caller:
    return caller(internal_secret, stores=("BJ01",), roles=("store_manager",), sub="bj01-manager")


@pytest.fixture
async def http(inventory_service: ServiceProcess) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=inventory_service.base_url, timeout=15) as client:
        yield client


@pytest.fixture
async def grpc_channel(inventory_service: ServiceProcess) -> AsyncIterator[grpc.aio.Channel]:
    channel = client_channel(inventory_service.grpc_target, deadline_seconds=10)
    yield channel
    await channel.close(grace=None)


@pytest.fixture
def inventory_stub(
    grpc_channel: grpc.aio.Channel,
) -> InventoryServiceStub:
    return InventoryServiceStub(grpc_channel)
