"""Figure 1: how fast the outbox relay drains a backlog, against raw aio-pika publishes.

The backlog is written with the kit's `write_outbox` (as a service would), then `OutboxRelay`
drains it with `drain_once` until nothing is pending. Both the relay and the baselines publish
the same envelopes to the same exchange, bound to one durable quorum queue (the production
topology), so every message is really enqueued and persisted.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import aio_pika
import orjson
from aio_pika.abc import AbstractExchange, AbstractQueue
from sqlalchemy import func, select, text

from bench.events import PRODUCER, SOURCE, vehicle_reserved
from bench.infra import BenchRun
from bench.report import Row, line, meets, rate, ratio, section
from marque_kit.broker import Broker
from marque_kit.db import Database, write_outbox
from marque_kit.envelope import wrap
from marque_kit.relay import CONTENT_TYPE, OutboxRelay
from marque_kit.tables import outbox

ROUTING_KEY = "bench.throughput.vehicle_reserved"
TARGET_PER_SECOND = 1_000
IN_FLIGHT = 200


@dataclass(frozen=True)
class RelayFigures:
    relay: float
    one_confirm: float
    pipelined: float


async def measure(
    run: BenchRun,
    db_url: str,
    *,
    events: int = 20_000,
    baseline_events: int = 4_000,
    pipelined_events: int = 10_000,
) -> list[Row]:
    section(f"1. Outbox relay throughput ({events:,} rows, batch 500)")
    db = Database(db_url)
    broker = Broker(run.amqp_url, run.namespace)
    await broker.connect()
    try:
        exchange, sink = await _declare_sink(run, broker)
        figures = await _measure_all(
            db, broker, exchange, sink, events, baseline_events, pipelined_events
        )
    finally:
        await broker.close()
        await db.dispose()
    line("relay (drain_once loop)", rate(figures.relay))
    line("raw publish, 1 confirm at a time", rate(figures.one_confirm))
    line(f"raw publish, {IN_FLIGHT} confirms in flight", rate(figures.pipelined))
    line("relay / one-confirm baseline", ratio(figures.relay, figures.one_confirm))
    line("relay / pipelined ceiling", ratio(figures.relay, figures.pipelined))
    return [
        Row(
            "relay throughput",
            rate(figures.relay),
            f"{rate(figures.one_confirm)} (1 confirm at a time)",
            ratio(figures.relay, figures.one_confirm),
            f">= {TARGET_PER_SECOND:,}/s",
            meets(figures.relay >= TARGET_PER_SECOND),
        ),
        Row(
            "  relay vs pipelined",
            rate(figures.relay),
            f"{rate(figures.pipelined)} ({IN_FLIGHT} confirms in flight)",
            ratio(figures.relay, figures.pipelined),
        ),
    ]


async def _declare_sink(run: BenchRun, broker: Broker) -> tuple[AbstractExchange, AbstractQueue]:
    channel = await broker.channel(publisher_confirms=True)
    exchange = await broker.declare_exchange(PRODUCER, channel)
    name = f"{run.namespace}bench.sink"
    run.track(queues=(name,), exchanges=(exchange.name,))
    sink = await channel.declare_queue(name, durable=True, arguments={"x-queue-type": "quorum"})
    await sink.bind(exchange, routing_key="bench.throughput.#")
    return exchange, sink


async def _measure_all(
    db: Database,
    broker: Broker,
    exchange: AbstractExchange,
    sink: AbstractQueue,
    events: int,
    baseline_events: int,
    pipelined_events: int,
) -> RelayFigures:
    one_confirm = await _raw_one_at_a_time(exchange, baseline_events)
    await sink.purge()
    await _write_backlog(db, events)
    relay_rate = await _drain(db, broker, events)
    await _check_enqueued(broker, sink.name, events)
    await sink.purge()
    pipelined = await _raw_pipelined(exchange, pipelined_events)
    await sink.purge()
    async with db.engine.begin() as conn:
        await conn.execute(text("TRUNCATE outbox"))
    return RelayFigures(relay=relay_rate, one_confirm=one_confirm, pipelined=pipelined)


async def _write_backlog(db: Database, events: int, transactions: int = 4) -> None:
    per_tx = -(-events // transactions)
    started = time.perf_counter()
    for first in range(0, events, per_tx):
        batch = [
            vehicle_reserved(n, ROUTING_KEY) for n in range(first, min(first + per_tx, events))
        ]
        async with db.session() as session, session.begin():
            await write_outbox(session, batch, source=SOURCE)
    elapsed = time.perf_counter() - started
    line("backlog written (write_outbox)", f"{events:,} rows in {elapsed:.1f} s")


async def _drain(db: Database, broker: Broker, events: int) -> float:
    relay = OutboxRelay(db, broker, service=PRODUCER, batch_size=500)
    try:
        started = time.perf_counter()
        published = 0
        while sent := await relay.drain_once():
            published += sent
        elapsed = time.perf_counter() - started
    finally:
        await relay.close()
    async with db.engine.connect() as conn:
        pending = await conn.scalar(
            select(func.count()).select_from(outbox).where(outbox.c.sent_at.is_(None))
        )
    if published != events or pending:
        raise RuntimeError(f"relay published {published} of {events}; {pending} still pending")
    return published / elapsed


async def _check_enqueued(broker: Broker, queue: str, events: int) -> None:
    """Every relayed message really reached the quorum queue.

    A fresh channel, because a robust channel answers a re-declare with its cached queue object.
    """
    depth = await broker.queue_depth(queue)
    line("messages in the quorum queue", f"{depth:,} of {events:,}")


def _messages(count: int) -> list[aio_pika.Message]:
    """The same envelopes and properties the relay sends, built before the clock starts."""
    out = []
    for n in range(count):
        event = vehicle_reserved(n, ROUTING_KEY)
        env = wrap(event.message, source=SOURCE, subject=event.subject, store=event.store_id)
        out.append(
            aio_pika.Message(
                body=orjson.dumps(env.to_dict()),
                content_type=CONTENT_TYPE,
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                message_id=env.id,
                type=env.type,
            )
        )
    return out


async def _raw_one_at_a_time(exchange: AbstractExchange, count: int) -> float:
    messages = _messages(count)
    started = time.perf_counter()
    for message in messages:
        await exchange.publish(message, routing_key=ROUTING_KEY)
    return count / (time.perf_counter() - started)


async def _raw_pipelined(exchange: AbstractExchange, count: int) -> float:
    messages = _messages(count)
    window = asyncio.Semaphore(IN_FLIGHT)

    async def publish(message: aio_pika.Message) -> None:
        async with window:
            await exchange.publish(message, routing_key=ROUTING_KEY)

    started = time.perf_counter()
    await asyncio.gather(*(publish(m) for m in messages))
    return count / (time.perf_counter() - started)
