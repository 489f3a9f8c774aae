"""RabbitMQ connection and topology (DESIGN.md §5).

Names, with `ns` the run's namespace (empty in production):
- `ns marque.<producer>`: the producer's durable topic exchange;
- `ns <consumer>.from.<producer>`: the consumer's durable quorum queue, bound with its patterns;
- `<queue>.retry.<n>` (n = 1..len(retry_delays)): quorum queues whose TTL dead-letters back to
  the main queue through the default exchange;
- `<queue>.parked`: where a message goes when it can never be handled, or has used up its
  retries or its delivery limit (through the per-consumer DLX `ns <consumer>.dlx`).
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from collections.abc import Iterable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from typing import Any, Literal

import aio_pika
from aio_pika.abc import (
    AbstractChannel,
    AbstractExchange,
    AbstractRobustConnection,
    ExchangeType,
)

from marque_kit.errors import Unavailable
from marque_kit.settings import ServiceSettings

# Quorum queues on 3.10 need these spelled out for at-least-once dead-lettering (DESIGN.md §5).
_QUORUM: dict[str, Any] = {
    "x-queue-type": "quorum",
    "x-dead-letter-strategy": "at-least-once",
    "x-overflow": "reject-publish",
}


@dataclass(frozen=True)
class Topology:
    """The broker names one consumer uses for one producer."""

    exchange: str
    queue: str
    retry_queues: tuple[str, ...]
    parked_queue: str
    dead_letter_exchange: str

    def retry_queue(self, retries_so_far: int) -> str | None:
        """The queue for the next retry, or None once every delay has been used."""
        if retries_so_far < len(self.retry_queues):
            return self.retry_queues[retries_so_far]
        return None


class Broker:
    """One robust aio-pika connection per app; `connect()` before use, `close()` at shutdown."""

    def __init__(
        self,
        url: str,
        namespace: str = "",
        *,
        delivery_limit: int = 20,
        retry_delays: Sequence[float] = (1.0, 5.0, 30.0),
        prefetch: int = 64,
        reconnect_interval: float = 1.0,
    ) -> None:
        self.url = url
        self.namespace = namespace
        self.delivery_limit = delivery_limit
        self.retry_delays = tuple(retry_delays)
        self.prefetch = prefetch
        self.reconnect_interval = reconnect_interval
        self._connection: AbstractRobustConnection | None = None
        self._connect_lock: asyncio.Lock | None = None

    @classmethod
    async def connect_from(cls, settings: ServiceSettings) -> Broker:
        broker = cls.from_settings(settings)
        await broker.connect()
        return broker

    @classmethod
    def from_settings(cls, settings: ServiceSettings) -> Broker:
        return cls(
            settings.amqp_url,
            settings.amqp_namespace,
            delivery_limit=settings.delivery_limit,
            retry_delays=settings.retry_delays,
            prefetch=settings.consumer_prefetch,
        )

    async def connect(self) -> None:
        """Connect once; concurrent callers (relay, consumers) wait for the same connection."""
        if self._connect_lock is None:
            self._connect_lock = asyncio.Lock()
        async with self._connect_lock:
            if self._connection is None:
                self._connection = await aio_pika.connect_robust(
                    self.url, reconnect_interval=self.reconnect_interval
                )

    async def close(self) -> None:
        if self._connection is not None:
            await self._connection.close()
            self._connection = None

    @property
    def connection(self) -> AbstractRobustConnection:
        if self._connection is None:
            raise RuntimeError("Broker.connect() has not been awaited")
        return self._connection

    @property
    def is_connected(self) -> bool:
        conn = self._connection
        return conn is not None and not conn.is_closed and conn.connected.is_set()

    async def ping(self) -> None:
        """For /readyz: raise Unavailable while the connection is down (it reconnects itself)."""
        if not self.is_connected:
            raise Unavailable("The message broker is not reachable.")

    async def channel(
        self, *, publisher_confirms: bool = True, on_return_raises: bool = False
    ) -> AbstractChannel:
        """A robust channel: after a reconnect it reopens and redeclares what it declared."""
        return await self.connection.channel(
            publisher_confirms=publisher_confirms, on_return_raises=on_return_raises
        )

    def exchange_name(self, producer: str) -> str:
        return f"{self.namespace}marque.{producer}"

    def queue_name(self, consumer: str, producer: str) -> str:
        return f"{self.namespace}{consumer}.from.{producer}"

    def topology(self, consumer: str, producer: str) -> Topology:
        queue = self.queue_name(consumer, producer)
        return Topology(
            exchange=self.exchange_name(producer),
            queue=queue,
            retry_queues=tuple(f"{queue}.retry.{n}" for n in range(1, len(self.retry_delays) + 1)),
            parked_queue=f"{queue}.parked",
            dead_letter_exchange=f"{self.namespace}{consumer}.dlx",
        )

    async def declare_exchange(
        self, producer: str, channel: AbstractChannel | None = None
    ) -> AbstractExchange:
        """The producer's durable topic exchange (declaring it again is harmless)."""
        ch = channel or await self.channel()
        return await ch.declare_exchange(
            self.exchange_name(producer), ExchangeType.TOPIC, durable=True
        )

    async def declare_consumer_topology(
        self, consumer: str, producer: str, bindings: Sequence[str]
    ) -> Topology:
        """Declare exchange, DLX, main, retry and parked queues, and bind the main queue."""
        topo = self.topology(consumer, producer)
        channel = await self.channel(publisher_confirms=False)
        try:
            exchange = await self.declare_exchange(producer, channel)
            dlx = await channel.declare_exchange(
                topo.dead_letter_exchange, ExchangeType.DIRECT, durable=True
            )
            parked = await channel.declare_queue(
                topo.parked_queue, durable=True, arguments={"x-queue-type": "quorum"}
            )
            await parked.bind(dlx, routing_key=topo.queue)
            main = await channel.declare_queue(
                topo.queue,
                durable=True,
                arguments={
                    **_QUORUM,
                    "x-delivery-limit": self.delivery_limit,
                    "x-dead-letter-exchange": topo.dead_letter_exchange,
                    "x-dead-letter-routing-key": topo.queue,
                },
            )
            for pattern in bindings:
                await main.bind(exchange, routing_key=pattern)
            for name, delay in zip(topo.retry_queues, self.retry_delays, strict=True):
                await channel.declare_queue(
                    name,
                    durable=True,
                    arguments={
                        **_QUORUM,
                        "x-message-ttl": int(delay * 1000),
                        "x-dead-letter-exchange": "",
                        "x-dead-letter-routing-key": topo.queue,
                    },
                )
        finally:
            await channel.close()
        return topo

    async def parked_count(self, consumer: str, producer: str) -> int:
        """Messages waiting in the parked queue (a passive declare; 0 if it does not exist yet)."""
        return await self.queue_depth(self.topology(consumer, producer).parked_queue)

    async def queue_depth(self, queue: str) -> int:
        channel = await self.channel(publisher_confirms=False)
        try:
            declared = await channel.declare_queue(queue, passive=True)
        except aio_pika.exceptions.ChannelNotFoundEntity:
            return 0
        finally:
            # A 404 closes the channel on the server side; closing it again is harmless.
            with suppress(Exception):
                await channel.close()
        return declared.declaration_result.message_count or 0


