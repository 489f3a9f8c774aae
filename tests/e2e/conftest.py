"""End-to-end fixtures: the whole suite as real processes (finance, inventory, crm, then the gateway
in front of them), broker taps, and callers who sign in through the gateway.

Each database is this run's own (`make_database`), migrated and seeded with the demo data before
its process starts; broker names and Redis keys carry this run's namespace. Journeys talk HTTP to
the gateway only, as a client would; gRPC calls go to inventory, finance and crm, as another
service would.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import grpc
import httpx
import pytest
from e2e_support import (
    MARQUE,
    REPO,
    Caller,
    EventTap,
    ServiceProcess,
    WebhookReceiver,
    caller,
    free_port,
    sign_in,
)

from marque.crm.v1.crm_service_pb2_grpc import CrmServiceStub
from marque.finance.v1.finance_service_pb2_grpc import FinanceServiceStub
from marque.inventory.v1.inventory_service_pb2_grpc import InventoryServiceStub
from marque_kit.broker import Broker
from marque_kit.cli import wait_http_ok
from marque_kit.migrations import upgrade
from marque_kit.rpc import client_channel

INVENTORY_DIR = REPO / "services" / "inventory"
FINANCE_DIR = REPO / "services" / "finance"
CRM_DIR = REPO / "services" / "crm"
GATEWAY_DIR = REPO / "gateway"
DEMO_PASSWORD = "marque-demo-2026"
# Producers whose events finance books (its `finance.from.<producer>` queues).
FINANCE_CONSUMES = ("inventory",)


@pytest.fixture(scope="session")
def internal_secret() -> str:
    return secrets.token_urlsafe(32)


@pytest.fixture(scope="session")
def e2e_namespace(amqp_namespace: str) -> str:
    """The run's broker prefix plus `e2e.`: the processes started here never share exchanges or
    queues with the in-process apps of the integration tests (removed with the run's names)."""
    return f"{amqp_namespace}e2e."


@pytest.fixture(scope="session")
async def event_tap(marque_amqp_url: str, e2e_namespace: str) -> AsyncIterator[EventTap]:
    """Bound before the service starts, so no event of the run is missed."""
    tap = await EventTap.start(marque_amqp_url, f"{e2e_namespace}marque.inventory")
    yield tap
    await tap.close()


@pytest.fixture(scope="session")
async def finance_events(marque_amqp_url: str, e2e_namespace: str) -> AsyncIterator[EventTap]:
    """Every event finance publishes (`finance.invoice.*`, `finance.payment.*`, ...), bound
    before finance starts."""
    tap = await EventTap.start(marque_amqp_url, f"{e2e_namespace}marque.finance")
    yield tap
    await tap.close()


@pytest.fixture(scope="session")
def finance_service(
    make_database: Callable[[str], str],
    marque_amqp_url: str,
    e2e_namespace: str,
    internal_secret: str,
    finance_events: EventTap,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ServiceProcess]:
    """`marque serve finance` on its own database, started before inventory so that its queues
    exist when inventory publishes its first events (`finance_ready`)."""
    url = make_database("e2e_finance")
    upgrade(FINANCE_DIR, url)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("MARQUE_")},
        "MARQUE_ENV": "test",
        "MARQUE_FINANCE_DATABASE_URL": url,
        "MARQUE_FINANCE_HTTP_PORT": str(free_port()),
        "MARQUE_FINANCE_GRPC_PORT": str(free_port()),
        "MARQUE_AMQP_URL": marque_amqp_url,
        "MARQUE_AMQP_NAMESPACE": e2e_namespace,
        "MARQUE_INTERNAL_SECRET": internal_secret,
        "MARQUE_FINANCE_RELAY_POLL_SECONDS": "0.5",
        "MARQUE_FINANCE_RETRY_DELAYS": "[0.2, 0.5]",
    }
    service = ServiceProcess(
        env=env,
        http_port=int(env["MARQUE_FINANCE_HTTP_PORT"]),
        grpc_port=int(env["MARQUE_FINANCE_GRPC_PORT"]),
        log_path=tmp_path_factory.mktemp("e2e") / "finance.log",
        service="finance",
    )
    service.start()
    yield service
    service.stop()


