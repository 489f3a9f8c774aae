"""Idempotent event consumers on the inbox table (DESIGN.md §5).

Each message runs its handler in one transaction together with
`INSERT INTO inbox (consumer, event_id, event_type) ON CONFLICT DO NOTHING`; a duplicate inserts
nothing and is acked without running the handler. The message is acked only after the commit.

A handler is `async def handler(session: AsyncSession, envelope: Envelope) -> None`. It must use
the session it is given (that is the inbox transaction) and must not commit it. To emit events
in the same transaction, call `marque_kit.db.write_outbox`:
`await write_outbox(session, [OutgoingEvent(...)], source="marque/<svc>")`; the outbox relay
publishes them after the commit.

Failures:
- an undecodable message, or a handler raising `MalformedEvent` / `InvalidInput`, can never
  succeed: it is parked at once (`<queue>.parked`, header `x-marque-park-reason`);
- any other exception rolls back and the message goes to the next delayed retry queue
  (header `x-marque-retries` counts them); past the last delay it is parked;
- a consumer that dies before acking gets the message redelivered; past the queue's delivery
  limit the broker dead-letters it to the parked queue itself.

Parked messages are counted in `marque_parked_messages` and go back with `replay_parked`.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import suppress
from typing import Any

import aio_pika
from aio_pika.abc import (
    AbstractChannel,
    AbstractIncomingMessage,
    AbstractQueue,
    ConsumerTag,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from marque_kit import metrics
from marque_kit.aio import within_grace
from marque_kit.broker import Broker, Topology
from marque_kit.context import correlation_id_var, traceparent_var
from marque_kit.db import Database
from marque_kit.envelope import Envelope, MalformedEvent
from marque_kit.errors import InvalidInput
from marque_kit.tables import inbox

log = logging.getLogger(__name__)

Handler = Callable[[AsyncSession, Envelope], Awaitable[None]]

RETRIES_HEADER = "x-marque-retries"
# The routing key the producer published with; kept when a message goes through a retry queue,
# where the broker would replace it with the queue's name.
ROUTING_KEY_HEADER = "x-marque-routing-key"
# `handlers["*"]` answers every event type that has no handler of its own.
ANY_TYPE = "*"

_routing_key: contextvars.ContextVar[str] = contextvars.ContextVar("routing_key", default="")


def current_routing_key() -> str:
    """The producer's routing key of the event being handled (`inventory.transfer.shipped`)."""
    return _routing_key.get()


PARK_REASON_HEADER = "x-marque-park-reason"
ERROR_HEADER = "x-marque-error"
# Broker bookkeeping that must not follow a message into another queue.
_DROPPED_HEADERS = {
    "x-death",
    "x-delivery-count",
    "x-first-death-exchange",
    "x-first-death-queue",
    "x-first-death-reason",
}


