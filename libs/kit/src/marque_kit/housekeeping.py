"""Retention for the platform tables: sent outbox rows, inbox ids and idempotency keys.

Without it those tables only grow. Each window is longer than any retry that could still need the
row: a redelivery after the inbox window would be applied again, so keep it generous.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete

from marque_kit.db import Database
from marque_kit.tables import idempotency_keys, inbox, outbox

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Retention:
    sent_outbox: timedelta = timedelta(days=7)
    inbox: timedelta = timedelta(days=30)
    idempotency_keys: timedelta = timedelta(days=7)


async def purge_platform_tables(
    db: Database, retention: Retention, *, now: datetime | None = None
) -> dict[str, int]:
    """Delete what is past its retention window; returns rows deleted per table."""
    now = now or datetime.now(UTC)
    statements = {
        "outbox": delete(outbox).where(
            outbox.c.sent_at.is_not(None), outbox.c.sent_at < now - retention.sent_outbox
        ),
        "inbox": delete(inbox).where(inbox.c.processed_at < now - retention.inbox),
        "idempotency_keys": delete(idempotency_keys).where(
            idempotency_keys.c.created_at < now - retention.idempotency_keys
        ),
    }
    deleted: dict[str, int] = {}
    async with db.engine.begin() as conn:
        for table, statement in statements.items():
            result = await conn.execute(statement)
            deleted[table] = int(getattr(result, "rowcount", 0) or 0)
    return deleted


def housekeeping_job(
    db: Database, retention: Retention, every_seconds: float = 3600.0
) -> Callable[[], Awaitable[None]]:
    async def loop() -> None:
        while True:
            deleted = await purge_platform_tables(db, retention)
            if any(deleted.values()):
                log.info("purged platform tables", extra={"deleted": deleted})
            await asyncio.sleep(every_seconds)

    return loop