@pytest.fixture(scope="session")
async def finance_listening(
    marque_amqp_url: str, e2e_namespace: str, finance_service: ServiceProcess
) -> AsyncIterator[Callable[[str], Awaitable[None]]]:
    """`await finance_listening("inventory")`: until finance consumes `finance.from.inventory`
    (/readyz does not wait for consumers), so that nothing published from then on is missed."""
    from marque_kit.testing.events import EventBus

    broker = Broker(marque_amqp_url, e2e_namespace)
    await broker.connect()

    async def wait(producer: str) -> None:
        await EventBus(broker).wait_for_intake(producer, consumer="finance")

    yield wait
    await broker.close()


@pytest.fixture(scope="session")
async def finance_ready(
    finance_service: ServiceProcess, finance_listening: Callable[[str], Awaitable[None]]
) -> ServiceProcess:
    """Finance, consuming every producer it books from: nothing they publish later is missed."""
    for producer in FINANCE_CONSUMES:
        await finance_listening(producer)
    return finance_service


@pytest.fixture(scope="session")
def inventory_service(
    make_database: Callable[[str], str],
    marque_amqp_url: str,
    e2e_namespace: str,
    internal_secret: str,
    event_tap: EventTap,
    finance_ready: ServiceProcess,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ServiceProcess]:
    """Started once finance listens, so that finance books even the demo stock's events."""
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
        "MARQUE_AMQP_NAMESPACE": e2e_namespace,
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


@pytest.fixture(scope="session")
async def crm_events(marque_amqp_url: str, e2e_namespace: str) -> AsyncIterator[EventTap]:
    """Every event crm publishes (`crm.lead.*`, `crm.customer.*`, `crm.task.due`, ...), bound
    before crm starts."""
    tap = await EventTap.start(marque_amqp_url, f"{e2e_namespace}marque.crm")
    yield tap
    await tap.close()


