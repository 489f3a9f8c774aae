"""Composition root: `create_app(settings)` wires the database, broker, routers, gRPC and jobs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI

from marque.finance.v1 import finance_service_pb2_grpc
from marque_finance.api import bank as bank_api
from marque_finance.api import expenses as expenses_api
from marque_finance.api import floorplan as floorplan_api
from marque_finance.api import ledger as ledger_api
from marque_finance.api import payables as payables_api
from marque_finance.api import periods as periods_api
from marque_finance.api import receivables as receivables_api
from marque_finance.api import reports as reports_api
from marque_finance.consumers import inventory_consumer
from marque_finance.floorplan_service import accrual_job
from marque_finance.rpc import FinanceRpc
from marque_finance.settings import FinanceSettings
from marque_finance.unit_of_work import Finance
from marque_kit.broker import Broker
from marque_kit.db import Database
from marque_kit.http import create_http_app
from marque_kit.runtime import Runtime
from marque_kit.service import ServiceSpec

ROUTERS: list[Any] = [
    ledger_api.router,  # /api/v1/finance/stores/{id}/accounts, /api/v1/finance/journal
    periods_api.router,  # /api/v1/finance/stores/{id}/periods
    expenses_api.router,  # /api/v1/finance/expense-claims
    bank_api.router,  # /api/v1/finance/bank (reconciliation)
    receivables_api.router,  # /api/v1/finance/invoices, /receipts, /ar
    payables_api.router,  # /api/v1/finance/payables, /ap
    floorplan_api.router,  # /api/v1/finance/floorplan
    reports_api.router,  # /api/v1/finance/reports
]


def create_app(settings: FinanceSettings) -> FastAPI:
    db = Database(settings.database_url, pool_size=settings.db_pool_size)
    broker = Broker.from_settings(settings)
    finance = Finance(db, settings)
    runtime = Runtime(
        service="finance", settings=settings, db=db, broker=broker, role=settings.role
    )
    runtime.add_consumer(inventory_consumer(finance, broker))
    runtime.add_job("floorplan-accrual", accrual_job(finance))
    runtime.add_grpc(
        finance_service_pb2_grpc.add_FinanceServiceServicer_to_server,
        FinanceRpc(finance),
        "marque.finance.v1.FinanceService",
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


async def _seed(settings: FinanceSettings) -> str:
    from marque_finance.demo import seed

    return await seed(settings)


spec = ServiceSpec(
    name="finance",
    settings=_settings,
    create_app=create_app,
    service_dir=Path(__file__).resolve().parents[2],
    seed=_seed,
    order=20,
)
