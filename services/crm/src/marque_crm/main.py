"""Composition root: `create_app(settings)` wires the database, broker, routers, gRPC and jobs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI

from marque_crm.settings import CrmSettings
from marque_crm.unit_of_work import Clock, Crm
from marque_kit.broker import Broker
from marque_kit.db import Database
from marque_kit.http import create_http_app
from marque_kit.runtime import Runtime
from marque_kit.service import ServiceSpec

ROUTERS: list[Any] = []


def create_app(settings: CrmSettings, clock: Clock | None = None) -> FastAPI:
    db = Database(settings.database_url, pool_size=settings.db_pool_size)
    broker = Broker.from_settings(settings)
    crm = Crm(db, settings, clock)
    runtime = Runtime(service="crm", settings=settings, db=db, broker=broker, role=settings.role)
    app = create_http_app(
        service="crm",
        settings=settings,
        routers=ROUTERS if runtime.serves_api else [],
        lifespan=runtime.lifespan,
        readiness_checks={"database": db.ping, "broker": broker.ping},
    )
    app.state.crm = crm
    app.state.runtime = runtime
    return app


def _settings(**overrides: object) -> CrmSettings:
    return CrmSettings(**overrides)  # type: ignore[arg-type]


spec = ServiceSpec(
    name="crm",
    settings=_settings,
    create_app=create_app,
    service_dir=Path(__file__).resolve().parents[2],
    order=15,
)