@pytest.fixture(scope="session")
def notify_sink(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The real local SMS / WeChat provider CRM's notifier posts to (`marque_crm.notify.sink`, a
    process of its own, as in docker compose): its base URL; `GET /messages` lists what it got."""
    port = free_port()
    log = tmp_path_factory.mktemp("e2e") / "notify-sink.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(MARQUE.parent / "python"), "-m", "marque_crm.notify.sink", "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    if not wait_http_ok(f"{url}/healthz", proc, timeout=30):
        proc.kill()
        raise RuntimeError(f"the notify sink did not start:\n{log.read_text()[-3000:]}")
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="session")
def crm_service(
    make_database: Callable[[str], str],
    marque_amqp_url: str,
    e2e_namespace: str,
    internal_secret: str,
    crm_events: EventTap,
    notify_sink: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ServiceProcess]:
    """`marque serve crm` on its own database: customers, leads (assigned as they arrive), tasks.
    Its SLA and due-task sweeps run every second, so that the journeys need not wait; its
    notifier posts to `notify_sink`."""
    url = make_database("e2e_crm")
    upgrade(CRM_DIR, url)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("MARQUE_")},
        "MARQUE_ENV": "test",
        "MARQUE_CRM_DATABASE_URL": url,
        "MARQUE_CRM_HTTP_PORT": str(free_port()),
        "MARQUE_CRM_GRPC_PORT": str(free_port()),
        "MARQUE_AMQP_URL": marque_amqp_url,
        "MARQUE_AMQP_NAMESPACE": e2e_namespace,
        "MARQUE_INTERNAL_SECRET": internal_secret,
        "MARQUE_CRM_RELAY_POLL_SECONDS": "0.5",
        "MARQUE_CRM_RETRY_DELAYS": "[0.2, 0.5]",
        "MARQUE_CRM_SLA_SWEEP_SECONDS": "1",
        "MARQUE_CRM_TASK_SWEEP_SECONDS": "1",
        "MARQUE_CRM_NOTIFY_URL": notify_sink,
    }
    service = ServiceProcess(
        env=env,
        http_port=int(env["MARQUE_CRM_HTTP_PORT"]),
        grpc_port=int(env["MARQUE_CRM_GRPC_PORT"]),
        log_path=tmp_path_factory.mktemp("e2e") / "crm.log",
        service="crm",
    )
    service.start()
    yield service
    service.stop()


@pytest.fixture(scope="session")
async def crm_ready(
    marque_amqp_url: str, e2e_namespace: str, crm_service: ServiceProcess
) -> ServiceProcess:
    """CRM, its notifier consuming `crm.task.due` (`notifier.from.crm`): no reminder is missed."""
    from marque_kit.testing.events import EventBus

    broker = Broker(marque_amqp_url, e2e_namespace)
    await broker.connect()
    try:
        await EventBus(broker).wait_for_intake("crm", consumer="notifier")
    finally:
        await broker.close()
    return crm_service


def seed_demo_group(env: dict[str, str], service: str = "inventory") -> None:
    """`marque seed <service>`, as an operator runs it (inventory: catalog and demo stock, ~1 s;
    gateway: one demo user per role and the demo partner key)."""
    done = subprocess.run(
        [str(MARQUE), "seed", service], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture(scope="session")
def gateway_service(
    make_database: Callable[[str], str],
    marque_amqp_url: str,
    e2e_namespace: str,
    marque_redis_url: str,
    marque_run_id: str,
    internal_secret: str,
    inventory_service: ServiceProcess,
    finance_service: ServiceProcess,
    crm_ready: ServiceProcess,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ServiceProcess]:
    url = make_database("e2e_gateway")
    upstreams = {"inventory": inventory_service, "finance": finance_service, "crm": crm_ready}
    upgrade(GATEWAY_DIR, url)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("MARQUE_")},
        "MARQUE_ENV": "test",
        "MARQUE_GATEWAY_DATABASE_URL": url,
        "MARQUE_GATEWAY_HTTP_PORT": str(free_port()),
        "MARQUE_GATEWAY_UPSTREAMS": json.dumps({n: s.base_url for n, s in upstreams.items()}),
        "MARQUE_GATEWAY_GRPC_UPSTREAMS": json.dumps(
            {n: s.grpc_target for n, s in upstreams.items()}
        ),
        "MARQUE_REDIS_URL": marque_redis_url,
        "MARQUE_GATEWAY_REDIS_PREFIX": f"marque:{marque_run_id}:e2e:",
        "MARQUE_GATEWAY_WEBHOOK_POLL_SECONDS": "0.2",
        "MARQUE_GATEWAY_RELAY_POLL_SECONDS": "0.5",
        "MARQUE_AMQP_URL": marque_amqp_url,
        "MARQUE_AMQP_NAMESPACE": e2e_namespace,
        "MARQUE_INTERNAL_SECRET": internal_secret,
    }
    seed_demo_group(env, "gateway")
    service = ServiceProcess(
        env=env,
        http_port=int(env["MARQUE_GATEWAY_HTTP_PORT"]),
        grpc_port=0,
        log_path=tmp_path_factory.mktemp("e2e") / "gateway.log",
        service="gateway",
    )
    service.start()
    yield service
    service.stop()


@pytest.fixture
async def http(gateway_service: ServiceProcess) -> AsyncIterator[httpx.AsyncClient]:
    """The gateway at its public URL: every journey's HTTP goes through it."""
    async with httpx.AsyncClient(base_url=gateway_service.base_url, timeout=15) as client:
        yield client


@pytest.fixture
async def direct_finance(finance_service: ServiceProcess) -> AsyncIterator[httpx.AsyncClient]:
    """Finance's own port (no principal: it answers 401 to anyone who skips the gateway)."""
    async with httpx.AsyncClient(base_url=finance_service.base_url, timeout=15) as client:
        yield client


@pytest.fixture
async def direct_inventory(inventory_service: ServiceProcess) -> AsyncIterator[httpx.AsyncClient]:
    """Inventory's own port, for the tests that show it refuses callers who skip the gateway."""
    async with httpx.AsyncClient(base_url=inventory_service.base_url, timeout=15) as client:
        yield client


