"""The outbox relay against a real PostgreSQL and RabbitMQ."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from messaging_helpers import LEDGER_KEY, emit, eventually, ledger_event, unique
from sqlalchemy import text

from marque_kit.broker import Broker
from marque_kit.db import Database, write_outbox
from marque_kit.relay import OutboxRelay, PublishFailed


class Probe:
    """A queue bound to the producer's exchange, read only after the relays have stopped."""

    def __init__(self, broker: Broker, producer: str) -> None:
        self.broker = broker
        self.producer = producer
        self.name = f"{broker.namespace}probe.{producer}"

    async def bind(self) -> None:
        channel = await self.broker.channel(publisher_confirms=False)
        exchange = await self.broker.declare_exchange(self.producer, channel)
        queue = await channel.declare_queue(self.name, durable=True)
        await queue.bind(exchange, routing_key="#")
        await channel.close()

    async def take_all(self) -> list[str]:
        """Every message id in the queue (each publish was confirmed, so all are there)."""
        channel = await self.broker.channel(publisher_confirms=False)
        queue = await channel.declare_queue(self.name, passive=True)
        ids: list[str] = []
        while (message := await queue.get(no_ack=True, fail=False)) is not None:
            assert message.content_type == "application/cloudevents+json"
            assert message.routing_key == LEDGER_KEY
            ids.append(str(message.message_id))
        await queue.delete(if_unused=False, if_empty=False)
        await channel.close()
        return ids


@pytest.fixture
async def probe(broker: Broker) -> AsyncIterator[Probe]:
    p = Probe(broker, unique("svc"))
    await p.bind()
    yield p


async def pending_rows(db: Database) -> int:
    async with db.engine.connect() as conn:
        return int(
            await conn.scalar(text("SELECT count(*) FROM outbox WHERE sent_at IS NULL")) or 0
        )


async def run_until_drained(db: Database, *relays: OutboxRelay) -> None:
    tasks = [asyncio.create_task(r.run()) for r in relays]
    try:
        await eventually(lambda: _none_pending(db), within=120)
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _none_pending(db: Database) -> bool:
    return await pending_rows(db) == 0


async def test_committed_rows_are_published_in_one_batch_and_marked_sent(
    db: Database, broker: Broker, probe: Probe
) -> None:
    ids = await emit(db, probe.producer, 10, per_tx=10)
    relay = OutboxRelay(db, broker, service=probe.producer, batch_size=100)

    assert await relay.drain_once() == 10
    assert await relay.drain_once() == 0
    await relay.close()

    assert await pending_rows(db) == 0
    assert sorted(await probe.take_all()) == sorted(ids)


async def test_rows_of_a_rolled_back_transaction_are_never_published(
    db: Database, broker: Broker, probe: Probe
) -> None:
    async with db.session() as session, session.begin():
        abandoned = await write_outbox(session, [ledger_event()], source="marque/test")
        await session.rollback()
    kept = await emit(db, probe.producer, 1)
    relay = OutboxRelay(db, broker, service=probe.producer)

    assert await relay.drain_once() == 1
    await relay.close()

    published = await probe.take_all()
    assert published == kept
    assert abandoned[0].id not in published


async def test_two_thousand_rows_drain(db: Database, broker: Broker, probe: Probe) -> None:
    ids = await emit(db, probe.producer, 2000, per_tx=250)
    relay = OutboxRelay(db, broker, service=probe.producer, batch_size=500, poll_seconds=0.2)

    await run_until_drained(db, relay)

    published = await probe.take_all()
    assert len(published) == 2000
    assert set(published) == set(ids)


async def test_two_relays_on_one_database_publish_each_row_exactly_once(
    db: Database, broker: Broker, probe: Probe
) -> None:
    ids = await emit(db, probe.producer, 2000, per_tx=100)
    relays = [
        OutboxRelay(db, broker, service=probe.producer, batch_size=50, poll_seconds=0.2)
        for _ in range(2)
    ]

    await run_until_drained(db, *relays)

    published = await probe.take_all()
    assert len(published) == 2000
    assert set(published) == set(ids)


async def test_a_commit_wakes_the_relay_without_waiting_for_the_poll(
    db: Database, broker: Broker, probe: Probe
) -> None:
    # An hour-long poll: only the NOTIFY from the outbox trigger can wake it within the wait.
    relay = OutboxRelay(db, broker, service=probe.producer, poll_seconds=3600)
    task = asyncio.create_task(relay.run())
    try:
        await asyncio.wait_for(relay.listening.wait(), 30)
        await eventually(lambda: _observed_idle(relay), within=30)
        await emit(db, probe.producer, 3)
        await eventually(lambda: _none_pending(db), within=30)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert len(await probe.take_all()) == 3


async def _observed_idle(relay: OutboxRelay) -> bool:
    # The drain triggered by connecting the listener has run once nothing is pending.
    return await relay.observe_backlog() == (0, 0.0)


async def test_a_failed_publish_keeps_the_rows_pending_and_they_go_out_later(
    db: Database, broker: Broker, probe: Probe
) -> None:
    relay = OutboxRelay(db, broker, service=probe.producer, publish_timeout=10)
    first = await emit(db, probe.producer, 1)
    assert await relay.drain_once() == 1
    # Deleting the exchange under the relay makes the broker refuse its next publishes.
    channel = await broker.channel(publisher_confirms=False)
    await channel.exchange_delete(broker.exchange_name(probe.producer))
    await channel.close()
    later = await emit(db, probe.producer, 2)

    with pytest.raises(PublishFailed):
        await relay.drain_once()
    async with db.engine.connect() as conn:
        failed = (
            await conn.execute(
                text("SELECT attempts, last_error FROM outbox WHERE sent_at IS NULL")
            )
        ).all()
    assert [attempts for attempts, _ in failed] == [1, 1]
    assert all(error for _, error in failed)

    await probe.bind()
    assert await eventually(lambda: _drain_tolerating_failure(relay), within=30) == 2
    await relay.close()
    assert await pending_rows(db) == 0
    assert sorted(await probe.take_all()) == sorted(first + later)


async def _drain_tolerating_failure(relay: OutboxRelay) -> int:
    # The relay's channel may still be reopening after the broker closed it.
    try:
        return await relay.drain_once()
    except PublishFailed:
        return 0
