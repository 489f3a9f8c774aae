"""Publishing raw events to a producer's exchange in tests, as that producer's relay would, and
waiting until a consumer listens (so nothing published afterwards is lost), and tapping what a
service publishes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson
from aio_pika.abc import AbstractIncomingMessage, AbstractQueue

from marque_kit.broker import Broker


class EventBus:
    """Publishes raw messages to a producer's exchange of this run, as a producer's relay does."""

    def __init__(self, broker: Any) -> None:
        self.broker = broker

    async def wait_for_intake(
        self, producer: str, within: float = 30.0, consumer: str = "gateway"
    ) -> None:
        """Until someone consumes `<consumer>.from.<producer>` (bound, so nothing published from
        now on is lost)."""
        from contextlib import suppress

        import aio_pika

        queue = self.broker.queue_name(consumer, producer)
        deadline = asyncio.get_running_loop().time() + within
        while True:
            channel = await self.broker.channel(publisher_confirms=False)
            try:
                declared = await channel.declare_queue(queue, passive=True)
                if (declared.declaration_result.consumer_count or 0) > 0:
                    return
            except aio_pika.exceptions.ChannelNotFoundEntity:
                pass
            finally:
                with suppress(Exception):
                    await channel.close()
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"nobody consumes {queue}")
            await asyncio.sleep(0.1)

    async def publish(self, producer: str, routing_key: str, body: bytes) -> None:
        import aio_pika

        channel = await self.broker.channel(publisher_confirms=True)
        try:
            exchange = await self.broker.declare_exchange(producer, channel)
            await exchange.publish(
                aio_pika.Message(
                    body,
                    content_type="application/cloudevents+json",
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                ),
                routing_key=routing_key,
            )
        finally:
            await channel.close()


@asynccontextmanager
async def tapped(broker: Broker, producer: str, routing_key: str) -> AsyncIterator[AbstractQueue]:
    """A private queue bound to `producer`'s exchange of this run for `routing_key` (a topic
    pattern), for tests that check what a service really published."""
    await broker.connect()
    channel = await broker.channel(publisher_confirms=False)
    try:
        exchange = await broker.declare_exchange(producer, channel)
        queue = await channel.declare_queue(exclusive=True, auto_delete=True)
        await queue.bind(exchange, routing_key=routing_key)
        yield queue
    finally:
        await channel.close()
        await broker.close()


async def next_about(
    queue: AbstractQueue, subject: str, within: float = 60.0
) -> AbstractIncomingMessage:
    """The next message on `queue` whose envelope is about `subject` (others are dropped)."""
    async with asyncio.timeout(within):
        while True:
            message = await queue.get(no_ack=True, fail=False)
            if message is None:
                await asyncio.sleep(0.05)
                continue
            if orjson.loads(message.body)["subject"] == subject:
                return message