async def signed_in(
    gateway_service: ServiceProcess, username: str, principal: Caller, password: str = DEMO_PASSWORD
) -> Caller:
    async with httpx.AsyncClient(base_url=gateway_service.base_url, timeout=15) as client:
        bearer = await sign_in(client, username, password)
    return Caller(principal.token, bearer)


@pytest.fixture(scope="session")
async def hq_admin(gateway_service: ServiceProcess, internal_secret: str) -> Caller:
    who = caller(internal_secret, stores=("*",), roles=("hq_admin",), sub="hq-admin")
    return await signed_in(gateway_service, "hq.admin", who)


@pytest.fixture(scope="session")
async def sh01_manager(gateway_service: ServiceProcess, internal_secret: str) -> Caller:
    who = caller(internal_secret, stores=("SH01",), roles=("store_manager",), sub="sh01-manager")
    return await signed_in(gateway_service, "sh.manager", who)


@pytest.fixture(scope="session")
async def hz01_manager(gateway_service: ServiceProcess, internal_secret: str) -> Caller:
    who = caller(internal_secret, stores=("HZ01",), roles=("store_manager",), sub="hz01-manager")
    return await signed_in(gateway_service, "hz.manager", who)


@pytest.fixture(scope="session")
async def bj01_manager(
    gateway_service: ServiceProcess, internal_secret: str, hq_admin: Caller
) -> Caller:
    """Not a demo user: HQ creates this account through the gateway, then its owner signs in."""
    password = "Beijing-store-" + secrets.token_hex(4)
    async with httpx.AsyncClient(base_url=gateway_service.base_url, timeout=15) as client:
        created = await client.post(
            "/api/v1/group/users",
            headers=hq_admin.headers,
            json={
                "username": "bj.manager.e2e",
                "display_name": "Beijing store manager",
                "password": password,
                "roles": ["store_manager"],
                "stores": ["BJ01"],
            },
        )
        assert created.status_code == 201, created.text
    who = caller(internal_secret, stores=("BJ01",), roles=("store_manager",), sub="bj01-manager")
    first = await signed_in(gateway_service, "bj.manager.e2e", who, password)
    # The password HQ set is temporary: the first thing its owner can (and must) do is change it.
    async with httpx.AsyncClient(base_url=gateway_service.base_url, timeout=15) as client:
        refused = await client.get("/api/v1/inventory/catalog/stores", headers=first.headers)
        assert refused.status_code == 403, refused.text
        changed = await client.post(
            "/auth/password",
            headers=first.headers,
            json={"current_password": password, "new_password": password + "-mine"},
        )
        assert changed.status_code == 200, changed.text
    return Caller(who.token, changed.json()["access_token"])


@pytest.fixture
async def webhook_receiver() -> AsyncIterator[WebhookReceiver]:
    receiver = WebhookReceiver(free_port())
    await receiver.start()
    yield receiver
    await receiver.stop()


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


@pytest.fixture
async def finance_channel(finance_service: ServiceProcess) -> AsyncIterator[grpc.aio.Channel]:
    channel = client_channel(finance_service.grpc_target, deadline_seconds=10)
    yield channel
    await channel.close(grace=None)


@pytest.fixture
def finance_stub(finance_channel: grpc.aio.Channel) -> FinanceServiceStub:
    """GetBalance / GetInvoice / RecordReceipt, called as sales or aftersales would (pass a
    caller's `metadata`)."""
    return FinanceServiceStub(finance_channel)


@pytest.fixture
async def crm_channel(crm_service: ServiceProcess) -> AsyncIterator[grpc.aio.Channel]:
    channel = client_channel(crm_service.grpc_target, deadline_seconds=10)
    yield channel
    await channel.close(grace=None)


@pytest.fixture
def crm_stub(crm_channel: grpc.aio.Channel) -> CrmServiceStub:
    """FindOrCreateCustomer / GetCustomer / GetCustomerSummary, called as sales or aftersales
    would (pass a caller's `metadata`)."""
    return CrmServiceStub(crm_channel)
