"""End-to-end fixtures: the inventory service as a real process, a broker tap, callers.

The database is this run's own (`make_database`), migrated and seeded with the demo group before
the process starts; the broker names carry this run's namespace. The process is stopped at the end.
"""

from __future__ import annotations

import os
import secrets
import subprocess
from collections.abc import AsyncIterator, Callable, Iterator

import grpc
import httpx
import pytest
from e2e_support import MARQUE, REPO, Caller, EventTap, ServiceProcess, caller, free_port

from marque.inventory.v1.inventory_service_pb2_grpc import InventoryServiceStub
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
        "MARQUE_INVENTORY_RELAY_POLL_SECONDS": "0.5",
    }
    seed_demo_group(env)
    service = ServiceProcess(
        env=env,
        http_port=int(env["MARQUE_INVENTORY_HTTP_PORT"]),
        grpc_port=int(env["MARQUE_INVENTORY_GRPC_PORT"]),
        log_path=tmp_path_factory.mktemp("e2e") / "inventory.log",
    )
    service.start()
    yield service
    service.stop()


def seed_demo_group(env: dict[str, str]) -> None:
    """`marque seed inventory`, as an operator runs it: the catalog plus the demo stock (~1 s)."""
    done = subprocess.run(
        [str(MARQUE), "seed", "inventory"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr


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
