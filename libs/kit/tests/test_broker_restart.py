"""Exactly-once effects across a RabbitMQ restart in the middle of a steady flow of events."""

from __future__ import annotations

import asyncio
import shutil
import subprocess

import pytest
from messaging_helpers import LEDGER_TYPE, emit, eventually, ledger_counts, post_entry, unique
from sqlalchemy import text

from marque_kit.broker import Broker
from marque_kit.consumer import Consumer
from marque_kit.db import Database
from marque_kit.relay import OutboxRelay

pytestmark = [
    pytest.mark.broker_restart,
    pytest.mark.skipif(shutil.which("rabbitmqctl") is None, reason="needs rabbitmqctl"),
]

EVENTS = 300


def rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", *args], check=True, capture_output=True, timeout=180)


def restart_broker() -> None:
    try:
        rabbitmqctl("stop_app")
    finally:
        # Whatever happened, never leave the broker stopped.
        rabbitmqctl("start_app")
        rabbitmqctl("await_startup")


async def test_every_event_is_applied_exactly_once_across_a_broker_restart(
    db: Database, marque_amqp_url: str, amqp_namespace: str
) -> None:
    producer = unique("svc")
    broker = Broker(marque_amqp_url, amqp_namespace, retry_delays=[0.2, 0.5])
    await broker.connect()
    reconnects: list[object] = []
    broker.connection.reconnect_callbacks.add(lambda *_: reconnects.append(_))
    relay = OutboxRelay(db, broker, service=producer, poll_seconds=0.5, publish_timeout=5)
    consumer = Consumer(
        db,
        broker,
        service="test",
        consumer=unique("ledger"),
        producer=producer,
        handlers={LEDGER_TYPE: post_entry},
        bindings=["ledger.#"],
    )
    await consumer.start()
    relay_task = asyncio.create_task(relay.run())
    try:
        produced = 0

        async def steady_flow() -> None:
            nonlocal produced
            for _ in range(EVENTS):
                await emit(db, producer, 1)
                produced += 1
                await asyncio.sleep(0.02)

        flow = asyncio.create_task(steady_flow())
        await eventually(lambda: _at_least(produced, EVENTS // 3))
        await asyncio.to_thread(restart_broker)
        await flow

        await eventually(lambda: _ledger_has(db, EVENTS), within=180, every=0.5)
        assert reconnects, "the broker restart did not break the connection"
        assert await ledger_counts(db) == (EVENTS, EVENTS)
        async with db.engine.connect() as conn:
            unsent = await conn.scalar(text("SELECT count(*) FROM outbox WHERE sent_at IS NULL"))
        assert unsent == 0
    finally:
        relay_task.cancel()
        await asyncio.gather(relay_task, return_exceptions=True)
        await consumer.stop()
        await broker.close()


async def _ledger_has(db: Database, expected: int) -> bool:
    rows, _ = await ledger_counts(db)
    return rows >= expected


async def _at_least(value: int, floor: int) -> bool:
    return value >= floor
