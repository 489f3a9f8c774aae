"""Finance integration fixtures: a migrated database of this run, the app with its lifespan
(HTTP + gRPC + relay + consumers + jobs against the real PostgreSQL and RabbitMQ), and helpers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from marque_finance.main import create_app
from marque_finance.settings import FinanceSettings
from marque_finance.unit_of_work import Finance
from marque_kit.broker import Broker
from marque_kit.migrations import upgrade
from marque_kit.testing.events import EventBus
from marque_kit.testing.principals import free_port, principal_headers, staff_headers

SERVICE_DIR = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def finance_settings(
    make_database: Callable[[str], str], marque_test_env: dict[str, Any]
) -> FinanceSettings:
    url = make_database("finance")
    upgrade(SERVICE_DIR, url)
    return FinanceSettings(database_url=url, grpc_port=free_port(), **marque_test_env)


@pytest.fixture(scope="session")
async def finance_app(finance_settings: FinanceSettings) -> AsyncIterator[FastAPI]:
    app = create_app(finance_settings)
    async with LifespanManager(app, startup_timeout=30, shutdown_timeout=30):
        yield app


@pytest.fixture(scope="session")
def finance(finance_app: FastAPI) -> Finance:
    """The running app's Finance (database + settings), for arranging and inspecting state."""
    result: Finance = finance_app.state.finance
    return result


@pytest.fixture
async def client(finance_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=finance_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://finance") as c:
        yield c


@pytest.fixture
def as_hq(finance_settings: FinanceSettings) -> dict[str, str]:
    return principal_headers(finance_settings.internal_secret)


@pytest.fixture
def as_user(finance_settings: FinanceSettings) -> Callable[..., dict[str, str]]:
    """`as_user("finance", "SH01", sub="sh.finance")` -> headers of that role in those stores."""

    def make(role: str, *stores: str, sub: str = "staff") -> dict[str, str]:
        return staff_headers(finance_settings.internal_secret, role, *stores, sub=sub)

    return make


@pytest.fixture(scope="session")
async def event_bus(
    finance_app: FastAPI, finance_settings: FinanceSettings
) -> AsyncIterator[EventBus]:
    """`await event_bus.publish("inventory", routing_key, body)` once finance listens."""
    broker = Broker.from_settings(finance_settings)
    await broker.connect()
    bus = EventBus(broker)
    yield bus
    await broker.close()
