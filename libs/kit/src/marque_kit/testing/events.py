"""Publishing raw events to a producer's exchange in tests, as that producer's relay would, and
waiting until a consumer listens (so nothing published afterwards is lost)."""

from __future__ import annotations

import asyncio
from typing import Any


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
