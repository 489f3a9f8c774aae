"""Figures 7 and 8: finance posting a backlog of inventory events, and the P&L over a demo year.

7. A fresh, migrated finance database and the real `finance.from.inventory` topology (the bindings
   of `consumers.inventory_consumer`), plus a baseline queue bound the same way. `events`
   inventory envelopes (vehicles arrived, parts received and consumed, transfers shipped and
   received, across six stores) are published once with pipelined confirms, so both queues hold
   the same backlog. Then a kit `Consumer` with a no-op handler (the inbox row only) drains the
   baseline queue, and finance's real consumer drains its own, each timed until the inbox holds
   all `events` rows for it.
8. The demo year (`marque_finance.demo.seed`) is loaded into the same database, and finance's app
   (role `api`, in-process through httpx's ASGI transport, with its lifespan) answers
   `GET /reports/profit-and-loss` over the twelve months for one store and for the group, 30 calls
   each, against a small indexed read (`GET /stores/SH01/periods`) through the same client.
"""

from __future__ import annotations

import asyncio
import secrets
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import aio_pika
import httpx
from asgi_lifespan import LifespanManager
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from bench.infra import REPO, BenchRun, free_port
from bench.report import Row, line, ms, rate, ratio, section
from marque.common.v1 import common_pb2
from marque.inventory.v1 import events_pb2 as inv
from marque.inventory.v1 import inventory_pb2
from marque_finance import demo
from marque_finance.consumers import CONSUMER, MAPPERS, PRODUCER, inventory_consumer
from marque_finance.main import create_app
from marque_finance.settings import FinanceSettings
from marque_finance.unit_of_work import Finance
from marque_kit.auth import Principal, sign_principal
from marque_kit.broker import Broker
from marque_kit.consumer import ANY_TYPE, Consumer
from marque_kit.db import Database
from marque_kit.envelope import Envelope, wrap
from marque_kit.migrations import upgrade
from marque_kit.relay import CONTENT_TYPE

SERVICE_DIR = REPO / "services" / "finance"
SOURCE = "marque/inventory"
BASELINE = "bench-noop"
IN_FLIGHT = 200
CALLS = 30
# Stores of the backlog: not the demo's, so the P&L figure reads the demo year only.
STORES = ("BN01", "BN02", "BN03", "BN04", "BN05", "BN06")
PARTS = (("G052167M2", 29_000), ("1K0698151", 39_500), ("TIRE-23555R19", 105_000))


@dataclass(frozen=True)
class BacklogFigures:
    events: int
    baseline_per_second: float
    finance_per_second: float
    entries: int
    finance_seconds: float

    @property
    def entries_per_second(self) -> float:
        return self.entries / self.finance_seconds


@dataclass(frozen=True)
class Timing:
    p50: float
    p95: float

    def text(self) -> str:
        return f"p50 {ms(self.p50)}, p95 {ms(self.p95)}"


def measure(run: BenchRun, *, events: int = 5_000) -> list[Row]:
    url = asyncio.run(run.create_database("finance"))
    # Alembic's env runs its own event loop, so the migration runs outside ours.
    upgrade(SERVICE_DIR, url)
    settings = FinanceSettings(
        database_url=url,
        amqp_url=run.amqp_url,
        amqp_namespace=run.namespace,
        internal_secret=secrets.token_hex(32),
        grpc_port=free_port(),
        http_port=free_port(),
        role="api",
    )
    section(f"7. Finance postings from a backlog of {events:,} inventory events")
    backlog = asyncio.run(_backlog(run, settings, events))
    line("baseline: no-op consumer (inbox only)", rate(backlog.baseline_per_second))
    line("finance.from.inventory: events", rate(backlog.finance_per_second))
    line(
        "finance.from.inventory: journal entries",
        f"{rate(backlog.entries_per_second)} ({backlog.entries:,} entries)",
    )
    line(
        "finance / baseline (events)",
        ratio(backlog.finance_per_second, backlog.baseline_per_second),
    )

    section("8. P&L over a year of demo postings (in-process, 30 calls each)")
    store, group, baseline, journal_lines, summary = asyncio.run(_reports(settings))
    line("demo seed", summary)
    line("journal lines of the demo stores", f"{journal_lines:,}")
    line("GET /stores/SH01/periods (baseline)", baseline.text())
    line("P&L SH01, 12 months", store.text())
    line("P&L group, 12 months", group.text())
    return [
        Row(
            "finance postings from a backlog",
            f"{rate(backlog.finance_per_second)} events "
            f"({rate(backlog.entries_per_second)} entries)",
            f"{rate(backlog.baseline_per_second)} (no-op inbox consumer)",
            ratio(backlog.finance_per_second, backlog.baseline_per_second),
        ),
        Row(
            f"P&L one store, 12 months ({journal_lines:,} lines)",
            store.text(),
            f"{baseline.text()} (GET periods)",
            ratio(store.p50, baseline.p50),
        ),
        Row(
            "P&L group, 12 months",
            group.text(),
            f"{baseline.text()} (GET periods)",
            ratio(group.p50, baseline.p50),
        ),
    ]


