"""The gateway's hourly retention: old idempotent answers and finished webhook deliveries go;
pending deliveries and the audit log stay."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from fastapi import FastAPI
from sqlalchemy import func, select
from sqlmodel import col

from marque_gateway.housekeeping import purge_finished_deliveries
from marque_gateway.models import WebhookAttempt, WebhookDelivery, WebhookSubscription


async def test_finished_deliveries_past_retention_go_with_their_attempts(
    gateway_app: FastAPI,
) -> None:
    gateway = gateway_app.state.gateway
    sub_id = uuid.uuid4().hex
    long_ago = datetime.now(UTC) - timedelta(days=40)
    rows = {
        "old-done": ("succeeded", long_ago),
        "old-failed": ("failed", long_ago),
        "old-pending": ("pending", long_ago),
        "new-done": ("succeeded", datetime.now(UTC)),
    }
    async with gateway.db.session() as session, session.begin():
        session.add(
            WebhookSubscription(
                id=sub_id,
                partner="retention-test",
                url="http://127.0.0.1:9/hook",
                event_types=["inventory.*"],
                stores=["SH01"],
                secret_encrypted=b"x",
            )
        )
        await session.flush()
        for name, (status, created) in rows.items():
            session.add(
                WebhookDelivery(
                    id=f"{sub_id[:8]}-{name}",
                    subscription_id=sub_id,
                    event_id=f"{sub_id}-{name}",
                    event_type="marque.inventory.v1.VehicleArrived",
                    routing_key="inventory.vehicle.arrived",
                    envelope={},
                    status=status,
                    created_at=created,
                )
            )
        await session.flush()
        session.add(WebhookAttempt(delivery_id=f"{sub_id[:8]}-old-done", status_code=200))

    deleted = await purge_finished_deliveries(gateway, older_than=timedelta(days=30))

    assert deleted == 2
    async with gateway.db.session() as session:
        left = set(
            (
                await session.execute(
                    select(col(WebhookDelivery.id)).where(
                        col(WebhookDelivery.subscription_id) == sub_id
                    )
                )
            ).scalars()
        )
        attempts = await session.scalar(
            select(func.count()).where(col(WebhookAttempt.delivery_id).like(f"{sub_id[:8]}%"))
        )
    assert left == {f"{sub_id[:8]}-old-pending", f"{sub_id[:8]}-new-done"}
    assert attempts == 0
