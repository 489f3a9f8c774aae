"""Gateway test fixtures: a migrated gateway database of this run, the real inventory service as
the upstream (its own process, `marque serve inventory`, on its own database of this run), the
gateway app with its lifespan, and a client. Each part of the gateway adds its own helpers below
its heading. No service's package is imported here: inventory is reached over HTTP and gRPC."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
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
from marque_kit.cli import wait_http_ok
from marque_kit.migrations import upgrade
from marque_kit.testing.events import EventBus

GATEWAY_DIR = Path(__file__).resolve().parents[1]
MARQUE = Path(sys.executable).parent / "marque"


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


@dataclass
class ServiceProcess:
    """A service run as `marque serve <name>`, exactly as `marque up` runs it."""

    url: str
    grpc_target: str
    proc: subprocess.Popen[bytes]
    log: Path


@pytest.fixture(scope="session")
def inventory_upstream(
    make_database: Callable[[str], str],
    marque_amqp_url: str,
    amqp_namespace: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ServiceProcess]:
    """The real inventory service (HTTP + gRPC + relay) as its own process, on this run's database
    and broker names, migrated and seeded with the demo group by the `marque` command."""
    http_port, grpc_port = free_port(), free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("MARQUE_")},
        "MARQUE_ENV": "test",
        "MARQUE_INVENTORY_DATABASE_URL": make_database("gw_inventory"),
        "MARQUE_INVENTORY_HTTP_PORT": str(http_port),
        "MARQUE_INVENTORY_GRPC_PORT": str(grpc_port),
        "MARQUE_INVENTORY_RELAY_POLL_SECONDS": "0.5",
        "MARQUE_INVENTORY_RETRY_DELAYS": "[0.2, 0.5]",
        "MARQUE_AMQP_URL": marque_amqp_url,
        "MARQUE_AMQP_NAMESPACE": amqp_namespace,
    }
    for step in ("migrate", "seed"):
        done = subprocess.run(
            [str(MARQUE), step, "inventory"], env=env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stdout + done.stderr
    log = tmp_path_factory.mktemp("gateway-upstreams") / "inventory.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(MARQUE), "serve", "inventory"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{http_port}"
    if not wait_http_ok(f"{url}/readyz", proc, timeout=60):
        proc.kill()
        raise RuntimeError(f"inventory did not start:\n{log.read_text()[-3000:]}")
    yield ServiceProcess(url=url, grpc_target=f"127.0.0.1:{grpc_port}", proc=proc, log=log)
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="session")
def crm_upstream(
    make_database: Callable[[str], str],
    marque_amqp_url: str,
    amqp_namespace: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ServiceProcess]:
    """The real CRM service as its own process (`marque migrate crm`, `marque serve crm`) on this
    run's database and broker names, for the customer 360. Not an upstream of `gateway_settings`
    (most gateway tests need no CRM): tests that do add it to a gateway replica of their own."""
    http_port, grpc_port = free_port(), free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("MARQUE_")},
        "MARQUE_ENV": "test",
        "MARQUE_CRM_DATABASE_URL": make_database("gw_crm"),
        "MARQUE_CRM_HTTP_PORT": str(http_port),
        "MARQUE_CRM_GRPC_PORT": str(grpc_port),
        "MARQUE_CRM_RELAY_POLL_SECONDS": "0.5",
        "MARQUE_CRM_RETRY_DELAYS": "[0.2, 0.5]",
        "MARQUE_AMQP_URL": marque_amqp_url,
        "MARQUE_AMQP_NAMESPACE": amqp_namespace,
    }
    done = subprocess.run(
        [str(MARQUE), "migrate", "crm"], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr
    log = tmp_path_factory.mktemp("gateway-upstreams") / "crm.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(MARQUE), "serve", "crm"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{http_port}"
    if not wait_http_ok(f"{url}/readyz", proc, timeout=60):
        proc.kill()
        raise RuntimeError(f"crm did not start:\n{log.read_text()[-3000:]}")
    yield ServiceProcess(url=url, grpc_target=f"127.0.0.1:{grpc_port}", proc=proc, log=log)
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="session")
def gateway_settings(
    make_database: Callable[[str], str],
    marque_test_env: dict[str, Any],
    marque_redis_url: str,
    marque_run_id: str,
    inventory_upstream: ServiceProcess,
) -> GatewaySettings:
    url = make_database("gateway")
    upgrade(GATEWAY_DIR, url)
    return GatewaySettings(
        database_url=url,
        redis_url=marque_redis_url,
        redis_prefix=f"marque:{marque_run_id}:",
        upstreams={"inventory": inventory_upstream.url},
        grpc_upstreams={"inventory": inventory_upstream.grpc_target},
        argon2_memory_kib=8192,
        # Every test signs in from the same address; test_rate_limits tightens this itself.
        login_rate_limit_per_minute=100_000,
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


STAFF_PASSWORD = "Correct-horse-2026"


@pytest.fixture
def staff_user(gateway_app: FastAPI) -> Callable[..., Awaitable[Any]]:
    """`user = await staff_user(roles=("technician",), stores=("SH01",))` -> a `User` created
    through `identity.accounts.create_user`, with the real argon2 password `STAFF_PASSWORD`
    (or `password=`) and no forced change."""
    from marque_gateway.identity.accounts import create_user

    async def make(
        roles: tuple[str, ...] = ("technician",),
        stores: tuple[str, ...] = ("SH01",),
        password: str = STAFF_PASSWORD,
        username: str | None = None,
        must_change_password: bool = False,
    ) -> Any:
        return await create_user(
            gateway_app.state.gateway,
            username=username or f"t.{roles[0]}.{uuid.uuid4().hex[:8]}",
            password=password,
            roles=roles,
            stores=stores,
            must_change_password=must_change_password,
        )

    return make


@pytest.fixture
def login(client: httpx.AsyncClient) -> Callable[..., Awaitable[dict[str, Any]]]:
    """`tokens = await login(username, password)` -> the 200 answer of POST /auth/token (password
    grant), plus `tokens["headers"]`: the Authorization header of its access token."""

    async def sign_in(username: str, password: str = STAFF_PASSWORD) -> dict[str, Any]:
        response = await client.post(
            "/auth/token",
            data={"grant_type": "password", "username": username, "password": password},
        )
        assert response.status_code == 200, response.text
        tokens: dict[str, Any] = response.json()
        tokens["headers"] = {"Authorization": f"Bearer {tokens['access_token']}"}
        return tokens

    return sign_in


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


# --- routing: extra local upstreams ------------------------------------------------------------


@pytest.fixture
async def serve_app() -> AsyncIterator[Callable[[Any], Awaitable[RunningServer]]]:
    """`server = await serve_app(asgi_app)`: the app on a free local port until the test ends."""
    started: list[RunningServer] = []

    async def serve(app: Any) -> RunningServer:
        server = RunningServer(app, free_port())
        await server.start()
        started.append(server)
        return server

    yield serve
    for server in started:
        await server.stop()


# --- webhooks: a recording partner server --------------------------------------------------------


class Received:
    """One request the recording partner server got."""

    def __init__(self, path: str, headers: dict[str, str], body: bytes, answered: int) -> None:
        self.path = path
        self.headers = headers  # lower-case names
        self.body = body
        self.answered = answered

    def json(self) -> Any:
        import orjson

        return orjson.loads(self.body)


class WebhookReceiver:
    """A partner's webhook endpoint on a real local port. Every POST to `/<name>` is recorded;
    `plan(name, [500, 200])` makes the next requests to it answer those statuses (then 200)."""

    def __init__(self) -> None:
        from starlette.applications import Starlette
        from starlette.requests import Request
        from starlette.responses import Response
        from starlette.routing import Route

        self.received: list[Received] = []
        self.plans: dict[str, list[int]] = {}
        self._arrived = asyncio.Condition()
        self.server: RunningServer | None = None

        async def hook(request: Request) -> Response:
            path = request.url.path.strip("/")
            body = await request.body()
            plan = self.plans.get(path) or []
            status = plan.pop(0) if plan else 200
            headers = {k.lower(): v for k, v in request.headers.items()}
            async with self._arrived:
                self.received.append(Received(path, headers, body, status))
                self._arrived.notify_all()
            return Response(status_code=status)

        self.app = Starlette(routes=[Route("/{name:path}", hook, methods=["POST"])])

    def url(self, name: str) -> str:
        assert self.server is not None
        return f"{self.server.url}/{name}"

    def plan(self, name: str, statuses: list[int]) -> None:
        self.plans[name] = list(statuses)

    def at(self, name: str) -> list[Received]:
        return [r for r in self.received if r.path == name]

    async def wait_for(self, name: str, count: int, within: float = 30.0) -> list[Received]:
        """The first `count` requests to `/<name>`; fails after `within` seconds."""

        async def enough() -> None:
            async with self._arrived:
                await self._arrived.wait_for(lambda: len(self.at(name)) >= count)

        try:
            await asyncio.wait_for(enough(), within)
        except TimeoutError:
            got = [(r.answered, r.headers.get("webhook-id")) for r in self.at(name)]
            raise AssertionError(f"/{name} got {len(got)} of {count} requests: {got}") from None
        return self.at(name)[:count]


@pytest.fixture(scope="session")
async def webhook_receiver() -> AsyncIterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    receiver.server = RunningServer(receiver.app, free_port())
    await receiver.server.start()
    yield receiver
    await receiver.server.stop()


@pytest.fixture(scope="session")
async def event_bus(
    gateway_app: FastAPI, gateway_settings: GatewaySettings
) -> AsyncIterator[EventBus]:
    """`await event_bus.publish("inventory", routing_key, body)` once the intake listens."""
    from marque_kit.broker import Broker

    broker = Broker.from_settings(gateway_settings)
    await broker.connect()
    bus = EventBus(broker)
    for producer in gateway_settings.webhook_sources:
        await bus.wait_for_intake(producer)
    yield bus
    await broker.close()
