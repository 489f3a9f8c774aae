"""Accounting periods (会计期间) of a store: list them with their audit trail, close a month that
has ended, and (HQ only, with a reason) reopen a closed one."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Header, Response
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlmodel import col

from marque_finance.api.deps import FinanceDep
from marque_finance.domain.ledger import parse_period
from marque_finance.models import Period
from marque_finance.periods_service import (
    CLOSE,
    READ,
    REOPEN,
    PeriodRecord,
    close_period,
    get_period,
    histories,
    record_of,
    reopen_period,
)
from marque_kit.http import (
    CurrentPrincipal,
    Page,
    PageQuery,
    etag,
    paginate,
    parse_if_match,
    permission,
)

router = APIRouter(prefix="/api/v1/finance/stores/{store_id}/periods", tags=["periods"])

IfMatchOptional = Annotated[
    str | None,
    Header(
        alias="If-Match",
        description='Optional: the version you read (ETag), e.g. "3"; 412 if it moved on.',
    ),
]


class PeriodActionOut(BaseModel):
    action: str = Field(examples=["close"])
    actor: str = Field(examples=["user:sh01-finance"])
    reason: str
    at: datetime | None


class PeriodOut(BaseModel):
    store_id: str
    period: str = Field(examples=["2026-10"])
    status: str = Field(examples=["closed"])
    closed_at: datetime | None
    closed_by: str | None
    version: int
    history: list[PeriodActionOut]

    @classmethod
    def of(cls, record: PeriodRecord) -> PeriodOut:
        return cls(
            store_id=record.store_id,
            period=record.period,
            status=record.status,
            closed_at=record.closed_at,
            closed_by=record.closed_by,
            version=record.version,
            history=[
                PeriodActionOut(action=h.action, actor=h.actor, reason=h.reason, at=h.at)
                for h in record.history
            ],
        )


class ReopenIn(BaseModel):
    reason: str = Field(
        "",
        max_length=500,
        description="Why the month is reopened; required, kept in the audit trail.",
        examples=["OEM rebate credit note for October arrived late"],
    )


def _expected(if_match: str | None) -> int | None:
    return None if if_match is None else parse_if_match(if_match)


@router.get("", response_model=Page[PeriodOut], dependencies=[permission(READ)])
async def list_periods(
    store_id: str, principal: CurrentPrincipal, finance: FinanceDep, page: PageQuery
) -> Page[PeriodOut]:
    """The store's months that have postings or were closed, newest first, each with its audit
    trail of closes and reopens (who, when, why). A month not listed is open."""
    principal.require_store(store_id, what=f"Store {store_id}")
    async with finance.db.session() as session:
        stmt = select(Period).where(col(Period.store_id) == store_id)
        rows, next_cursor = await paginate(
            session, stmt, page, order=(col(Period.period),), descending=True
        )
        trail = await histories(session, store_id, [r.period for r in rows])
    return Page(
        items=[PeriodOut.of(record_of(r, trail.get(r.period, []))) for r in rows],
        next_cursor=next_cursor,
    )


@router.get("/{period}", response_model=PeriodOut, dependencies=[permission(READ)])
async def read_period(
    store_id: str, period: str, principal: CurrentPrincipal, finance: FinanceDep, response: Response
) -> PeriodOut:
    """One month of the store: open or closed, with its audit trail."""
    principal.require_store(store_id, what=f"Store {store_id}")
    async with finance.db.session() as session:
        record = await get_period(session, store_id, parse_period(period))
    response.headers["ETag"] = etag(record.version)
    return PeriodOut.of(record)


@router.post("/{period}/close", response_model=PeriodOut, dependencies=[permission(CLOSE)])
async def close(
    store_id: str,
    period: str,
    principal: CurrentPrincipal,
    finance: FinanceDep,
    response: Response,
    if_match: IfMatchOptional = None,
) -> PeriodOut:
    """Close a month that has ended (月结): the store's finance staff or manager, or HQ. Postings
    in flight finish first; later postings dated in it land in the next open month, with a note.
    409 if it is closed already or has not ended."""
    record = await close_period(
        finance, principal, store_id, period, expected_version=_expected(if_match)
    )
    response.headers["ETag"] = etag(record.version)
    return PeriodOut.of(record)


@router.post("/{period}/reopen", response_model=PeriodOut, dependencies=[permission(REOPEN)])
async def reopen(
    store_id: str,
    period: str,
    body: ReopenIn,
    principal: CurrentPrincipal,
    finance: FinanceDep,
    response: Response,
    if_match: IfMatchOptional = None,
) -> PeriodOut:
    """Reopen a closed month: group HQ only (hq_finance, hq_admin; 403 for store staff), with a
    reason (422 without). 409 if the month is open."""
    record = await reopen_period(
        finance, principal, store_id, period, body.reason, expected_version=_expected(if_match)
    )
    response.headers["ETag"] = etag(record.version)
    return PeriodOut.of(record)
