"""Composition root: `create_app(settings)` wires the database, broker, routers, gRPC and jobs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI

from marque_finance.settings import FinanceSettings
from marque_finance.unit_of_work import Finance
from marque_kit.broker import Broker
from marque_kit.db import Database
from marque_kit.http import create_http_app
from marque_kit.runtime import Runtime
from marque_kit.service import ServiceSpec

ROUTERS: list[Any] = []


def create_app(settings: FinanceSettings) -> FastAPI:
    db = Database(settings.database_url, pool_size=settings.db_pool_size)
    broker = Broker.from_settings(settings)
    finance = Finance(db, settings)
    runtime = Runtime(
        service="finance", settings=settings, db=db, broker=broker, role=settings.role
    )
    app = create_http_app(
        service="finance",
        settings=settings,
        routers=ROUTERS if runtime.serves_api else [],
        lifespan=runtime.lifespan,
        readiness_checks={"database": db.ping, "broker": broker.ping},
    )
    app.state.finance = finance
    app.state.runtime = runtime
    return app


def _settings(**overrides: object) -> FinanceSettings:
    return FinanceSettings(**overrides)  # type: ignore[arg-type]


spec = ServiceSpec(
    name="finance",
    settings=_settings,
    create_app=create_app,
    service_dir=Path(__file__).resolve().parents[2],
    order=20,
)
