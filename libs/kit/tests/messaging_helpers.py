"""Helpers shared by the kit's messaging tests (a uniquely named module, unlike conftest)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import aio_pika
from google.protobuf.struct_pb2 import Struct
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from marque_kit.broker import Broker
from marque_kit.db import Database, OutgoingEvent, write_outbox
from marque_kit.envelope import Envelope

LEDGER_TYPE = "google.protobuf.Struct"
LEDGER_KEY = "ledger.entry.posted"


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


def ledger_event(amount: int = 1, subject: str = "acct-1") -> OutgoingEvent:
    data = Struct()
    data.update({"amount": amount})
    return OutgoingEvent(message=data, routing_key=LEDGER_KEY, subject=subject)


async def emit(db: Database, service: str, count: int = 1, *, per_tx: int = 1) -> list[str]:
    """Commit `count` ledger events to the outbox, `per_tx` per transaction; return their ids."""
    ids: list[str] = []
    for start in range(0, count, per_tx):
        async with db.session() as session, session.begin():
            envs = await write_outbox(
                session,
                [ledger_event() for _ in range(min(per_tx, count - start))],
                source=f"marque/{service}",
            )
        ids.extend(e.id for e in envs)
    return ids


async def post_entry(session: AsyncSession, envelope: Envelope) -> None:
    """The test handler: one ledger row per event it applies."""
    await session.execute(
        text("INSERT INTO ledger (event_id, amount) VALUES (:id, :amount)"),
        {"id": envelope.id, "amount": int(envelope.data["amount"])},
    )


async def ledger_counts(db: Database) -> tuple[int, int]:
    """(rows, distinct event ids) in the ledger."""
    async with db.engine.connect() as conn:
        counts = text("SELECT count(*), count(DISTINCT event_id) FROM ledger")
        row = (await conn.execute(counts)).one()
    return int(row[0]), int(row[1])


async def eventually(
    check: Callable[[], Awaitable[Any]], *, within: float = 60.0, every: float = 0.1
) -> Any:
    """Poll `check` until it returns something truthy; fail with its last value after `within`."""
    deadline = time.monotonic() + within
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {within}s (last value {value!r})")
        await asyncio.sleep(every)


async def publish_raw(
    broker: Broker, producer: str, body: bytes, *, routing_key: str = LEDGER_KEY
) -> None:
    """Publish as a producer would, bypassing the outbox (to feed duplicates and garbage)."""
    channel = await broker.channel(publisher_confirms=True)
    try:
        exchange = await broker.declare_exchange(producer, channel)
        await exchange.publish(
            aio_pika.Message(body, delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
            routing_key=routing_key,
        )
    finally:
        await channel.close()
