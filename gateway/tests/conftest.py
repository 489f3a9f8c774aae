"""Gateway test fixtures: a migrated gateway database of this run, a real inventory process-in-loop
(uvicorn HTTP + gRPC on free ports, its own database) as the upstream, the gateway app with its
lifespan, and a client. Each part of the gateway adds its own helpers below its heading."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from marque_gateway.main import create_app
from marque_gateway.settings import GatewaySettings
from marque_kit.migrations import upgrade

GATEWAY_DIR = Path(__file__).resolve().parents[1]
INVENTORY_DIR = GATEWAY_DIR.parent / "services" / "inventory"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RunningServer:
    """A uvicorn server for an ASGI app inside the test loop, on a free port."""

    def __init__(self, app: Any, port: int) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="on")
        )
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.task = asyncio.create_task(self.server.serve())
        while not self.server.started:
            if self.task.done():
                self.task.result()
            await asyncio.sleep(0.02)

    async def stop(self) -> None:
        self.server.should_exit = True
        if self.task is not None:
            await self.task


@pytest.fixture(scope="session")
async def inventory_upstream(
    make_database: Callable[[str], str], marque_test_env: dict[str, Any]
) -> AsyncIterator[RunningServer]:
    """The real inventory service (HTTP + gRPC + relay), seeded with the demo group."""
    from marque_inventory.demo import seed
    from marque_inventory.main import create_app as create_inventory
    from marque_inventory.settings import InventorySettings

    url = make_database("gw_inventory")
    upgrade(INVENTORY_DIR, url)
    settings = InventorySettings(database_url=url, grpc_port=free_port(), **marque_test_env)
    await seed(settings)
    server = RunningServer(create_inventory(settings), free_port())
    server.grpc_target = f"127.0.0.1:{settings.grpc_port}"  # type: ignore[attr-defined]
    await server.start()
    yield server
    await server.stop()


@pytest.fixture(scope="session")
def gateway_settings(
    make_database: Callable[[str], str],
    marque_test_env: dict[str, Any],
    marque_redis_url: str,
    marque_run_id: str,
    inventory_upstream: RunningServer,
) -> GatewaySettings:
    url = make_database("gateway")
    upgrade(GATEWAY_DIR, url)
    return GatewaySettings(
        database_url=url,
        redis_url=marque_redis_url,
        redis_prefix=f"marque:{marque_run_id}:",
        upstreams={"inventory": inventory_upstream.url},
        grpc_upstreams={"inventory": inventory_upstream.grpc_target},  # type: ignore[attr-defined]
        argon2_memory_kib=8192,
        argon2_time_cost=1,
        webhook_backoff_base_seconds=0.2,
        webhook_backoff_max_seconds=1.0,
        webhook_poll_seconds=0.1,
        **marque_test_env,
    )


@pytest.fixture(scope="session")
async def gateway_app(gateway_settings: GatewaySettings) -> AsyncIterator[FastAPI]:
    app = create_app(gateway_settings)
    async with LifespanManager(app, startup_timeout=30, shutdown_timeout=30):
        yield app


@pytest.fixture
async def client(gateway_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=gateway_app, client=("203.0.113.7", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as c:
        yield c


# --- identity: users and logins ------------------------------------------------------------------


# --- partners: API keys --------------------------------------------------------------------------


# --- webhooks: a recording partner server --------------------------------------------------------
