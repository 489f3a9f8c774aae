"""The unit of work against a real PostgreSQL: the change and its outbox rows commit together."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import pytest
from google.protobuf.struct_pb2 import Struct
from sqlalchemy import text

from marque_kit.db import Database, OutgoingEvent, UnitOfWork
from marque_kit.envelope import Envelope
from marque_kit.tables import OUTBOX_CHANNEL

SOURCE = "marque/things"


@dataclass(frozen=True)
class ThingCreated:
    """A domain event, as an aggregate would return it."""

    thing_id: str
    store_id: str
    version: int


@dataclass
class Thing:
    """A minimal aggregate: it records what happened until the unit of work pulls it."""

    thing_id: str
    store_id: str
    version: int = 0
    _events: list[ThingCreated] = field(default_factory=list)

    def create(self) -> None:
        self.version += 1
        self._events.append(ThingCreated(self.thing_id, self.store_id, self.version))

    def pull_events(self) -> list[Any]:
        events, self._events = self._events, []
        return events


def to_outgoing(event: ThingCreated) -> OutgoingEvent:
    """The service's events.py mapper: domain event -> proto message and routing."""
    message = Struct()
    message.update({"thingId": event.thing_id})
    return OutgoingEvent(
        message=message,
        routing_key="things.thing.created",
        subject=event.thing_id,
        store_id=event.store_id,
        seq=event.version,
    )


@pytest.fixture
async def things_db(db: Database) -> Database:
    """The kit's fresh database (platform tables installed) plus a business table."""
    async with db.engine.begin() as conn:
        await conn.execute(
            text(
                "CREATE TABLE things (id text PRIMARY KEY, store_id text NOT NULL, "
                "txid bigint NOT NULL DEFAULT txid_current())"
            )
        )
    return db


