"""Runtime roles against a real PostgreSQL, RabbitMQ and grpc.aio server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import grpc
import pytest
from fastapi import FastAPI
from google.protobuf.wrappers_pb2 import StringValue
from grpc_health.v1 import health_pb2, health_pb2_grpc
from messaging_helpers import emit, eventually, unique
from sqlalchemy import text
from sqlalchemy.pool import QueuePool

from marque_kit.broker import Broker
from marque_kit.db import Database
from marque_kit.runtime import Runtime
from marque_kit.settings import ServiceSettings

PROBE_SERVICE = "marque.test.v1.RuntimeProbe"

RuntimeFactory = Callable[[str], Runtime]


def add_probe(servicer: object, server: grpc.aio.Server) -> None:
    """A generated add_XServicer_to_server stand-in: one unary method over StringValue."""

    async def echo(request: StringValue, context: grpc.aio.ServicerContext) -> StringValue:
        return request

    handler = grpc.unary_unary_rpc_method_handler(
        echo,
        request_deserializer=StringValue.FromString,
        response_serializer=StringValue.SerializeToString,
    )
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler(PROBE_SERVICE, {"Echo": handler}),)
    )


@pytest.fixture
async def make_runtime(
    db: Database, marque_amqp_url: str, amqp_namespace: str
) -> AsyncIterator[RuntimeFactory]:
    """Runtimes over the test database and broker; any left running are stopped afterwards."""
    made: list[Runtime] = []

    def factory(role: str) -> Runtime:
        service = unique("rt")
        settings = ServiceSettings(
            service=service,
            role=role,
            env="test",
            database_url=db.url,
            amqp_url=marque_amqp_url,
            amqp_namespace=amqp_namespace,
            grpc_port=0,
            relay_poll_seconds=0.2,
        )
        runtime = Runtime(
            service=service,
            settings=settings,
            db=db,
            broker=Broker.from_settings(settings),
            role=role,
        )
        runtime.add_grpc(add_probe, object(), PROBE_SERVICE)
        made.append(runtime)
        return runtime

    yield factory
    for runtime in made:
        await runtime.stop()


async def idle() -> None:
    await asyncio.Event().wait()


def running_task_names() -> set[str]:
    return {t.get_name() for t in asyncio.all_tasks() if not t.done()}


async def health_of(port: int, service: str = "") -> int:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        reply = await stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
        return int(reply.status)


async def unsent_rows(db: Database) -> int:
    async with db.engine.connect() as conn:
        return int(await conn.scalar(text("SELECT count(*) FROM outbox WHERE sent_at IS NULL")))


async def test_api_role_serves_grpc_but_runs_no_relay_or_jobs(make_runtime: RuntimeFactory) -> None:
    runtime = make_runtime("api")
    job = unique("job-")
    runtime.add_job(job, idle)

    await runtime.start()

    assert runtime.grpc_server is not None
    assert await health_of(runtime.grpc_server.port) == health_pb2.HealthCheckResponse.SERVING
    assert (
        await health_of(runtime.grpc_server.port, PROBE_SERVICE)
        == health_pb2.HealthCheckResponse.SERVING
    )
    assert runtime.relay is None
    assert job not in running_task_names()
    assert "outbox-relay" not in running_task_names()


async def test_worker_role_runs_relay_and_jobs_but_no_grpc_server(
    db: Database, make_runtime: RuntimeFactory
) -> None:
    runtime = make_runtime("worker")
    job_ran = asyncio.Event()
    job = unique("job-")

    async def sweep() -> None:
        job_ran.set()
        await asyncio.Event().wait()

    runtime.add_job(job, sweep)

    await runtime.start()
    await emit(db, runtime.service, 3)

    await asyncio.wait_for(job_ran.wait(), timeout=10)
    assert runtime.grpc_server is None
    assert runtime.relay is not None
    assert {job, "outbox-relay"} <= running_task_names()
    # The relay really publishes: committed rows get marked sent.
    await eventually(lambda: _none_unsent(db), within=30)


async def _none_unsent(db: Database) -> bool:
    return await unsent_rows(db) == 0


async def test_a_crashing_job_is_restarted(make_runtime: RuntimeFactory) -> None:
    runtime = make_runtime("worker")
    runs = 0
    recovered = asyncio.Event()

    async def flaky() -> None:
        nonlocal runs
        runs += 1
        if runs == 1:
            raise RuntimeError("database hiccup")
        recovered.set()
        await asyncio.Event().wait()

    runtime.add_job(unique("job-"), flaky)

    await runtime.start()

    await asyncio.wait_for(recovered.wait(), timeout=15)
    assert runs == 2


async def test_a_job_that_finishes_is_not_run_again(make_runtime: RuntimeFactory) -> None:
    runtime = make_runtime("worker")
    runs = 0
    job = unique("job-")

    async def once() -> None:
        nonlocal runs
        runs += 1

    runtime.add_job(job, once)

    await runtime.start()

    await eventually(lambda: _not_running(job), within=10)
    assert runs == 1


async def _not_running(name: str) -> bool:
    return name not in running_task_names()


async def test_stop_cancels_jobs_and_closes_grpc_broker_and_database(
    db: Database, make_runtime: RuntimeFactory
) -> None:
    runtime = make_runtime("all")
    started, cancelled = asyncio.Event(), asyncio.Event()
    job = unique("job-")

    async def sweep() -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    runtime.add_job(job, sweep)

    async with runtime.lifespan(FastAPI()):
        await asyncio.wait_for(started.wait(), timeout=10)
        assert runtime.grpc_server is not None
        port = runtime.grpc_server.port
        await eventually(lambda: _broker_up(runtime.broker), within=10)

    assert cancelled.is_set()
    assert not {job, "outbox-relay", "broker-connect"} & running_task_names()
    assert not runtime.broker.is_connected
    pool = db.engine.pool
    assert isinstance(pool, QueuePool)
    assert pool.checkedout() == 0
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await health_of(port)
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE


async def _broker_up(broker: Broker) -> bool:
    return broker.is_connected


async def test_stop_returns_and_keeps_the_outbox_when_the_broker_never_answers(
    db: Database, marque_amqp_url: str, amqp_namespace: str
) -> None:
    """A broker that accepts the connection and then says nothing (a hung node, a half-open
    firewall) must not hold shutdown, and what was waiting to be published stays waiting."""
    accepted: list[asyncio.StreamWriter] = []

    async def silent(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(writer)

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    service = unique("rt")
    settings = ServiceSettings(
        service=service,
        role="worker",
        env="test",
        database_url=db.url,
        amqp_url=f"amqp://guest:guest@127.0.0.1:{port}/",
        amqp_namespace=amqp_namespace,
        relay_poll_seconds=0.2,
    )
    runtime = Runtime(
        service=service,
        settings=settings,
        db=Database(db.url),
        broker=Broker.from_settings(settings),
        role="worker",
    )
    try:
        await runtime.start()
        await emit(db, service, 2)
        await eventually(lambda: _has_connection(accepted), within=30)
        await asyncio.sleep(0.5)
    finally:
        await runtime.stop()
        server.close()
        for writer in accepted:
            writer.close()
    assert not {"outbox-relay", "broker-connect"} & running_task_names()
    assert await unsent_rows(db) >= 2


async def _has_connection(accepted: list[asyncio.StreamWriter]) -> bool:
    return bool(accepted)
