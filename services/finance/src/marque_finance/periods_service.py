"""Month-end close (月结) and reopening, per store.

- Closing: the store's finance staff or store manager, or HQ, closes a month that has ended. From
  then on a posting dated in it lands in the next open month with a note (the ledger's rule).
  The close locks the period row FOR UPDATE; every posting holds the rows of its month and the
  later ones FOR SHARE, so a close waits for postings in flight and no posting slips in after it.
- Reopening: only HQ (hq_admin, hq_finance), always with a reason for the audit trail.
- Each close and reopen is written to `period_events` (who, when, why; append-only) and
  announced as `finance.journal.period_closed` / `period_reopened` through the outbox.

The rules themselves (closed twice, reopen an open month, reason required) are
`domain.ledger.PeriodState`'s.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from marque.finance.v1 import events_pb2 as fev
from marque_finance.domain.ledger import (
    PeriodState,
    first_day,
    next_period,
    parse_period,
    period_of,
)
from marque_finance.events import outgoing, timestamp
from marque_finance.models import Period, PeriodEvent
from marque_finance.unit_of_work import Finance
from marque_kit.auth import Principal
from marque_kit.db import OutgoingEvent
from marque_kit.errors import Conflict, Forbidden
from marque_kit.http import check_version

READ = "finance.periods:read"
CLOSE = "finance.periods:close"
REOPEN = "finance.periods:reopen"
# Who may reopen a closed month: HQ only.
REOPEN_ROLES = frozenset({"hq_admin", "hq_finance"})


@dataclass(frozen=True)
class PeriodAction:
    action: str  # "close" or "reopen"
    actor: str
    reason: str
    at: datetime | None


@dataclass(frozen=True)
class PeriodRecord:
    store_id: str
    period: str
    status: str
    closed_at: datetime | None
    closed_by: str | None
    version: int
    history: tuple[PeriodAction, ...] = ()


def record_of(
    row: Period, history: list[PeriodAction] | tuple[PeriodAction, ...] = ()
) -> PeriodRecord:
    return PeriodRecord(
        store_id=row.store_id,
        period=row.period,
        status=row.status,
        closed_at=row.closed_at,
        closed_by=row.closed_by,
        version=row.version,
        history=tuple(history),
    )


def period_closed(
    store_id: str, period: str, actor: str, *, seq: int, at: datetime | None = None
) -> OutgoingEvent:
    """`finance.journal.period_closed`; subject `store/period`, seq the period row's version."""
    return outgoing(
        fev.PeriodClosed(occurred_at=timestamp(at), store_id=store_id, period=period, actor=actor),
        "finance.journal.period_closed",
        subject=f"{store_id}/{period}",
        store_id=store_id,
        seq=seq,
    )


def period_reopened(
    store_id: str, period: str, actor: str, reason: str, *, seq: int, at: datetime | None = None
) -> OutgoingEvent:
    """`finance.journal.period_reopened`, with HQ's reason."""
    return outgoing(
        fev.PeriodReopened(
            occurred_at=timestamp(at), store_id=store_id, period=period, actor=actor, reason=reason
        ),
        "finance.journal.period_reopened",
        subject=f"{store_id}/{period}",
        store_id=store_id,
        seq=seq,
    )


async def histories(
    session: AsyncSession, store_id: str, periods: list[str]
) -> dict[str, list[PeriodAction]]:
    """The audit trail of each period, oldest first."""
    if not periods:
        return {}
    rows = await session.execute(
        select(PeriodEvent)
        .where(col(PeriodEvent.store_id) == store_id, col(PeriodEvent.period).in_(periods))
        .order_by(col(PeriodEvent.id))
    )
    out: dict[str, list[PeriodAction]] = defaultdict(list)
    for event in rows.scalars():
        out[event.period].append(PeriodAction(event.action, event.actor, event.reason, event.at))
    return out


