"""Figure 2: end-to-end event latency, producer commit -> consumer commit, at a fixed rate.

A producer commits a reservation row and its outbox row in one `UnitOfWork`, paced by the clock.
A running `OutboxRelay` (woken by LISTEN/NOTIFY) publishes; a kit `Consumer` handles each event in
its inbox transaction and inserts a row. Latency is the consumer's commit time minus the producer's
commit time, both read from `time.monotonic()` in this one process.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass

from sqlalchemy import event as sa_event
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from bench.events import PRODUCER, SOURCE, vehicle_reserved
from bench.infra import BenchRun
from bench.report import Row, line, meets, ms, rate, section
from marque.inventory.v1 import events_pb2
from marque_kit.broker import Broker
from marque_kit.consumer import Consumer
from marque_kit.db import Database, UnitOfWork
from marque_kit.envelope import Envelope
from marque_kit.relay import OutboxRelay
from marque_kit.tables import inbox

ROUTING_KEY = "bench.latency.vehicle_reserved"
CONSUMER = "benchsink"
TARGET_P99_SECONDS = 0.250


@dataclass(frozen=True)
class LatencyFigures:
    sent: int
    received: int
    achieved_rate: float
    p50: float
    p99: float
    max: float
    mean: float


async def measure(
    run: BenchRun, db_url: str, *, per_second: float = 200.0, seconds: float = 10.0
) -> list[Row]:
    section(f"2. End-to-end event latency at {per_second:.0f} events/s for {seconds:.0f} s")
    db = Database(db_url)
    broker = Broker(run.amqp_url, run.namespace)
    await broker.connect()
    tally = Tally()
    consumer = _consumer(run, db, broker, tally)
    relay = OutboxRelay(db, broker, service=PRODUCER, batch_size=500)
    relay_task = asyncio.create_task(relay.run(), name="bench-relay")
    try:
        await consumer.start()
        await asyncio.wait_for(relay.listening.wait(), 15)
        count = int(per_second * seconds)
        achieved = await _produce(db, tally, count, per_second)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(tally.all_consumed.wait(), 30.0)
        figures = _figures(tally, achieved)
        stored = await _stored(db)
    finally:
        await consumer.stop()
        relay_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await relay_task
        await broker.close()
        await db.dispose()
    line("events committed / consumed", f"{figures.sent:,} / {figures.received:,}")
    line("rows in the consumer's table / inbox", f"{stored[0]:,} / {stored[1]:,}")
    line("achieved producer rate", rate(figures.achieved_rate))
    line("latency p50", ms(figures.p50))
    line("latency p99", ms(figures.p99))
    line("latency max", ms(figures.max))
    line("latency mean", ms(figures.mean))
    return [
        Row(
            f"e2e latency p99 @ {rate(figures.achieved_rate)}",
            ms(figures.p99),
            f"p50 {ms(figures.p50)}, max {ms(figures.max)}",
            "",
            f"<= {ms(TARGET_P99_SECONDS)} @ {per_second:.0f}/s",
            meets(figures.p99 <= TARGET_P99_SECONDS and figures.received == figures.sent),
        )
    ]


class Tally:
    """Commit times by event id on both sides; `all_consumed` is set once every event arrived."""

    def __init__(self) -> None:
        self.produced: dict[str, float] = {}
        self.consumed: dict[str, float] = {}
        self.expected: int | None = None
        self.all_consumed = asyncio.Event()

    def consumer_committed(self, event_id: str) -> None:
        self.consumed[event_id] = time.monotonic()
        self.check()

    def check(self) -> None:
        if self.expected is not None and len(self.consumed) >= self.expected:
            self.all_consumed.set()


def _consumer(run: BenchRun, db: Database, broker: Broker, tally: Tally) -> Consumer:
    async def record_reservation(session: AsyncSession, envelope: Envelope) -> None:
        reserved = envelope.parse(events_pb2.VehicleReserved)

        # The inbox transaction commits after the handler returns; stamp the time at that commit.
        def committed(_: Session) -> None:
            tally.consumer_committed(envelope.id)

        sa_event.listen(session.sync_session, "after_commit", committed, once=True)
        await session.execute(
            text("INSERT INTO bench_received (event_id, vin) VALUES (:id, :vin)"),
            {"id": envelope.id, "vin": reserved.vehicle.vin},
        )

    consumer = Consumer(
        db,
        broker,
        service=PRODUCER,
        consumer=CONSUMER,
        producer=PRODUCER,
        handlers={events_pb2.VehicleReserved.DESCRIPTOR.full_name: record_reservation},
        bindings=["bench.latency.#"],
    )
    topo = consumer.topology
    run.track(
        queues=(topo.queue, topo.parked_queue, *topo.retry_queues),
        exchanges=(topo.exchange, topo.dead_letter_exchange),
    )
    return consumer


async def _produce(db: Database, tally: Tally, count: int, per_second: float) -> float:
    """Commit `count` reservations, each with its outbox row, on a fixed schedule."""
    started = time.monotonic()
    for n in range(count):
        # An absolute schedule: a slow commit is caught up on, not added to every later one.
        delay = started + n / per_second - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        event = vehicle_reserved(n, ROUTING_KEY)
        async with UnitOfWork(db, source=SOURCE) as uow:
            await uow.session.execute(
                text("INSERT INTO bench_reservations (order_ref, vin) VALUES (:ref, :vin)"),
                {"ref": f"SO-SH01-{n:06d}", "vin": event.subject},
            )
            uow.record(event)
            await uow.commit()
        tally.produced[uow.published[0].id] = time.monotonic()
    tally.expected = count
    tally.check()
    first, last = min(tally.produced.values()), max(tally.produced.values())
    return (count - 1) / (last - first) if last > first else 0.0


def _figures(tally: Tally, achieved: float) -> LatencyFigures:
    consumed = tally.consumed
    latencies = sorted(consumed[k] - t for k, t in tally.produced.items() if k in consumed)
    if not latencies:
        raise RuntimeError("no event made it from the producer to the consumer")

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, round(p * (len(latencies) - 1)))]

    return LatencyFigures(
        sent=len(tally.produced),
        received=len(latencies),
        achieved_rate=achieved,
        p50=pct(0.50),
        p99=pct(0.99),
        max=latencies[-1],
        mean=sum(latencies) / len(latencies),
    )


async def _stored(db: Database) -> tuple[int, int]:
    async with db.engine.connect() as conn:
        rows = await conn.scalar(text("SELECT count(*) FROM bench_received"))
        inboxed = await conn.scalar(
            select(func.count()).select_from(inbox).where(inbox.c.consumer == CONSUMER)
        )
    return int(rows or 0), int(inboxed or 0)