class OutboxListener:
    """A raw asyncpg connection LISTENing on the outbox channel, as the relay does."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn
        self.received: asyncio.Queue[str] = asyncio.Queue()

    def on_notify(self, _conn: object, _pid: int, channel: str, _payload: str) -> None:
        self.received.put_nowait(channel)

    async def next(self) -> str:
        return await asyncio.wait_for(self.received.get(), timeout=10)

    async def nothing_pending(self) -> bool:
        """A round trip makes the connection read every notification the server sent so far."""
        await self.conn.fetchval("SELECT 1")
        return self.received.empty()


@pytest.fixture
async def listener(db_url: str) -> AsyncIterator[OutboxListener]:
    conn = await asyncpg.connect(db_url.replace("postgresql+asyncpg://", "postgresql://"))
    listening = OutboxListener(conn)
    await conn.add_listener(OUTBOX_CHANNEL, listening.on_notify)
    yield listening
    await conn.close()


async def add_thing(uow: UnitOfWork, thing_id: str, store_id: str = "SH01") -> None:
    await uow.session.execute(
        text("INSERT INTO things (id, store_id) VALUES (:id, :store)"),
        {"id": thing_id, "store": store_id},
    )


def ledger_struct(**values: Any) -> Struct:
    message = Struct()
    message.update(values)
    return message


async def things(db: Database) -> list[tuple[str, int]]:
    async with db.engine.connect() as conn:
        rows = await conn.execute(text("SELECT id, txid FROM things ORDER BY id"))
        return [(r.id, r.txid) for r in rows]


async def outbox_rows(db: Database) -> list[Any]:
    async with db.engine.connect() as conn:
        result = await conn.execute(text("SELECT * FROM outbox ORDER BY position"))
        return list(result)


async def test_commit_writes_the_change_and_its_outbox_rows_in_one_transaction(
    things_db: Database,
) -> None:
    async with UnitOfWork(things_db, source=SOURCE) as uow:
        await add_thing(uow, "thing-1")
        uow.record(
            OutgoingEvent(
                message=ledger_struct(thingId="thing-1", colour="red"),
                routing_key="things.thing.created",
                subject="thing-1",
                store_id="SH01",
                seq=1,
            )
        )
        await uow.commit()

    ((thing_id, thing_txid),) = await things(things_db)
    (row,) = await outbox_rows(things_db)
    (published,) = uow.published
    assert thing_id == "thing-1"
    assert row.txid == thing_txid
    assert row.event_id == uuid.UUID(published.id)
    assert row.event_type == "google.protobuf.Struct"
    assert row.routing_key == "things.thing.created"
    assert row.aggregate_id == "thing-1"
    assert row.store_id == "SH01"
    assert row.seq == 1
    assert row.sent_at is None
    assert row.attempts == 0
    envelope = Envelope.from_dict(row.envelope)
    assert envelope == published
    assert envelope.source == SOURCE
    assert (envelope.subject, envelope.store, envelope.seq) == ("thing-1", "SH01", 1)
    assert envelope.parse(Struct) == ledger_struct(thingId="thing-1", colour="red")


async def test_leaving_the_block_without_commit_keeps_nothing(things_db: Database) -> None:
    async with UnitOfWork(things_db, source=SOURCE) as uow:
        await add_thing(uow, "thing-1")
        uow.record(OutgoingEvent(ledger_struct(n=1), "things.thing.created", "thing-1"))
        await uow.flush_events()

    assert await things(things_db) == []
    assert await outbox_rows(things_db) == []


async def test_an_exception_in_the_block_keeps_nothing_and_propagates(
    things_db: Database,
) -> None:
    with pytest.raises(RuntimeError, match="price check failed"):
        async with UnitOfWork(things_db, source=SOURCE) as uow:
            await add_thing(uow, "thing-1")
            uow.record(OutgoingEvent(ledger_struct(n=1), "things.thing.created", "thing-1"))
            await uow.flush_events()
            raise RuntimeError("price check failed")

    assert await things(things_db) == []
    assert await outbox_rows(things_db) == []


async def test_a_failed_commit_keeps_neither_change_nor_event(things_db: Database) -> None:
    async with UnitOfWork(things_db, source=SOURCE) as uow:
        await add_thing(uow, "thing-1")
        await uow.commit()

    with pytest.raises(Exception, match="duplicate key"):
        async with UnitOfWork(things_db, source=SOURCE) as uow:
            await add_thing(uow, "thing-2")
            uow.record(OutgoingEvent(ledger_struct(n=1), "things.thing.created", "thing-2"))
            await add_thing(uow, "thing-1")
            await uow.commit()

    assert [t for t, _ in await things(things_db)] == ["thing-1"]
    assert await outbox_rows(things_db) == []


async def test_rollback_drops_the_recorded_events(things_db: Database) -> None:
    async with UnitOfWork(things_db, source=SOURCE, mapper=to_outgoing) as uow:
        await add_thing(uow, "thing-1")
        uow.record(ThingCreated("thing-1", "SH01", 1))
        await uow.rollback()
        await uow.commit()

    assert await things(things_db) == []
    assert await outbox_rows(things_db) == []


async def test_the_mapper_turns_domain_events_into_outbox_rows(things_db: Database) -> None:
    async with UnitOfWork(things_db, source=SOURCE, mapper=to_outgoing) as uow:
        await add_thing(uow, "thing-7", store_id="BJ02")
        uow.record(ThingCreated("thing-7", "BJ02", 4))
        await uow.commit()

    (row,) = await outbox_rows(things_db)
    assert (row.routing_key, row.aggregate_id, row.store_id, row.seq) == (
        "things.thing.created",
        "thing-7",
        "BJ02",
        4,
    )
    assert row.envelope["data"] == {"thingId": "thing-7"}
    assert row.envelope["marquestore"] == "BJ02"


async def test_collect_pulls_every_event_from_the_aggregates_in_order(
    things_db: Database,
) -> None:
    first, second = Thing("thing-1", "SH01"), Thing("thing-2", "SH02")
    first.create()
    first.create()
    second.create()

    async with UnitOfWork(things_db, source=SOURCE, mapper=to_outgoing) as uow:
        uow.collect(first, second)
        await uow.commit()

    rows = await outbox_rows(things_db)
    assert [(r.aggregate_id, r.seq) for r in rows] == [
        ("thing-1", 1),
        ("thing-1", 2),
        ("thing-2", 1),
    ]
    assert first.pull_events() == []
    assert second.pull_events() == []
    assert [e.seq for e in uow.published] == [1, 2, 1]


async def test_domain_events_without_a_mapper_are_refused(things_db: Database) -> None:
    async with UnitOfWork(things_db, source=SOURCE) as uow:
        with pytest.raises(TypeError, match="no event mapper"):
            uow.record(ThingCreated("thing-1", "SH01", 1))


async def test_commit_without_events_writes_no_outbox_row(things_db: Database) -> None:
    async with UnitOfWork(things_db, source=SOURCE) as uow:
        await add_thing(uow, "thing-1")
        await uow.commit()

    assert len(await things(things_db)) == 1
    assert await outbox_rows(things_db) == []
    assert uow.published == []


async def test_commit_wakes_the_relay_through_notify(
    things_db: Database, listener: OutboxListener
) -> None:
    async with UnitOfWork(things_db, source=SOURCE, mapper=to_outgoing) as uow:
        uow.record(ThingCreated("thing-1", "SH01", 1), ThingCreated("thing-2", "SH01", 1))
        await uow.flush_events()
        assert await listener.nothing_pending(), "NOTIFY must wait for the commit"
        await uow.commit()

    assert await listener.next() == OUTBOX_CHANNEL
    # Two rows in one statement wake the relay once.
    assert await listener.nothing_pending()


async def test_a_rolled_back_transaction_sends_no_notify(
    things_db: Database, listener: OutboxListener
) -> None:
    async with UnitOfWork(things_db, source=SOURCE, mapper=to_outgoing) as uow:
        uow.record(ThingCreated("thing-1", "SH01", 1))
        await uow.flush_events()

    # Notifications arrive in commit order, so the committed one marks "everything before it".
    async with UnitOfWork(things_db, source=SOURCE, mapper=to_outgoing) as uow:
        uow.record(ThingCreated("thing-2", "SH01", 1))
        await uow.commit()

    assert await listener.next() == OUTBOX_CHANNEL
    assert await listener.nothing_pending()
    assert [r.aggregate_id for r in await outbox_rows(things_db)] == ["thing-2"]