async def get_period(session: AsyncSession, store_id: str, period: str) -> PeriodRecord:
    """A store's month as it stands; a month nobody has posted to or closed is open."""
    row = await session.get(Period, (store_id, period))
    if row is None:
        return PeriodRecord(store_id, period, "open", None, None, 0)
    trail = await histories(session, store_id, [period])
    return record_of(row, trail.get(period, []))


async def _lock(session: AsyncSession, store_id: str, period: str) -> Period:
    """The period's row, created open if needed, locked FOR UPDATE (waits for postings in it)."""
    await session.execute(
        pg_insert(Period).values(store_id=store_id, period=period).on_conflict_do_nothing()
    )
    row = await session.execute(
        select(Period)
        .where(col(Period.store_id) == store_id, col(Period.period) == period)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return row.scalar_one()


async def _write(
    session: AsyncSession, row: Period, state: PeriodState, *, closed_by: str | None
) -> None:
    await session.execute(
        update(Period)
        .where(col(Period.store_id) == row.store_id, col(Period.period) == row.period)
        .values(
            status="closed" if state.closed else "open",
            closed_at=func.now() if state.closed else None,
            closed_by=closed_by,
            version=col(Period.version) + 1,
        )
    )
    action, actor, reason = state.history[-1]
    session.add(
        PeriodEvent(
            store_id=row.store_id, period=row.period, action=action, actor=actor, reason=reason
        )
    )
    await session.flush()


def _check_expected(row: Period, expected_version: int | None) -> None:
    if expected_version is not None:
        check_version(row.version, expected_version)


async def close_period(
    finance: Finance,
    principal: Principal,
    store_id: str,
    period_text: str,
    *,
    expected_version: int | None = None,
) -> PeriodRecord:
    """Close a store's ended month; 409 if it is closed already or has not ended yet."""
    principal.require_store(store_id, what=f"Store {store_id}")
    principal.require(CLOSE)
    period = parse_period(period_text)
    current = period_of(finance.today())
    if period >= current:
        raise Conflict(
            f"Period {period} has not ended yet (today is {finance.today().isoformat()}); "
            f"close it from {first_day(next_period(period)).isoformat()} on.",
            errors=[{"field": "period", "rule": "not_ended"}],
        )
    actor = principal.label()
    async with finance.uow() as uow:
        row = await _lock(uow.session, store_id, period)
        _check_expected(row, expected_version)
        state = PeriodState(store_id, period, closed=row.status == "closed")
        state.close(actor)
        await _write(uow.session, row, state, closed_by=actor)
        uow.record(period_closed(store_id, period, actor, seq=row.version + 1))
        await uow.commit()
    async with finance.db.session() as session:
        return await get_period(session, store_id, period)


def require_reopener(principal: Principal) -> None:
    """Only HQ reopens a closed month: an HQ administrator or HQ finance."""
    if not principal.is_hq or not REOPEN_ROLES.intersection(principal.roles):
        raise Forbidden(
            "Only group HQ (hq_finance or hq_admin) may reopen a closed period; "
            "ask HQ finance to reopen it, with the reason."
        )


async def reopen_period(
    finance: Finance,
    principal: Principal,
    store_id: str,
    period_text: str,
    reason: str,
    *,
    expected_version: int | None = None,
) -> PeriodRecord:
    """Reopen a closed month (HQ only, with a reason); 409 if it is open."""
    principal.require_store(store_id, what=f"Store {store_id}")
    principal.require(REOPEN)
    require_reopener(principal)
    period = parse_period(period_text)
    actor = principal.label()
    async with finance.uow() as uow:
        row = await _lock(uow.session, store_id, period)
        _check_expected(row, expected_version)
        state = PeriodState(store_id, period, closed=row.status == "closed")
        state.reopen(actor, reason)
        await _write(uow.session, row, state, closed_by=None)
        uow.record(period_reopened(store_id, period, actor, reason.strip(), seq=row.version + 1))
        await uow.commit()
    async with finance.db.session() as session:
        return await get_period(session, store_id, period)
