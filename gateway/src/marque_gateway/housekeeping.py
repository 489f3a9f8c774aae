"""Retention for the gateway's own tables, hourly beside the kit's platform housekeeping:
stored idempotent answers (`MARQUE_GATEWAY_IDEMPOTENCY_KEY_RETENTION_DAYS`, default 7) and
finished webhook deliveries with their attempts (`..._WEBHOOK_DELIVERY_RETENTION_DAYS`, 30).
The audit log is never purged: it is append-only by design (and by trigger)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlmodel import col

from marque_gateway.edge.idempotency import purge as purge_idempotent_answers
from marque_gateway.gateway import Gateway
from marque_gateway.models import WebhookAttempt, WebhookDelivery

log = logging.getLogger(__name__)

FINISHED = ("succeeded", "failed")


async def purge_finished_deliveries(gateway: Gateway, *, older_than: timedelta) -> int:
    cutoff = datetime.now(UTC) - older_than
    old = select(col(WebhookDelivery.id)).where(
        col(WebhookDelivery.status).in_(FINISHED), col(WebhookDelivery.created_at) < cutoff
    )
    async with gateway.db.session() as session, session.begin():
        await session.execute(
            delete(WebhookAttempt).where(col(WebhookAttempt.delivery_id).in_(old))
        )
        result = await session.execute(
            delete(WebhookDelivery).where(col(WebhookDelivery.id).in_(old))
        )
    return int(getattr(result, "rowcount", 0) or 0)


async def purge_once(gateway: Gateway) -> dict[str, int]:
    settings = gateway.settings
    day = timedelta(days=1)
    return {
        "gateway_idempotency": await purge_idempotent_answers(
            gateway.db, older_than=day * settings.idempotency_key_retention_days
        ),
        "webhook_deliveries": await purge_finished_deliveries(
            gateway, older_than=day * settings.webhook_delivery_retention_days
        ),
    }


def gateway_housekeeping(
    gateway: Gateway, every_seconds: float = 3600.0
) -> Callable[[], Awaitable[None]]:
    async def loop() -> None:
        while True:
            deleted = await purge_once(gateway)
            if any(deleted.values()):
                log.info("purged gateway tables", extra={"deleted": deleted})
            await asyncio.sleep(every_seconds)

    return loop
