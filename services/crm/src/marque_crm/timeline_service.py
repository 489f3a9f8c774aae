"""A customer's timeline (客户动态): the append-only record of calls, visits, WeChat messages,
notes and system events (quote sent, order signed, serviced…).

Every part of CRM writes through `append` in its own transaction:

    await timeline_service.append(
        session, crm, customer_id=lead.customer_id, store_id=lead.store_id, kind="system",
        summary="Quote Q-SH01-0042 sent", actor=principal.subject, ref="quote:Q-SH01-0042",
    )

Rows are never updated or deleted (a database trigger refuses it). When two customers are merged
nothing is rewritten: the survivor's timeline reads every record merged into it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from marque_crm.domain.customers import FUTURE_SKEW, check_timeline_entry
from marque_crm.models import TimelineEntry
from marque_crm.models.customers import lineage_ids
from marque_crm.unit_of_work import Crm
from marque_kit.errors import InvalidInput

MAX_ACTOR = 120
MAX_REF = 200


async def append(
    session: AsyncSession,
    crm: Crm,
    *,
    customer_id: str,
    store_id: str,
    kind: str,
    summary: str,
    actor: str,
    at: datetime | None = None,
    ref: str = "",
) -> None:
    """Add one entry to the customer's timeline (kind: call | visit | wechat | note | system)."""
    await append_entry(
        session,
        crm,
        customer_id=customer_id,
        store_id=store_id,
        kind=kind,
        summary=summary,
        actor=actor,
        at=at,
        ref=ref,
        by_staff=False,
    )


async def append_entry(
    session: AsyncSession,
    crm: Crm,
    *,
    customer_id: str,
    store_id: str,
    kind: str,
    summary: str,
    actor: str,
    at: datetime | None = None,
    ref: str = "",
    by_staff: bool,
) -> TimelineEntry:
    """`append`, returning the row; `by_staff` entries may not be `system` nor in the future."""
    kind, summary = check_timeline_entry(kind, summary, by_staff=by_staff)
    now = crm.now()
    if at is not None and at.tzinfo is None:
        raise InvalidInput(
            "The time of a timeline entry needs its time zone, e.g. 2026-03-02T10:30:00+08:00.",
            errors=[{"field": "at", "rule": "timezone"}],
        )
    if at is not None and at > now + FUTURE_SKEW:
        raise InvalidInput(
            "A timeline entry records what happened; it cannot be dated in the future.",
            errors=[{"field": "at", "rule": "future"}],
        )
    entry = TimelineEntry(
        customer_id=customer_id,
        store_id=store_id,
        kind=kind,
        summary=summary,
        actor=actor[:MAX_ACTOR],
        ref=ref[:MAX_REF],
        at=at or now,
        created_at=now,
    )
    session.add(entry)
    await session.flush()
    return entry


def timeline_of(customer_id: str, *, kinds: tuple[str, ...] = ()) -> Select[Any]:
    """Entries of the customer and of every record merged into it (order with TIMELINE_ORDER)."""
    stmt = select(TimelineEntry).where(col(TimelineEntry.customer_id).in_(lineage_ids(customer_id)))
    if kinds:
        stmt = stmt.where(col(TimelineEntry.kind).in_(kinds))
    return stmt


# Newest first: paginate(..., order=TIMELINE_ORDER, descending=True).
TIMELINE_ORDER = (col(TimelineEntry.at), col(TimelineEntry.id))


async def recent(session: AsyncSession, customer_id: str, limit: int = 20) -> list[TimelineEntry]:
    rows = await session.execute(
        timeline_of(customer_id)
        .order_by(col(TimelineEntry.at).desc(), col(TimelineEntry.id).desc())
        .limit(limit)
    )
    return list(rows.scalars().all())
