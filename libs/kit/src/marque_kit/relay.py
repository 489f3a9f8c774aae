"""The outbox relay (DESIGN.md §5): publishes committed outbox rows, then marks them sent.

A batch is claimed with `FOR UPDATE SKIP LOCKED`, so several replicas can share one database;
it is published with many publisher confirms in flight at once, and the rows are marked sent in
the same transaction. A row whose publish was not confirmed stays pending and goes out again
later: delivery is at-least-once and consumers deduplicate through their inbox.

The relay wakes on `LISTEN marque_outbox` (the outbox trigger notifies at commit) and polls
every `poll_seconds` in case a notification was missed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from contextlib import suppress
from typing import Any

import aio_pika
import asyncpg
import orjson
from aio_pika.abc import AbstractChannel, AbstractExchange
from sqlalchemy import func, select, update
from sqlalchemy.engine import make_url

from marque_kit import metrics
from marque_kit.aio import within_grace
from marque_kit.broker import Broker
from marque_kit.db import Database
from marque_kit.tables import OUTBOX_CHANNEL, outbox

log = logging.getLogger(__name__)

CONTENT_TYPE = "application/cloudevents+json"


class PublishFailed(Exception):
    """Some rows of a batch were not confirmed by the broker; they stay pending."""


class OutboxRelay:
    def __init__(
        self,
        db: Database,
        broker: Broker,
        *,
        service: str,
        batch_size: int = 500,
        poll_seconds: float = 1.0,
        publish_timeout: float = 10.0,
        max_backoff: float = 10.0,
        listen_check_seconds: float = 5.0,
    ) -> None:
        self.db = db
        self.broker = broker
        self.service = service
        self.batch_size = batch_size
        self.poll_seconds = poll_seconds
        self.publish_timeout = publish_timeout
        self.max_backoff = max_backoff
        self.listen_check_seconds = listen_check_seconds
        self._wake = asyncio.Event()
        # Set while the LISTEN connection is up (for readiness checks and tests).
        self.listening = asyncio.Event()
        self._channel: AbstractChannel | None = None
        self._exchange: AbstractExchange | None = None

    def wake(self) -> None:
        """Drain now rather than at the next poll."""
        self._wake.set()

    async def run(self) -> None:
        """Publish until cancelled; publish failures back off and retry, rows are never dropped."""
        listener = asyncio.create_task(self._listen(), name=f"outbox-listen-{self.service}")
        backoff = 0.0
        try:
            while True:
                try:
                    while await self.drain_once() >= self.batch_size:
                        pass
                    backoff = 0.0
                except Exception:
                    metrics.relay_errors.labels(self.service).inc()
                    backoff = min(max(backoff * 2, 0.25), self.max_backoff)
                    log.warning(
                        "outbox relay failed; retrying",
                        exc_info=True,
                        extra={"backoff_seconds": backoff},
                    )
                    await asyncio.sleep(backoff)
                    continue
                with suppress(Exception):
                    await self.observe_backlog()
                with suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.poll_seconds)
                self._wake.clear()
        finally:
            listener.cancel()
            await asyncio.gather(listener, return_exceptions=True)
            await self.close()

    async def close(self) -> None:
        channel, self._channel, self._exchange = self._channel, None, None
        if channel is not None:
            with suppress(Exception):
                await within_grace(channel.close(), self.publish_timeout)

    async def drain_once(self) -> int:
        """Claim, publish and mark one batch; return how many rows were published.

        Raises PublishFailed (after recording attempts) when some rows were not confirmed.
        """
        claim = (
            select(
                outbox.c.position,
                outbox.c.event_id,
                outbox.c.event_type,
                outbox.c.routing_key,
                outbox.c.envelope,
            )
            .where(outbox.c.sent_at.is_(None))
            .order_by(outbox.c.position)
            .limit(self.batch_size)
            .with_for_update(skip_locked=True)
        )
        async with self.db.engine.begin() as conn:
            rows = (await conn.execute(claim)).all()
            if not rows:
                return 0
            sent, error = await self._publish(rows)
            if sent:
                await conn.execute(
                    update(outbox)
                    .where(outbox.c.position.in_([row.position for row in sent]))
                    .values(sent_at=func.now())
                )
        for row in sent:
            metrics.events_published.labels(self.service, row.event_type).inc()
        sent_positions = {row.position for row in sent}
        failed = [row.position for row in rows if row.position not in sent_positions]
        if failed:
            await self._record_failure(failed, error)
            raise PublishFailed(f"{len(failed)} of {len(rows)} outbox rows not confirmed: {error}")
        return len(sent)

    async def observe_backlog(self) -> tuple[int, float]:
        """Set outbox_pending and outbox_lag; return (pending rows, oldest row's age in seconds)."""
        async with self.db.engine.connect() as conn:
            result = await conn.execute(
                select(
                    func.count(),
                    func.coalesce(
                        func.extract("epoch", func.now() - func.min(outbox.c.created_at)), 0
                    ),
                ).where(outbox.c.sent_at.is_(None))
            )
            pending, lag = result.one()
        metrics.outbox_pending.labels(self.service).set(pending)
        metrics.outbox_lag.labels(self.service).set(float(lag))
        return int(pending), float(lag)

    async def _publish(self, rows: Sequence[Any]) -> tuple[list[Any], str]:
        """Publish every row with confirms in flight together; return the confirmed rows."""
        try:
            exchange = await within_grace(self._get_exchange(), self.publish_timeout)
        except Exception as exc:
            return [], _describe(exc)
        tasks = [
            asyncio.ensure_future(
                exchange.publish(_message(row), routing_key=row.routing_key, mandatory=False)
            )
            for row in rows
        ]
        done, pending = await asyncio.wait(tasks, timeout=self.publish_timeout)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        sent: list[Any] = []
        error = "publish confirm timed out" if pending else ""
        for row, task in zip(rows, tasks, strict=True):
            if task in done and task.exception() is None:
                sent.append(row)
            elif task in done:
                error = _describe(task.exception())
        return sent, error

    async def _get_exchange(self) -> AbstractExchange:
        if self._exchange is None or self._channel is None or self._channel.is_closed:
            self._channel = await self.broker.channel(publisher_confirms=True)
            self._exchange = await self.broker.declare_exchange(self.service, self._channel)
        return self._exchange

    async def _record_failure(self, positions: list[int], error: str) -> None:
        try:
            async with self.db.engine.begin() as conn:
                await conn.execute(
                    update(outbox)
                    .where(outbox.c.position.in_(positions))
                    .values(attempts=outbox.c.attempts + 1, last_error=error[:2000])
                )
        except Exception:
            log.warning("could not record outbox publish failure", exc_info=True)

    async def _listen(self) -> None:
        """Hold a LISTEN connection, reconnecting when it breaks; each NOTIFY wakes the relay."""
        dsn = (
            make_url(self.db.url).set(drivername="postgresql").render_as_string(hide_password=False)
        )
        delay = 0.5
        while True:
            conn: asyncpg.Connection | None = None
            try:
                conn = await asyncpg.connect(dsn, timeout=10)
                await conn.add_listener(OUTBOX_CHANNEL, self._on_notify)
                self.listening.set()
                # Rows committed while nobody was listening would otherwise wait for the poll.
                self._wake.set()
                delay = 0.5
                while True:
                    await asyncio.sleep(self.listen_check_seconds)
                    await conn.fetchval("SELECT 1", timeout=self.listen_check_seconds)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError):
                log.warning("outbox LISTEN connection lost; reconnecting", exc_info=True)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.max_backoff)
            finally:
                self.listening.clear()
                if conn is not None:
                    with suppress(Exception):
                        await conn.close(timeout=2)

    def _on_notify(self, *_: object) -> None:
        self._wake.set()


def _message(row: Any) -> aio_pika.Message:
    envelope: dict[str, Any] = row.envelope
    headers: dict[str, Any] = {}
    if envelope.get("traceparent"):
        headers["traceparent"] = envelope["traceparent"]
    return aio_pika.Message(
        body=orjson.dumps(envelope),
        content_type=CONTENT_TYPE,
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        message_id=str(row.event_id),
        type=row.event_type,
        correlation_id=envelope.get("marquecorrelation") or None,
        headers=headers,
    )


def _describe(exc: BaseException | None) -> str:
    return f"{type(exc).__name__}: {exc}" if exc is not None else "unknown error"