class Consumer:
    """Consumes `<consumer>.from.<producer>`; `await start()` at startup, `await stop()` at the end.

    `handlers` maps a CloudEvents type (`marque.inventory.v1.VehicleReserved`) to its handler, and
    `"*"` to a handler for every other type; `bindings` are the routing-key patterns to bind
    (`inventory.vehicle.*`). A message whose type has no handler is acked and counted as
    `ignored`. Inside a handler, `current_routing_key()` is the key the producer published with.
    """

    def __init__(
        self,
        db: Database,
        broker: Broker,
        *,
        service: str,
        consumer: str,
        producer: str,
        handlers: Mapping[str, Handler],
        bindings: Sequence[str],
        prefetch: int | None = None,
        parked_poll_seconds: float = 15.0,
    ) -> None:
        self.db = db
        self.broker = broker
        self.service = service
        self.consumer = consumer
        self.producer = producer
        self.handlers = dict(handlers)
        self.bindings = list(bindings)
        self.prefetch = prefetch or broker.prefetch
        self.parked_poll_seconds = parked_poll_seconds
        self.topology: Topology = broker.topology(consumer, producer)
        self._channel: AbstractChannel | None = None
        self._publisher: AbstractChannel | None = None
        self._queue: AbstractQueue | None = None
        self._tag: ConsumerTag | None = None
        self._inflight: set[asyncio.Task[Any]] = set()
        self._gauge_task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.topology = await self.broker.declare_consumer_topology(
            self.consumer, self.producer, self.bindings
        )
        self._publisher = await self.broker.channel(publisher_confirms=True, on_return_raises=True)
        self._channel = await self.broker.channel(publisher_confirms=False)
        await self._channel.set_qos(prefetch_count=self.prefetch)
        self._queue = await self._channel.declare_queue(self.topology.queue, passive=True)
        self._tag = await self._queue.consume(self._on_message)
        self._gauge_task = asyncio.create_task(
            self._watch_parked(), name=f"parked-gauge-{self.topology.queue}"
        )

    async def stop(self, grace_seconds: float = 10.0) -> None:
        """Stop taking messages, let the ones in hand finish, close the channels."""
        if self._queue is not None and self._tag is not None:
            with suppress(Exception):
                await within_grace(self._queue.cancel(self._tag), grace_seconds)
        self._tag = None
        if self._inflight:
            await asyncio.wait(set(self._inflight), timeout=grace_seconds)
        if self._gauge_task is not None:
            self._gauge_task.cancel()
            await asyncio.gather(self._gauge_task, return_exceptions=True)
            self._gauge_task = None
        for channel in (self._channel, self._publisher):
            if channel is not None:
                with suppress(Exception):
                    await within_grace(channel.close(), grace_seconds)
        self._channel = self._publisher = self._queue = None

    async def refresh_parked_gauge(self) -> int:
        depth = await self.broker.queue_depth(self.topology.parked_queue)
        metrics.parked_messages.labels(self.service, self.topology.parked_queue).set(depth)
        return depth

    async def _watch_parked(self) -> None:
        while True:
            try:
                await self.refresh_parked_gauge()
            except Exception:
                log.debug("could not read the parked queue depth", exc_info=True)
            await asyncio.sleep(self.parked_poll_seconds)

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._inflight.add(task)
        try:
            await self._handle(message)
        except Exception:
            # The message stays unacked; the broker redelivers it when the channel goes away.
            log.exception(
                "event handling failed unexpectedly", extra={"queue": self.topology.queue}
            )
        finally:
            if task is not None:
                self._inflight.discard(task)

    async def _handle(self, message: AbstractIncomingMessage) -> None:
        try:
            envelope = Envelope.from_json(message.body)
        except MalformedEvent as exc:
            await self._park(message, "malformed", str(exc))
            return
        handler = self.handlers.get(envelope.type) or self.handlers.get(ANY_TYPE)
        if handler is None:
            metrics.events_consumed.labels(
                self.service, self.consumer, envelope.type, "ignored"
            ).inc()
            await _settle(message.ack())
            return
        corr = correlation_id_var.set(envelope.correlation or None)
        trace = traceparent_var.set(envelope.traceparent or None)
        key = _routing_key.set(_original_routing_key(message))
        try:
            outcome = await self._apply(handler, envelope)
        except MalformedEvent as exc:
            await self._park(message, "malformed", str(exc), envelope)
            return
        except InvalidInput as exc:
            await self._park(message, "invalid", str(exc), envelope)
            return
        except Exception as exc:
            log.warning(
                "event handler failed; will retry",
                exc_info=True,
                extra={"event_id": envelope.id, "event_type": envelope.type},
            )
            await self._retry(message, envelope, exc)
            return
        finally:
            correlation_id_var.reset(corr)
            traceparent_var.reset(trace)
            _routing_key.reset(key)
        metrics.events_consumed.labels(self.service, self.consumer, envelope.type, outcome).inc()
        await _settle(message.ack())

    async def _apply(self, handler: Handler, envelope: Envelope) -> str:
        """Run the handler in one transaction with the inbox row; 'duplicate' if already done."""
        claim = (
            pg_insert(inbox)
            .values(consumer=self.consumer, event_id=envelope.id, event_type=envelope.type)
            .on_conflict_do_nothing()
            .returning(inbox.c.event_id)
        )
        async with self.db.session() as session, session.begin():
            if (await session.execute(claim)).first() is None:
                return "duplicate"
            await handler(session, envelope)
        return "processed"

    async def _retry(
        self, message: AbstractIncomingMessage, envelope: Envelope, exc: Exception
    ) -> None:
        retries = _retries(message)
        target = self.topology.retry_queue(retries)
        if target is None:
            await self._park(message, "retries-exhausted", _describe(exc), envelope)
            return
        headers = {RETRIES_HEADER: retries + 1, ERROR_HEADER: _describe(exc)}
        if await self._forward(message, target, headers):
            metrics.events_retried.labels(self.service, self.consumer, envelope.type).inc()

    async def _park(
        self,
        message: AbstractIncomingMessage,
        reason: str,
        detail: str,
        envelope: Envelope | None = None,
    ) -> None:
        log.warning(
            "event parked",
            extra={
                "reason": reason,
                "detail": detail[:500],
                "queue": self.topology.parked_queue,
                "event_id": envelope.id if envelope else message.message_id,
            },
        )
        headers = {PARK_REASON_HEADER: reason, ERROR_HEADER: detail[:500]}
        if await self._forward(message, self.topology.parked_queue, headers):
            metrics.events_parked.labels(self.service, self.consumer, reason).inc()

    async def _forward(
        self, message: AbstractIncomingMessage, queue: str, headers: dict[str, Any]
    ) -> bool:
        """Copy the message to `queue`, and ack the original only once the copy is confirmed."""
        if self._publisher is None:
            raise RuntimeError("Consumer.start() has not been awaited")
        try:
            headers = {ROUTING_KEY_HEADER: _original_routing_key(message), **headers}
            await self._publisher.default_exchange.publish(
                _copy(message, headers), routing_key=queue, timeout=30
            )
        except Exception:
            log.warning(
                "could not forward event; requeueing it", exc_info=True, extra={"queue": queue}
            )
            # Requeued, it counts towards the delivery limit, past which the broker parks it.
            await _settle(message.nack(requeue=True))
            return False
        await _settle(message.ack())
        return True


