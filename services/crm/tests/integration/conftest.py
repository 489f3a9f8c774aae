"""CRM integration fixtures: a migrated database of this run, the app with its lifespan
(HTTP + gRPC + relay + consumers + jobs against the real PostgreSQL and RabbitMQ), and helpers."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from marque_crm.main import create_app
from marque_crm.settings import CrmSettings
from marque_crm.unit_of_work import Clock, Crm
from marque_kit.broker import Broker
from marque_kit.migrations import upgrade
from marque_kit.testing.events import EventBus
from marque_kit.testing.principals import free_port, principal_headers, staff_headers

SERVICE_DIR = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def notify_sink() -> Iterator[str]:
    """The real local SMS/WeChat provider (`python -m marque_crm.notify.sink`) on a free port, in
    its own process for the whole run; its base URL. GET /messages shows what it received."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "marque_crm.notify.sink", "--port", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                process.wait()
                log.seek(0)
                raise RuntimeError(f"the notify sink did not start: {log.read().decode()[-2000:]}")
            time.sleep(0.1)
        yield url
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="session")
def crm_settings(
    make_database: Callable[[str], str], marque_test_env: dict[str, Any], notify_sink: str
) -> CrmSettings:
    url = make_database("crm")
    upgrade(SERVICE_DIR, url)
    return CrmSettings(
        database_url=url,
        grpc_port=free_port(),
        notify_url=notify_sink,
        # The import-job worker looks once at start-up and then sleeps: tests run its turns
        # themselves (import_jobs_service.run_next), so that no job is taken behind their back.
        import_job_poll_seconds=3600.0,
        **marque_test_env,
    )


@pytest.fixture(scope="session")
def clock() -> Clock:
    """The app's clock: `clock.shift(timedelta(minutes=31))` moves CRM's "now" (SLA, due tasks)."""
    return Clock()


@pytest.fixture(scope="session")
async def crm_app(crm_settings: CrmSettings, clock: Clock) -> AsyncIterator[FastAPI]:
    app = create_app(crm_settings, clock)
    async with LifespanManager(app, startup_timeout=30, shutdown_timeout=30):
        yield app


@pytest.fixture(scope="session")
def crm(crm_app: FastAPI) -> Crm:
    """The running app's Crm (database, settings, clock, PII), to arrange and inspect state."""
    result: Crm = crm_app.state.crm
    return result


@pytest.fixture
async def client(crm_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=crm_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://crm") as c:
        yield c


@pytest.fixture
def as_hq(crm_settings: CrmSettings) -> dict[str, str]:
    return principal_headers(crm_settings.internal_secret)


@pytest.fixture
def as_user(crm_settings: CrmSettings) -> Callable[..., dict[str, str]]:
    """`as_user("sales_consultant", "SH01", sub="sh.consultant")`: that role in those stores."""

    def make(role: str, *stores: str, sub: str = "staff") -> dict[str, str]:
        return staff_headers(crm_settings.internal_secret, role, *stores, sub=sub)

    return make


@pytest.fixture(scope="session")
async def event_bus(crm_app: FastAPI, crm_settings: CrmSettings) -> AsyncIterator[EventBus]:
    """`await event_bus.publish("inventory", routing_key, body)` once CRM listens."""
    broker = Broker.from_settings(crm_settings)
    await broker.connect()
    bus = EventBus(broker)
    yield bus
    await broker.close()
