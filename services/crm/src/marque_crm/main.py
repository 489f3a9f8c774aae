"""Composition root: `create_app(settings)` wires the database, broker, routers, gRPC and jobs."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from marque.crm.v1 import crm_service_pb2_grpc
from marque_crm.api import assignment as assignment_api
from marque_crm.api import complaints as complaints_api
from marque_crm.api import customers as customers_api
from marque_crm.api import imports as imports_api
from marque_crm.api import leads as leads_api
from marque_crm.api import marketing as marketing_api
from marque_crm.api import tasks as tasks_api
from marque_crm.assignment_service import sla_job
from marque_crm.import_jobs_service import import_job_worker
from marque_crm.marketing_service import campaign_scheduler
from marque_crm.notify.consumer import notifier
from marque_crm.rpc import CrmRpc
from marque_crm.settings import CrmSettings
from marque_crm.tasks_service import task_sweeper
from marque_crm.unit_of_work import Clock, Crm
from marque_kit.broker import Broker
from marque_kit.db import Database
from marque_kit.http import create_http_app
from marque_kit.runtime import Runtime
from marque_kit.service import Companion, ServiceSpec

ROUTERS: list[Any] = [
    assignment_api.router,
    customers_api.router,
    leads_api.router,
    tasks_api.router,
    marketing_api.router,
    complaints_api.router,
    imports_api.router,
]


def create_app(settings: CrmSettings, clock: Clock | None = None) -> FastAPI:
    db = Database(settings.database_url, pool_size=settings.db_pool_size)
    broker = Broker.from_settings(settings)
    crm = Crm(db, settings, clock)
    runtime = Runtime(service="crm", settings=settings, db=db, broker=broker, role=settings.role)
    runtime.add_grpc(
        crm_service_pb2_grpc.add_CrmServiceServicer_to_server,
        CrmRpc(crm),
        "marque.crm.v1.CrmService",
    )
    # Follow-ups (跟进): due tasks -> TaskDue (outbox); the notifier turns them into messages.
    runtime.add_job("crm-task-sweep", task_sweeper(crm))
    # First-contact SLA (business minutes): escalate to managers, reassign if the store says so.
    runtime.add_job("sla-sweep", sla_job(crm))
    # Campaigns with scheduled_at go out when their time comes (same sweep rhythm as tasks).
    runtime.add_job("campaign-scheduler", campaign_scheduler(crm))
    # Large spreadsheet imports queued by the API (202): claimed with SKIP LOCKED, run in chunks.
    runtime.add_job("crm-import-jobs", import_job_worker(crm))
    runtime.add_consumer(notifier(crm, broker))
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


async def _seed(settings: CrmSettings) -> str:
    from marque_crm.demo import seed

    return await seed(settings)


spec = ServiceSpec(
    name="crm",
    settings=_settings,
    create_app=create_app,
    service_dir=Path(__file__).resolve().parents[2],
    seed=_seed,
    order=15,
    # Dev stand-in for the SMS / WeChat provider: records what the notifier and campaigns send.
    companions=(
        Companion(
            name="notify-sink",
            argv=(sys.executable, "-m", "marque_crm.notify.sink", "--port", "8199"),
            ready_url="http://127.0.0.1:8199/healthz",
            note="http://127.0.0.1:8199/messages   (SMS/WeChat sent, recorded locally)",
        ),
    ),
)