# --- 7. the backlog --------------------------------------------------------------------------


def _ts(at: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(at)
    return stamp


def _cny(fen: int) -> common_pb2.Money:
    return common_pb2.Money(amount_fen=fen, currency_code="CNY")


def inventory_event(n: int, today: date) -> tuple[str, Envelope]:
    """The n-th event of the backlog and its routing key: a mix of what moves stock value."""
    now = _ts(datetime.now(UTC))
    store = STORES[n % len(STORES)]
    vin = f"LBNCH{n:012d}"
    part, cost = PARTS[n % len(PARTS)]
    kind = n % 20
    message: Message
    if kind < 5:  # a vehicle from the OEM (25 %)
        message = inv.VehicleArrived(
            occurred_at=now,
            vehicle=inv.VehicleSnapshot(
                vin=vin,
                store_id=store,
                brand="BYD",
                model_code="BYD-HAN",
                cost=_cny(19_100_000),
                arrived_on=today.isoformat(),
            ),
        )
    elif kind < 11:  # a parts delivery (30 %)
        message = inv.PartsReceived(
            occurred_at=now,
            store_id=store,
            part_number=part,
            quantity=12,
            unit_cost=_cny(cost),
            reference=f"DN-{store}-{n:06d}",
        )
    elif kind < 17:  # parts issued to a repair order (30 %)
        message = inv.PartsConsumed(
            occurred_at=now,
            store_id=store,
            reference=f"RO-{store}-{n:06d}",
            lines=[
                inventory_pb2.PartMovement(
                    movement_id=f"MV-{n}-{k}", part_number=p, quantity=k + 1, unit_cost=_cny(c)
                )
                for k, (p, c) in enumerate(PARTS[: 1 + n % 3])
            ],
        )
    else:  # a vehicle transfer, shipped or received (15 %)
        transfer = inv.TransferSnapshot(
            transfer_id=f"TR-{n:06d}",
            kind=inventory_pb2.TRANSFER_KIND_VEHICLE,
            from_store_id=store,
            to_store_id=STORES[(n + 1) % len(STORES)],
            vin=vin,
            vehicle_cost=_cny(24_400_000),
        )
        if kind < 19:
            message = inv.TransferShipped(occurred_at=now, transfer=transfer)
        else:
            message = inv.TransferReceived(occurred_at=now, transfer=transfer)
    routing_key = MAPPERS[message.DESCRIPTOR.full_name][0]
    return routing_key, wrap(message, source=SOURCE, subject=vin, store=store)


async def _backlog(run: BenchRun, settings: FinanceSettings, events: int) -> BacklogFigures:
    db = Database(settings.database_url)
    broker = Broker(run.amqp_url, run.namespace)
    await broker.connect()
    finance = Finance(db, settings)
    real = inventory_consumer(finance, broker)

    async def nothing(session: AsyncSession, envelope: Envelope) -> None:
        return None

    noop = Consumer(
        db,
        broker,
        service="finance",
        consumer=BASELINE,
        producer=PRODUCER,
        handlers={ANY_TYPE: nothing},
        bindings=real.bindings,
    )
    for consumer in (real, noop):
        topo = consumer.topology
        run.track(
            queues=(topo.queue, topo.parked_queue, *topo.retry_queues),
            exchanges=(topo.exchange, topo.dead_letter_exchange),
        )
        await broker.declare_consumer_topology(consumer.consumer, PRODUCER, real.bindings)
    try:
        await _publish(broker, events)
        baseline = await _drain(db, noop, BASELINE, events)
        started = time.perf_counter()
        await _drain(db, real, CONSUMER, events)
        elapsed = time.perf_counter() - started
        async with db.engine.begin() as conn:
            entries = int(await conn.scalar(text("SELECT count(*) FROM journal_entries")) or 0)
            parked = await broker.queue_depth(real.topology.parked_queue)
            # The postings' own events would otherwise be relayed during figure 8.
            await conn.execute(text("TRUNCATE outbox"))
        if parked:
            line("PARKED by finance (see its log)", str(parked))
    finally:
        await broker.close()
        await db.dispose()
    return BacklogFigures(events, events / baseline, events / elapsed, entries, elapsed)


async def _publish(broker: Broker, events: int) -> None:
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    messages = []
    for n in range(events):
        key, env = inventory_event(n, today)
        messages.append(
            (
                key,
                aio_pika.Message(
                    body=env.to_json(),
                    content_type=CONTENT_TYPE,
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                    message_id=env.id,
                    type=env.type,
                ),
            )
        )
    channel = await broker.channel(publisher_confirms=True)
    exchange = await broker.declare_exchange(PRODUCER, channel)
    window = asyncio.Semaphore(IN_FLIGHT)

    async def publish(key: str, message: aio_pika.Message) -> None:
        async with window:
            await exchange.publish(message, routing_key=key)

    started = time.perf_counter()
    await asyncio.gather(*(publish(k, m) for k, m in messages))
    elapsed = time.perf_counter() - started
    await channel.close()
    line("backlog published (200 confirms in flight)", f"{events:,} in {elapsed:.1f} s")


async def _drain(db: Database, consumer: Consumer, name: str, events: int) -> float:
    """Start the consumer and time it until the inbox holds `events` rows for it."""
    started = time.perf_counter()
    await consumer.start()
    try:
        deadline = started + 900
        while True:
            async with db.engine.connect() as conn:
                done = await conn.scalar(
                    text("SELECT count(*) FROM inbox WHERE consumer = :c"), {"c": name}
                )
            if int(done or 0) >= events:
                return time.perf_counter() - started
            if time.perf_counter() > deadline:
                raise RuntimeError(f"{name} handled only {done} of {events} events in 15 min")
            await asyncio.sleep(0.05)
    finally:
        await consumer.stop()


# --- 8. the P&L over the demo year -------------------------------------------------------------


async def _reports(settings: FinanceSettings) -> tuple[Timing, Timing, Timing, int, str]:
    summary = await demo.seed(settings)
    months = demo.window(datetime.now(ZoneInfo(settings.timezone)).date())
    span = {"from_period": months[0], "to_period": months[-1]}
    principal = Principal(subject="bench", roles=("hq_finance",), stores=("*",))
    headers = {
        "X-Marque-Principal": sign_principal(principal, settings.internal_secret, ttl_seconds=3600)
    }
    app = create_app(settings)
    async with LifespanManager(app, startup_timeout=30, shutdown_timeout=30):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://finance", headers=headers
        ) as client:
            pnl = "/api/v1/finance/reports/profit-and-loss"

            def get(path: str, **params: str) -> Callable[[], Awaitable[httpx.Response]]:
                return lambda: client.get(path, params=params)

            baseline = await _time(get("/api/v1/finance/stores/SH01/periods"))
            store = await _time(get(pnl, store_id="SH01", **span))
            group = await _time(get(pnl, **span))
    db = Database(settings.database_url, pool_size=1)
    try:
        async with db.engine.connect() as conn:
            journal_lines = int(
                await conn.scalar(
                    text("SELECT count(*) FROM journal_lines WHERE store_id = ANY(:s)"),
                    {"s": [s.id for s in demo.STORES]},
                )
                or 0
            )
    finally:
        await db.dispose()
    return store, group, baseline, journal_lines, summary


async def _time(call: Callable[[], Awaitable[httpx.Response]], calls: int = CALLS) -> Timing:
    for _ in range(3):  # warm-up: connections, caches, the first compile
        response = await call()
        response.raise_for_status()
    samples = []
    for _ in range(calls):
        started = time.perf_counter()
        response = await call()
        samples.append(time.perf_counter() - started)
        response.raise_for_status()
    cuts = statistics.quantiles(samples, n=20, method="inclusive")
    return Timing(p50=statistics.median(samples), p95=cuts[18])
