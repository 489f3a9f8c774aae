"""One process per service: HTTP, gRPC, the outbox relay, consumers and background jobs share
one event loop (DESIGN.md §10). `role` splits them: `api` serves HTTP+gRPC, `worker` runs the
relay, consumers and jobs; `all` does both.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any

from fastapi import FastAPI

from marque_kit.aio import within_grace
from marque_kit.broker import Broker
from marque_kit.consumer import Consumer
from marque_kit.db import Database
from marque_kit.housekeeping import Retention, housekeeping_job
from marque_kit.relay import OutboxRelay
from marque_kit.settings import ServiceSettings

log = logging.getLogger("marque.runtime")

BackgroundJob = Callable[[], Awaitable[None]]
STOP_GRACE_SECONDS = 5.0


class Runtime:
    """Starts and stops everything a service process runs besides its HTTP routes."""

    def __init__(
        self, *, service: str, settings: ServiceSettings, db: Database, broker: Broker, role: str
    ) -> None:
        self.service = service
        self.settings = settings
        self.db = db
        self.broker = broker
        self.role = role
        self.grpc_servicers: list[tuple[Callable[[Any, Any], None], Any]] = []
        self.grpc_service_names: list[str] = []
        self.consumers: list[Consumer] = []
        self.jobs: list[tuple[str, BackgroundJob]] = []
        self._tasks: list[asyncio.Task[None]] = []
        self.grpc_server: Any = None
        self.relay: OutboxRelay | None = None

    @property
    def serves_api(self) -> bool:
        return self.role in ("all", "api")

    @property
    def runs_workers(self) -> bool:
        return self.role in ("all", "worker")

    def add_grpc(self, add_to_server: Callable[[Any, Any], None], servicer: Any, name: str) -> None:
        self.grpc_servicers.append((add_to_server, servicer))
        self.grpc_service_names.append(name)

    def add_consumer(self, consumer: Consumer) -> None:
        self.consumers.append(consumer)

    def add_job(self, name: str, job: BackgroundJob) -> None:
        """A loop that runs until cancelled (e.g. releasing expired reservations)."""
        self.jobs.append((name, job))

    async def _supervise(self, name: str, job: BackgroundJob) -> None:
        delay = 1.0
        while True:
            try:
                await job()
                return
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("background job crashed; restarting", extra={"job": name})
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)

    def _spawn(self, name: str, job: BackgroundJob) -> None:
        self._tasks.append(asyncio.create_task(self._supervise(name, job), name=name))

    def _retention(self) -> Retention:
        days = timedelta(days=1)
        return Retention(
            sent_outbox=days * self.settings.sent_outbox_retention_days,
            inbox=days * self.settings.inbox_retention_days,
            idempotency_keys=days * self.settings.idempotency_key_retention_days,
        )

    def _consume(self, consumer: Consumer) -> BackgroundJob:
        async def consume() -> None:
            await self.broker.connect()  # the broker may still be connecting in the background
            await consumer.start()

        return consume

    async def _database_ready(self) -> bool:
        await self.db.ping()
        return True

    async def start(self) -> None:
        from marque_kit.rpc import start_grpc_server

        # The broker may be down: connecting happens in the background so HTTP writes still land
        # in the outbox.
        self._spawn("broker-connect", self.broker.connect)
        if self.serves_api and self.grpc_servicers:
            self.grpc_server = await start_grpc_server(
                service=self.service,
                settings=self.settings,
                servicers=self.grpc_servicers,
                service_names=self.grpc_service_names,
                port=self.settings.grpc_port,
                readiness=self._database_ready,
            )
        if self.runs_workers:
            self.relay = OutboxRelay(
                self.db,
                self.broker,
                service=self.service,
                batch_size=self.settings.relay_batch_size,
                poll_seconds=self.settings.relay_poll_seconds,
            )
            self._spawn("outbox-relay", self.relay.run)
            for consumer in self.consumers:
                self._spawn(
                    f"consumer-{consumer.consumer}-{consumer.producer}", self._consume(consumer)
                )
            self._spawn("housekeeping", housekeeping_job(self.db, self._retention()))
            for name, job in self.jobs:
                self._spawn(name, job)

    async def stop(self) -> None:
        for consumer in self.consumers:
            with contextlib.suppress(Exception):
                await consumer.stop()
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            # A library that swallows the cancellation (aio-pika retrying a connect it was
            # cancelled in) must not hold shutdown forever: wait a bounded time, then go on.
            _, stuck = await asyncio.wait(self._tasks, timeout=STOP_GRACE_SECONDS)
            for task in stuck:
                log.warning("background task ignored cancellation", extra={"task": task.get_name()})
        self._tasks.clear()
        if self.grpc_server is not None:
            await self.grpc_server.stop(grace=2)
        for name, closing in (("broker", self.broker.close), ("database", self.db.dispose)):
            try:
                await within_grace(closing(), STOP_GRACE_SECONDS)
            except Exception:
                log.warning("could not close cleanly", exc_info=True, extra={"resource": name})

    @contextlib.asynccontextmanager
    async def lifespan(self, app: FastAPI) -> AsyncIterator[None]:
        await self.start()
        try:
            yield
        finally:
            await self.stop()
