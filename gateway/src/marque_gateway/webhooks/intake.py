"""Intake: the `gateway` consumer turns each forwarded event into deliveries (one per matching
active subscription), inside its inbox transaction. Nothing is sent here; the deliverer does that.

One queue per producer in `settings.webhook_sources` (`gateway.from.<producer>`), bound to `#`.
Subscriptions match on the routing key the producer published with, which the kit's consumer
keeps through retries (`current_routing_key()`).
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from marque_gateway.domain.webhooks import DeliveryStatus, receives
from marque_gateway.gateway import Gateway
from marque_gateway.models import WebhookDelivery, WebhookSubscription
from marque_kit.broker import Broker
from marque_kit.consumer import ANY_TYPE, Consumer, current_routing_key
from marque_kit.envelope import Envelope, MalformedEvent

CONSUMER = "gateway"

deliveries = WebhookDelivery.__table__  # type: ignore[attr-defined]


def webhook_consumers(gateway: Gateway, broker: Broker) -> list[Consumer]:
    """One intake consumer per producer whose events partners may receive."""
    return [
        Consumer(
            gateway.db,
            broker,
            service="gateway",
            consumer=CONSUMER,
            producer=producer,
            handlers={ANY_TYPE: intake_for(gateway)},
            bindings=["#"],
        )
        for producer in gateway.settings.webhook_sources
    ]


def intake_for(gateway: Gateway) -> Any:
    async def intake(session: AsyncSession, envelope: Envelope) -> None:
        routing_key = current_routing_key()
        if not routing_key or routing_key.startswith(gateway.settings.amqp_namespace + CONSUMER):
            raise MalformedEvent(f"Event {envelope.id} arrived without its routing key.")
        await record_deliveries(
            session,
            envelope,
            routing_key=routing_key,
            settle_seconds=gateway.settings.webhook_settle_seconds,
        )

    return intake


async def record_deliveries(
    session: AsyncSession, envelope: Envelope, *, routing_key: str, settle_seconds: float
) -> int:
    """One pending delivery per active subscription that receives the event; a repeat of the
    same event for the same subscription adds nothing. Returns how many subscriptions match."""
    subscriptions = (
        await session.execute(
            select(
                col(WebhookSubscription.id),
                col(WebhookSubscription.event_types),
                col(WebhookSubscription.stores),
            ).where(col(WebhookSubscription.active).is_(True))
        )
    ).all()
    matching = [
        sub_id
        for sub_id, event_types, stores in subscriptions
        if receives(
            event_types=event_types,
            stores=stores,
            routing_key=routing_key,
            store_id=envelope.store,
        )
    ]
    if matching:
        # Waiting `settle_seconds` lets events of one subject that arrive close together all be
        # recorded before any goes out, so that they go out in seq order.
        due = func.now() + timedelta(seconds=settle_seconds)
        await session.execute(
            pg_insert(deliveries)
            .values([delivery_row(sub_id, envelope, routing_key, due) for sub_id in matching])
            .on_conflict_do_nothing(constraint="webhook_deliveries_once")
        )
    return len(matching)


def delivery_row(
    subscription_id: str, envelope: Envelope, routing_key: str, due: Any
) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "subscription_id": subscription_id,
        "event_id": envelope.id[:100],
        "event_type": envelope.type[:200],
        "routing_key": routing_key[:200],
        "subject": envelope.subject[:200],
        "store_id": envelope.store[:40],
        "seq": envelope.seq,
        "envelope": envelope.to_dict(),
        "status": DeliveryStatus.PENDING.value,
        "attempts": 0,
        "next_attempt_at": due,
    }
