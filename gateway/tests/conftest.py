"""Gateway test fixtures: a migrated gateway database of this run, a real inventory process-in-loop
(uvicorn HTTP + gRPC on free ports, its own database) as the upstream, the gateway app with its
lifespan, and a client. Each part of the gateway adds its own helpers below its heading."""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
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
def inventory_upstream_settings(
    make_database: Callable[[str], str], marque_test_env: dict[str, Any]
) -> Any:
    from marque_inventory.settings import InventorySettings

    url = make_database("gw_inventory")
    upgrade(INVENTORY_DIR, url)
    return InventorySettings(database_url=url, grpc_port=free_port(), **marque_test_env)


@pytest.fixture(scope="session")
async def inventory_upstream(inventory_upstream_settings: Any) -> AsyncIterator[RunningServer]:
    """The real inventory service (HTTP + gRPC + relay), seeded with the demo group."""
    from marque_inventory.demo import seed
    from marque_inventory.main import create_app as create_inventory

    settings = inventory_upstream_settings
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


@pytest.fixture
def as_user(
    gateway_app: FastAPI, gateway_settings: GatewaySettings
) -> Callable[..., Awaitable[dict[str, str]]]:
    """`await as_user(roles=("store_manager",), stores=("SH01",))` -> Authorization headers of a
    freshly created real user (a row in `users`), with an access token minted for it."""
    from marque_gateway.identity.tokens import issue_access_token
    from marque_gateway.models import User

    async def make(
        roles: tuple[str, ...] = ("hq_admin",),
        stores: tuple[str, ...] = ("*",),
        name: str = "",
    ) -> dict[str, str]:
        user_id = uuid.uuid4().hex
        username = f"t.{roles[0]}.{user_id[:8]}"
        user = User(
            id=user_id,
            username=username,
            display_name=name or username,
            password_hash="!unusable",
            roles=list(roles),
            stores=list(stores),
        )
        async with gateway_app.state.gateway.db.session() as session, session.begin():
            session.add(user)
        token, _ = issue_access_token(
            user_id=user_id,
            name=user.display_name,
            roles=roles,
            stores=stores,
            settings=gateway_settings,
        )
        return {"Authorization": f"Bearer {token}"}

    return make


# --- partners: API keys --------------------------------------------------------------------------


@pytest.fixture
def partner_key(gateway_app: FastAPI) -> Callable[..., Awaitable[tuple[str, dict[str, str]]]]:
    """`await partner_key(scopes=[...], stores=[...])` -> (raw key, {"X-API-Key": raw})."""
    from marque_gateway.partners.keys import issue_key

    async def make(
        scopes: list[str] | tuple[str, ...] = ("inventory.vehicles:read",),
        stores: list[str] | tuple[str, ...] = ("SH01",),
        partner: str = "autohome",
        rate_limit_per_minute: int = 120,
        expires_at: datetime | None = None,
    ) -> tuple[str, dict[str, str]]:
        _, raw = await issue_key(
            gateway_app.state.gateway.db,
            partner=partner,
            name=f"{partner} test key",
            scopes=list(scopes),
            stores=list(stores),
            rate_limit_per_minute=rate_limit_per_minute,
            expires_at=expires_at,
            created_by="tests",
        )
        return raw, {"X-API-Key": raw}

    return make


# --- webhooks: a recording partner server --------------------------------------------------------