async def replay_parked(
    broker: Broker, consumer: str, producer: str, *, limit: int | None = None
) -> int:
    """Move parked messages back to the main queue, retry count reset; return how many moved."""
    topo = broker.topology(consumer, producer)
    return await move_messages(broker, topo.parked_queue, topo.queue, limit=limit)


async def replay_parked_cli(
    amqp_url: str, namespace: str, queue: str, *, limit: int | None = None
) -> int:
    """For `marque replay-parked <consumer>.from.<producer>`: its own connection, then closed."""
    broker = Broker(amqp_url, namespace)
    await broker.connect()
    try:
        main = f"{namespace}{queue}"
        return await move_messages(broker, f"{main}.parked", main, limit=limit)
    finally:
        await broker.close()


async def move_messages(
    broker: Broker, source: str, target: str, *, limit: int | None = None
) -> int:
    """Move up to `limit` messages (default: those present now) from `source` to `target`.

    Each one is acked in `source` only after the broker confirmed it in `target`.
    """
    channel = await broker.channel(publisher_confirms=True, on_return_raises=True)
    moved = 0
    try:
        queue = await channel.declare_queue(source, passive=True)
        # Only what is there now, so that a message that parks again at once cannot loop forever.
        budget = queue.declaration_result.message_count or 0
        if limit is not None:
            budget = min(budget, limit)
        while moved < budget:
            message = await queue.get(no_ack=False, fail=False, timeout=30)
            if message is None:
                break
            await channel.default_exchange.publish(
                _copy(message, {}, reset=True), routing_key=target, timeout=30
            )
            await message.ack()
            moved += 1
    finally:
        with suppress(Exception):
            await channel.close()
    return moved


def _copy(
    message: AbstractIncomingMessage, headers: dict[str, Any], *, reset: bool = False
) -> aio_pika.Message:
    kept = {k: v for k, v in (message.headers or {}).items() if k not in _DROPPED_HEADERS}
    if reset:
        for key in (RETRIES_HEADER, PARK_REASON_HEADER, ERROR_HEADER):
            kept.pop(key, None)
    return aio_pika.Message(
        body=message.body,
        headers={**kept, **headers},
        content_type=message.content_type,
        content_encoding=message.content_encoding,
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        message_id=message.message_id,
        correlation_id=message.correlation_id,
        type=message.type,
        app_id=message.app_id,
        timestamp=message.timestamp,
    )


def _original_routing_key(message: AbstractIncomingMessage) -> str:
    return str((message.headers or {}).get(ROUTING_KEY_HEADER) or message.routing_key or "")


def _retries(message: AbstractIncomingMessage) -> int:
    value: Any = (message.headers or {}).get(RETRIES_HEADER, 0)
    try:
        return max(int(value), 0)
    except (TypeError, ValueError):
        return 0


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:500]


async def _settle(outcome: Awaitable[None]) -> None:
    """Ack or nack; on a dead channel the broker redelivers, and the inbox absorbs the repeat."""
    try:
        await outcome
    except Exception:
        log.warning("could not settle message; it will be redelivered", exc_info=True)