def list_broker_names(kind: Literal["queues", "exchanges"], prefix: str) -> list[str]:
    """Queue or exchange names under `prefix`, read with rabbitmqctl when it is at hand (there is
    no listing over AMQP); empty when it is not."""
    ctl = shutil.which("rabbitmqctl")
    if not ctl:
        return []
    try:
        out = subprocess.run(
            [ctl, "-q", f"list_{kind}", "name"], capture_output=True, text=True, timeout=30
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return []
    return [n.strip() for n in out.splitlines() if n.strip().startswith(prefix)]


async def delete_broker_names(
    amqp_url: str, *, queues: Iterable[str] = (), exchanges: Iterable[str] = ()
) -> None:
    """Delete queues and exchanges (test runs and benchmarks clean up their own names)."""
    queues, exchanges = sorted(set(queues)), sorted(set(exchanges))
    if not queues and not exchanges:
        return
    conn = await aio_pika.connect(amqp_url)
    async with conn:
        for kind, names in (("queue", queues), ("exchange", exchanges)):
            for name in names:
                # A failed delete closes the channel, so each name gets its own.
                channel = await conn.channel()
                with suppress(aio_pika.exceptions.AMQPError):
                    if kind == "queue":
                        await channel.queue_delete(name)
                    else:
                        await channel.exchange_delete(name)
                with suppress(Exception):
                    await channel.close()
