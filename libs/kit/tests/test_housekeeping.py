"""Retention of the platform tables: only rows past their window go."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, insert, select

from marque_kit.db import Database
from marque_kit.housekeeping import Retention, purge_platform_tables
from marque_kit.tables import idempotency_keys, inbox, outbox


def outbox_row(sent_at: datetime | None) -> dict[str, object]:
    return {
        "event_id": uuid.uuid4(),
        "event_type": "marque.test.v1.Thing",
        "routing_key": "test.thing.done",
        "aggregate_id": "a-1",
        "envelope": {},
        "sent_at": sent_at,
    }


async def test_only_rows_past_retention_are_purged(db: Database) -> None:
    now = datetime.now(UTC)
    old, recent = now - timedelta(days=40), now - timedelta(hours=1)
    async with db.engine.begin() as conn:
        await conn.execute(insert(outbox), [outbox_row(old), outbox_row(recent), outbox_row(None)])
        await conn.execute(
            insert(inbox),
            [
                {"consumer": "c", "event_id": "old", "event_type": "t", "processed_at": old},
                {"consumer": "c", "event_id": "new", "event_type": "t", "processed_at": recent},
            ],
        )
        await conn.execute(
            insert(idempotency_keys),
            [
                {
                    "principal": "p",
                    "key": k,
                    "method": "POST",
                    "path": "/x",
                    "request_hash": "h",
                    "created_at": at,
                }
                for k, at in (("old", old), ("new", recent))
            ],
        )

    deleted = await purge_platform_tables(db, Retention())

    assert deleted == {"outbox": 1, "inbox": 1, "idempotency_keys": 1}
    async with db.engine.connect() as conn:
        pending = await conn.scalar(
            select(func.count()).select_from(outbox).where(outbox.c.sent_at.is_(None))
        )
        left = await conn.scalar(select(func.count()).select_from(outbox))
        inbox_ids = (await conn.execute(select(inbox.c.event_id))).scalars().all()
    assert pending == 1, "an unsent row is never purged, however old"
    assert left == 2
    assert inbox_ids == ["new"]
