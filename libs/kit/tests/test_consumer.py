"""The idempotent consumer against a real PostgreSQL and RabbitMQ."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import AsyncIterator, Mapping

import orjson
import pytest
from google.protobuf.struct_pb2 import Struct
from messaging_helpers import (
    LEDGER_TYPE,
    eventually,
    ledger_counts,
    post_entry,
    publish_raw,
    unique,
)
from prometheus_client import REGISTRY
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from marque_kit.broker import Broker
from marque_kit.consumer import (
    ANY_TYPE,
    PARK_REASON_HEADER,
    Consumer,
    Handler,
    current_routing_key,
    replay_parked,
    replay_parked_cli,
)
from marque_kit.db import Database, OutgoingEvent, write_outbox
from marque_kit.envelope import Envelope, wrap
from marque_kit.errors import InvalidInput


def ledger_envelope(amount: int = 1) -> Envelope:
    data = Struct()
    data.update({"amount": amount})
    return wrap(data, source="marque/test", subject="acct-1", event_id=str(uuid.uuid4()))


class Harness:
    """One consumer on a fresh producer/consumer pair of names, stopped at the end."""

    def __init__(self, db: Database, broker: Broker) -> None:
        self.db = db
        self.broker = broker
        self.producer = unique("svc")
        self.consumer_name = unique("ledger")
        self.consumers: list[Consumer] = []

    async def start(self, handlers: Mapping[str, Handler]) -> Consumer:
        consumer = Consumer(
            self.db,
            self.broker,
            service="test",
            consumer=self.consumer_name,
            producer=self.producer,
            handlers=handlers,
            bindings=["ledger.#"],
        )
        await consumer.start()
        self.consumers.append(consumer)
        return consumer

    async def send(self, envelope: Envelope | bytes) -> None:
        body = envelope if isinstance(envelope, bytes) else envelope.to_json()
        await publish_raw(self.broker, self.producer, body)

    def consumed(self, outcome: str, event_type: str = LEDGER_TYPE) -> float:
        labels = {
            "service": "test",
            "consumer": self.consumer_name,
            "type": event_type,
            "outcome": outcome,
        }
        return REGISTRY.get_sample_value("marque_events_consumed_total", labels) or 0.0

    async def parked(self) -> int:
        return await self.broker.parked_count(self.consumer_name, self.producer)

    async def stop(self) -> None:
        for consumer in self.consumers:
            await consumer.stop()
        self.consumers.clear()


@pytest.fixture
async def harness(db: Database, broker: Broker) -> AsyncIterator[Harness]:
    h = Harness(db, broker)
    yield h
    await h.stop()


async def ledger_rows(db: Database, expected: int) -> bool:
    return await ledger_counts(db) == (expected, expected)


async def test_every_message_delivered_twice_is_applied_once(harness: Harness) -> None:
    await harness.start({LEDGER_TYPE: post_entry})
    envelopes = [ledger_envelope(n) for n in range(1, 21)]

    for env in envelopes:
        await harness.send(env)
    for env in envelopes:
        await harness.send(env)

    await eventually(lambda: _consumed(harness, processed=20, duplicate=20))
    assert await ledger_counts(harness.db) == (20, 20)
    async with harness.db.engine.connect() as conn:
        total = await conn.scalar(text("SELECT sum(amount) FROM ledger"))
    assert total == sum(range(1, 21))


async def test_malformed_messages_are_parked_and_those_behind_them_still_flow(
    harness: Harness,
) -> None:
    await harness.start({LEDGER_TYPE: post_entry})
    no_attributes = orjson.dumps({"id": str(uuid.uuid4()), "data": {"amount": 1}})

    await harness.send(b"this is not json")
    await harness.send(no_attributes)
    for _ in range(3):
        await harness.send(ledger_envelope())

    await eventually(lambda: ledger_rows(harness.db, 3))
    await eventually(lambda: _parked_is(harness, 2))
    assert await _parked_reasons(harness) == Counter({"malformed": 2})


async def test_a_handler_refusing_the_event_as_invalid_parks_it(harness: Harness) -> None:
    async def refuse(session: AsyncSession, envelope: Envelope) -> None:
        await post_entry(session, envelope)
        raise InvalidInput("The account does not accept entries.")

    await harness.start({LEDGER_TYPE: refuse})
    await harness.send(ledger_envelope())

    await eventually(lambda: _parked_is(harness, 1))
    assert await _parked_reasons(harness) == Counter({"invalid": 1})
    assert await ledger_counts(harness.db) == (0, 0)


async def test_an_event_of_an_unknown_type_is_acked_and_ignored(harness: Harness) -> None:
    await harness.start({"marque.other.v1.Unrelated": post_entry})
    await harness.send(ledger_envelope())

    await eventually(lambda: _consumed(harness, ignored=1))
    assert await harness.parked() == 0
    assert await ledger_counts(harness.db) == (0, 0)


async def test_a_transient_failure_succeeds_after_a_retry(harness: Harness) -> None:
    attempts: Counter[str] = Counter()

    async def flaky(session: AsyncSession, envelope: Envelope) -> None:
        attempts[envelope.id] += 1
        await post_entry(session, envelope)
        if attempts[envelope.id] == 1:
            raise ConnectionError("the ledger's bank link dropped")

    await harness.start({LEDGER_TYPE: flaky})
    env = ledger_envelope()
    await harness.send(env)

    await eventually(lambda: ledger_rows(harness.db, 1))
    assert attempts[env.id] == 2
    assert await harness.parked() == 0


async def test_a_catch_all_handler_sees_the_producers_routing_key_even_after_a_retry(
    harness: Harness,
) -> None:
    seen: list[str] = []

    async def any_event(session: AsyncSession, envelope: Envelope) -> None:
        seen.append(current_routing_key())
        if len(seen) == 1:
            raise ConnectionError("the first try fails, so the second comes from a retry queue")
        await post_entry(session, envelope)

    await harness.start({ANY_TYPE: any_event})
    await harness.send(ledger_envelope())

    await eventually(lambda: ledger_rows(harness.db, 1))
    assert len(seen) == 2
    assert seen[0] == seen[1] != ""
    assert seen[0].startswith("ledger.")


async def test_a_handler_that_always_fails_is_parked_then_replayed_once_fixed(
    harness: Harness,
) -> None:
    fixed = False
    attempts = 0

    async def broken_until_fixed(session: AsyncSession, envelope: Envelope) -> None:
        nonlocal attempts
        attempts += 1
        if not fixed:
            raise RuntimeError("posting rules are not loaded")
        await post_entry(session, envelope)

    await harness.start({LEDGER_TYPE: broken_until_fixed})
    await harness.send(ledger_envelope())

    await eventually(lambda: _parked_is(harness, 1))
    # The first try plus one per retry delay.
    assert attempts == 1 + len(harness.broker.retry_delays)
    assert await _parked_reasons(harness) == Counter({"retries-exhausted": 1})
    assert await ledger_counts(harness.db) == (0, 0)

    fixed = True
    moved = await replay_parked(harness.broker, harness.consumer_name, harness.producer)

    assert moved == 1
    await eventually(lambda: ledger_rows(harness.db, 1))
    assert await harness.parked() == 0


async def test_replay_from_the_command_line_helper_moves_parked_messages(
    harness: Harness, marque_amqp_url: str, amqp_namespace: str
) -> None:
    fixed = False

    async def broken_until_fixed(session: AsyncSession, envelope: Envelope) -> None:
        if not fixed:
            raise InvalidInput("unknown account")
        await post_entry(session, envelope)

    await harness.start({LEDGER_TYPE: broken_until_fixed})
    for _ in range(3):
        await harness.send(ledger_envelope())
    await eventually(lambda: _parked_is(harness, 3))

    fixed = True
    queue = f"{harness.consumer_name}.from.{harness.producer}"
    assert await replay_parked_cli(marque_amqp_url, amqp_namespace, queue, limit=2) == 2
    await eventually(lambda: ledger_rows(harness.db, 2))
    assert await replay_parked_cli(marque_amqp_url, amqp_namespace, queue) == 1
    await eventually(lambda: ledger_rows(harness.db, 3))


async def test_a_message_redelivered_past_the_delivery_limit_is_parked_by_the_broker(
    db: Database, marque_amqp_url: str, amqp_namespace: str
) -> None:
    # A consumer that dies before acking, again and again: the broker's own limit parks it.
    strict = Broker(marque_amqp_url, amqp_namespace, delivery_limit=2)
    await strict.connect()
    harness = Harness(db, strict)
    try:
        topo = await strict.declare_consumer_topology(
            harness.consumer_name, harness.producer, ["ledger.#"]
        )
        await harness.send(ledger_envelope())
        channel = await strict.channel(publisher_confirms=False)
        queue = await channel.declare_queue(topo.queue, passive=True)
        for _ in range(10):
            message = await queue.get(no_ack=False, fail=False)
            if message is None:
                break
            await message.nack(requeue=True)
        await channel.close()
        await eventually(lambda: _parked_is(harness, 1))
        assert await strict.parked_count(harness.consumer_name, harness.producer) == 1
    finally:
        await strict.close()


async def test_a_handler_emits_events_through_the_outbox_in_its_transaction(
    harness: Harness,
) -> None:
    async def post_and_announce(session: AsyncSession, envelope: Envelope) -> None:
        await post_entry(session, envelope)
        confirmation = Struct()
        confirmation.update({"posted": envelope.id})
        await write_outbox(
            session,
            [OutgoingEvent(confirmation, routing_key="ledger.entry.confirmed", subject="acct-1")],
            source="marque/ledger",
        )

    await harness.start({LEDGER_TYPE: post_and_announce})
    env = ledger_envelope()
    await harness.send(env)
    await harness.send(env)

    await eventually(lambda: _consumed(harness, processed=1, duplicate=1))
    assert await ledger_counts(harness.db) == (1, 1)
    async with harness.db.engine.connect() as conn:
        announced = (await conn.execute(text("SELECT envelope FROM outbox"))).scalars().all()
    assert [e["data"] for e in announced] == [{"posted": env.id}]


async def _consumed(harness: Harness, **expected: int) -> bool:
    return all(harness.consumed(outcome) == n for outcome, n in expected.items())


async def _parked_is(harness: Harness, expected: int) -> bool:
    return await harness.parked() == expected


async def _parked_reasons(harness: Harness) -> Counter[str]:
    """Read the park reasons, leaving the messages where they are."""
    topo = harness.broker.topology(harness.consumer_name, harness.producer)
    channel = await harness.broker.channel(publisher_confirms=False)
    queue = await channel.declare_queue(topo.parked_queue, passive=True)
    reasons: Counter[str] = Counter()
    held = []
    while (message := await queue.get(no_ack=False, fail=False)) is not None:
        reasons[str((message.headers or {}).get(PARK_REASON_HEADER))] += 1
        held.append(message)
    for message in held:
        await message.nack(requeue=True)
    await channel.close()
    return reasons
