"""Async SQLAlchemy/SQLModel engine per app, and the unit of work.

The unit of work is one transaction per command (eShop's TransactionBehavior): the domain change
and the outbox rows for the events it caused commit together, or not at all.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Protocol, Self

from google.protobuf.message import Message
from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from marque_kit.aio import within_grace
from marque_kit.envelope import Envelope, wrap
from marque_kit.tables import outbox

log = logging.getLogger(__name__)


class Database:
    """One engine and session factory per app instance; nothing is built at import time."""

    def __init__(self, url: str, *, pool_size: int = 10, echo: bool = False) -> None:
        self.url = url
        self.engine: AsyncEngine = create_async_engine(
            url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True, echo=echo
        )
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    def session(self) -> AsyncSession:
        return self.sessions()

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self, grace: float = 10.0) -> None:
        """Close the pool's connections. Bounded: a connection stuck in a cancelled query must not
        hold shutdown (or a test's teardown) forever; after `grace` seconds it is left behind."""
        try:
            await within_grace(self.engine.dispose(), grace)
        except TimeoutError:
            log.warning("database pool did not close in time", extra={"grace_seconds": grace})


@dataclass(frozen=True)
class OutgoingEvent:
    """An event on its way to the outbox: the proto message plus where it goes."""

    message: Message
    routing_key: str
    subject: str
    store_id: str = ""
    seq: int = 0


class HasEvents(Protocol):
    def pull_events(self) -> list[Any]: ...


EventMapper = Callable[[Any], OutgoingEvent]


class UnitOfWork:
    """`async with UnitOfWork(db, source=..., mapper=...) as uow:` ... `await uow.commit()`.

    Domain events are collected with `collect(aggregate)` or `record(event)`; the service's
    `events.py` mapper turns each into an `OutgoingEvent`. They are written to the outbox in the
    same transaction as the change. Leaving the block without commit rolls everything back.
    """

    def __init__(self, db: Database, *, source: str, mapper: EventMapper | None = None) -> None:
        self.db = db
        self.source = source
        self.mapper = mapper
        self._pending: list[OutgoingEvent] = []
        self.published: list[Envelope] = []
        self.session: AsyncSession

    async def __aenter__(self) -> Self:
        self.session = self.db.session()
        await self.session.begin()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.session.in_transaction():
            await self.session.rollback()
        await self.session.close()

    def record(self, *events: Any) -> None:
        for event in events:
            if isinstance(event, OutgoingEvent):
                self._pending.append(event)
            else:
                if self.mapper is None:
                    raise TypeError("UnitOfWork has no event mapper for domain events")
                self._pending.append(self.mapper(event))

    def collect(self, *aggregates: HasEvents) -> None:
        for aggregate in aggregates:
            self.record(*aggregate.pull_events())

    def extend(self, events: Iterable[Any]) -> None:
        self.record(*events)

    async def flush_events(self) -> list[Envelope]:
        """Write pending events to the outbox (inside the open transaction)."""
        envelopes = await write_outbox(self.session, self._pending, source=self.source)
        self._pending.clear()
        self.published.extend(envelopes)
        return envelopes

    async def commit(self) -> None:
        await self.flush_events()
        await self.session.commit()

    async def rollback(self) -> None:
        self._pending.clear()
        await self.session.rollback()


async def write_outbox(
    session: AsyncSession, events: Iterable[OutgoingEvent], *, source: str
) -> list[Envelope]:
    rows = []
    envelopes = []
    for event in events:
        env = wrap(
            event.message,
            source=source,
            subject=event.subject,
            store=event.store_id,
            seq=event.seq,
        )
        envelopes.append(env)
        rows.append(
            {
                "event_id": uuid.UUID(env.id),
                "event_type": env.type,
                "routing_key": event.routing_key,
                "aggregate_id": event.subject,
                "store_id": event.store_id,
                "seq": event.seq,
                "envelope": env.to_dict(),
            }
        )
    if rows:
        await session.execute(insert(outbox), rows)
    return envelopes


class QuietUnitOfWork(UnitOfWork):
    """For demo seeds: demo data is reference state (decision 0006), so nothing it does is
    announced. Recorded events are dropped, and outbox rows this transaction wrote itself (a
    service door that writes its own) are deleted before it commits."""

    def record(self, *events: Any) -> None:
        return None

    async def commit(self) -> None:
        await self.session.execute(
            text("DELETE FROM outbox WHERE txid = txid_current() AND sent_at IS NULL")
        )
        await super().commit()
