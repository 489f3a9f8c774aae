"""Floor-plan financing (库存融资): lenders (HQ), each store's lender, the per-vehicle loan report,
payoff, and monthly interest accruals."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Header, Query, Response
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlmodel import col

from marque_finance import floorplan_service as svc
from marque_finance.api.deps import FinanceDep
from marque_finance.domain.ledger import parse_period
from marque_finance.models import FloorplanAccrual, FloorplanAccrualLine, FloorplanLoan, Lender
from marque_kit.http import (
    CurrentPrincipal,
    Day,
    IdempotencyDep,
    IfMatch,
    Page,
    PageQuery,
    etag,
    paginate,
    parse_if_match,
    permission,
    scope_to_stores,
)

router = APIRouter(prefix="/api/v1/finance/floorplan", tags=["floor plan"])


# --- lenders --------------------------------------------------------------------------------


class LenderIn(BaseModel):
    name: str = Field(min_length=1, max_length=80, examples=["比亚迪汽车金融"])
    annual_rate_bp: int = Field(description="Basis points a year: 435 = 4.35%", examples=[435])
    day_count: int = Field(360, description="Days in the interest year: 360 or 365")


class LenderPatch(BaseModel):
    annual_rate_bp: int | None = Field(None, description="Applies to loans drawn from now on")
    day_count: int | None = None
    active: bool | None = None


class LenderOut(BaseModel):
    id: str
    name: str
    annual_rate_bp: int
    day_count: int
    active: bool
    created_at: datetime | None
    version: int

    @classmethod
    def of(cls, lender: Lender) -> LenderOut:
        return cls(
            id=lender.id,
            name=lender.name,
            annual_rate_bp=lender.annual_rate_bp,
            day_count=lender.day_count,
            active=lender.active,
            created_at=lender.created_at,
            version=lender.version,
        )


@router.post(
    "/lenders",
    status_code=201,
    response_model=LenderOut,
    dependencies=[permission("finance.floorplan:write")],
)
async def create_lender(
    body: LenderIn, principal: CurrentPrincipal, finance: FinanceDep, idem: IdempotencyDep
) -> Response:
    """Set up a floor-plan lender (HQ only)."""
    async with finance.uow() as uow:
        if replay := await idem.begin(uow.session, body):
            return replay
        lender = await svc.create_lender(
            uow.session,
            principal,
            name=body.name,
            annual_rate_bp=body.annual_rate_bp,
            day_count=body.day_count,
        )
        response = await idem.complete(
            uow.session, 201, LenderOut.of(lender), headers={"ETag": etag(lender.version)}
        )
        await uow.commit()
    return response


@router.get(
    "/lenders",
    response_model=Page[LenderOut],
    dependencies=[permission("finance.floorplan:read")],
)
async def list_lenders(finance: FinanceDep, page: PageQuery) -> Page[LenderOut]:
    async with finance.db.session() as session:
        rows, cursor = await paginate(
            session, select(Lender), page, order=(col(Lender.created_at), col(Lender.id))
        )
    return Page(items=[LenderOut.of(r) for r in rows], next_cursor=cursor)


@router.get(
    "/lenders/{lender_id}",
    response_model=LenderOut,
    dependencies=[permission("finance.floorplan:read")],
)
async def read_lender(lender_id: str, finance: FinanceDep, response: Response) -> LenderOut:
    async with finance.db.session() as session:
        lender = await svc.get_lender(session, lender_id)
    response.headers["ETag"] = etag(lender.version)
    return LenderOut.of(lender)


@router.patch(
    "/lenders/{lender_id}",
    response_model=LenderOut,
    dependencies=[permission("finance.floorplan:write")],
)
async def update_lender(
    lender_id: str,
    body: LenderPatch,
    expected: IfMatch,
    principal: CurrentPrincipal,
    finance: FinanceDep,
    response: Response,
) -> LenderOut:
    """Change a lender's rate, basis or active flag (HQ only). Open loans keep the terms they
    were drawn on; new loans take the new ones."""
    async with finance.uow() as uow:
        lender = await svc.update_lender(
            uow.session,
            principal,
            lender_id,
            expected_version=expected,
            annual_rate_bp=body.annual_rate_bp,
            day_count=body.day_count,
            active=body.active,
        )
        out = LenderOut.of(lender)
        await uow.commit()
    response.headers["ETag"] = etag(out.version)
    return out


# --- a store's lender -----------------------------------------------------------------------


class StoreLenderIn(BaseModel):
    lender_id: str | None = Field(
        description="The lender that finances the store's OEM vehicles from now on; "
        "null = the store pays the OEM itself"
    )


class StoreLenderOut(BaseModel):
    store_id: str
    lender: LenderOut | None
    version: int


def _store_out(setting: svc.StoreLender) -> StoreLenderOut:
    return StoreLenderOut(
        store_id=setting.store_id,
        lender=LenderOut.of(setting.lender) if setting.lender else None,
        version=setting.version,
    )


@router.get(
    "/stores/{store_id}",
    response_model=StoreLenderOut,
    dependencies=[permission("finance.floorplan:read")],
)
async def read_store_lender(
    store_id: str, principal: CurrentPrincipal, finance: FinanceDep, response: Response
) -> StoreLenderOut:
    principal.require_store(store_id, what=f"Store {store_id}")
    async with finance.db.session() as session:
        setting = await svc.store_lender(session, store_id)
    response.headers["ETag"] = etag(setting.version)
    return _store_out(setting)


@router.put(
    "/stores/{store_id}",
    response_model=StoreLenderOut,
    dependencies=[permission("finance.floorplan:write")],
)
async def set_store_lender(
    store_id: str,
    body: StoreLenderIn,
    principal: CurrentPrincipal,
    finance: FinanceDep,
    response: Response,
    if_match: Annotated[
        str | None, Header(description="The version read; optional on first setting")
    ] = None,
) -> StoreLenderOut:
    """Choose the store's floor-plan lender: OEM vehicles arriving from now on are financed."""
    expected = parse_if_match(if_match) if if_match is not None else None
    async with finance.uow() as uow:
        setting = await svc.set_store_lender(
            uow.session,
            principal,
            store_id,
            lender_id=body.lender_id,
            expected_version=expected,
        )
        out = _store_out(setting)
        await uow.commit()
    response.headers["ETag"] = etag(out.version)
    return out


# --- loans: the per-vehicle report ----------------------------------------------------------


class LoanOut(BaseModel):
    id: str
    store_id: str
    vin: str
    brand: str
    model_code: str
    lender_id: str
    lender_name: str
    payable_id: str
    principal_fen: int
    annual_rate_bp: int
    day_count: int
    drawn_on: date
    paid_off_on: date | None
    status: str
    as_of: date
    days_financed: int = Field(description="Drawdown day counts, payoff day does not")
    interest_to_date_fen: int = Field(description="Posted + not yet posted, as of `as_of`")
    interest_posted_fen: int
    interest_not_posted_fen: int
    accrued_through: str
    payoff_bank_reference: str
    version: int

    @classmethod
    def of(cls, f: svc.LoanFigures, as_of: date) -> LoanOut:
        loan = f.loan
        return cls(
            id=loan.id,
            store_id=loan.store_id,
            vin=loan.vin,
            brand=loan.brand,
            model_code=loan.model_code,
            lender_id=loan.lender_id,
            lender_name=f.lender_name,
            payable_id=loan.payable_id,
            principal_fen=loan.principal_fen,
            annual_rate_bp=loan.annual_rate_bp,
            day_count=loan.day_count,
            drawn_on=loan.drawn_on,
            paid_off_on=loan.paid_off_on,
            status=loan.status,
            as_of=as_of,
            days_financed=f.days_financed,
            interest_to_date_fen=f.interest_to_date_fen,
            interest_posted_fen=f.interest_posted_fen,
            interest_not_posted_fen=f.interest_not_posted_fen,
            accrued_through=loan.accrued_through,
            payoff_bank_reference=loan.payoff_bank_reference,
            version=loan.version,
        )


class MonthInterestOut(BaseModel):
    month: str
    days: int
    interest_fen: int


class LoanDetail(LoanOut):
    months: list[MonthInterestOut]


@router.get(
    "/loans",
    response_model=Page[LoanOut],
    dependencies=[permission("finance.floorplan:read")],
)
async def list_loans(
    principal: CurrentPrincipal,
    finance: FinanceDep,
    page: PageQuery,
    store_id: Annotated[str | None, Query(max_length=20)] = None,
    status: Literal["open", "paid_off"] | None = None,
    as_of: Annotated[Day | None, Query(description="Figures as of this day; default today")] = None,
) -> Page[LoanOut]:
    """Financed vehicles, oldest drawdown first (the longest-standing stock costs the most):
    principal, lender, days financed and interest to date."""
    stmt = scope_to_stores(select(FloorplanLoan), col(FloorplanLoan.store_id), principal)
    if store_id:
        principal.require_store(store_id, what=f"Store {store_id}")
        stmt = stmt.where(col(FloorplanLoan.store_id) == store_id)
    if status:
        stmt = stmt.where(col(FloorplanLoan.status) == status)
    day = as_of or finance.today()
    async with finance.db.session() as session:
        rows, cursor = await paginate(
            session, stmt, page, order=(col(FloorplanLoan.drawn_on), col(FloorplanLoan.id))
        )
        figures = await svc.figures(session, rows, day)
    return Page(items=[LoanOut.of(f, day) for f in figures], next_cursor=cursor)


@router.get(
    "/loans/{vin}",
    response_model=list[LoanDetail],
    dependencies=[permission("finance.floorplan:read")],
)
async def read_vehicle_loans(
    vin: str,
    principal: CurrentPrincipal,
    finance: FinanceDep,
    as_of: Annotated[Day | None, Query(description="Default today")] = None,
) -> list[LoanDetail]:
    """A vehicle's floor-plan loans (newest first) with the interest accrued month by month."""
    day = as_of or finance.today()
    async with finance.db.session() as session:
        loans = await svc.loans_for_vin(session, principal, vin)
        figures = await svc.figures(session, loans, day)
        out = []
        for f in figures:
            lines = await svc.accrual_lines_of(session, f.loan.id)
            out.append(
                LoanDetail(
                    **LoanOut.of(f, day).model_dump(),
                    months=[
                        MonthInterestOut(month=ln.month, days=ln.days, interest_fen=ln.interest_fen)
                        for ln in lines
                    ],
                )
            )
    return out


class PayoffIn(BaseModel):
    paid_on: Day | None = Field(None, description="Default today; this day bears no interest")
    bank_reference: str = Field(
        min_length=1, max_length=80, description="The bank's transaction reference (流水号)"
    )


@router.post(
    "/loans/{vin}/payoff",
    response_model=LoanOut,
    dependencies=[permission("finance.floorplan:write")],
)
async def pay_off(
    vin: str,
    body: PayoffIn,
    principal: CurrentPrincipal,
    finance: FinanceDep,
    idem: IdempotencyDep,
) -> Response:
    """Repay the vehicle's principal to the lender: Dr 2001.01 / Cr 1002; interest stops."""
    async with finance.uow() as uow:
        if replay := await idem.begin(uow.session, body):
            return replay
        loan = await svc.pay_off(
            uow.session,
            finance,
            principal,
            vin,
            paid_on=body.paid_on or finance.today(),
            bank_reference=body.bank_reference,
        )
        day = finance.today()
        (figures,) = await svc.figures(uow.session, [loan], day)
        response = await idem.complete(
            uow.session, 200, LoanOut.of(figures, day), headers={"ETag": etag(loan.version)}
        )
        await uow.commit()
    return response


# --- accruals -------------------------------------------------------------------------------


class AccrualIn(BaseModel):
    store_id: str = Field(min_length=1, max_length=20)
    month: str = Field(description="A finished month, YYYY-MM", examples=["2026-10"])


class AccrualLineOut(BaseModel):
    loan_id: str
    vin: str
    days: int
    interest_fen: int


class AccrualOut(BaseModel):
    id: str
    store_id: str
    month: str
    sequence: int = Field(description="1; 2+ = a catch-up for loans booked late")
    total_fen: int
    loans: int
    entry_id: str
    entry_number: str
    created_at: datetime | None
    posted_now: bool = False
    lines: list[AccrualLineOut] = []

    @classmethod
    def of(
        cls,
        a: FloorplanAccrual,
        lines: list[FloorplanAccrualLine] | None = None,
        posted_now: bool = False,
    ) -> AccrualOut:
        return cls(
            id=a.id,
            store_id=a.store_id,
            month=a.month,
            sequence=a.sequence,
            total_fen=a.total_fen,
            loans=a.loans,
            entry_id=a.entry_id,
            entry_number=a.entry_number,
            created_at=a.created_at,
            posted_now=posted_now,
            lines=[
                AccrualLineOut(
                    loan_id=ln.loan_id, vin=ln.vin, days=ln.days, interest_fen=ln.interest_fen
                )
                for ln in lines or []
            ],
        )


class AccrualRunOut(BaseModel):
    store_id: str
    month: str
    posted_now: bool = Field(description="False: the month was already accrued; nothing changed")
    accruals: list[AccrualOut]


@router.post(
    "/accruals",
    response_model=AccrualRunOut,
    status_code=201,
    dependencies=[permission("finance.floorplan:write")],
)
async def run_accrual(
    body: AccrualIn, principal: CurrentPrincipal, finance: FinanceDep, idem: IdempotencyDep
) -> Response:
    """Accrue a finished month's floor-plan interest for a store (and any earlier month still
    pending): Dr 6603 per vehicle / Cr 2231 per lender. Running it again changes nothing
    (200, posted_now false)."""
    month = parse_period(body.month)
    async with finance.uow() as uow:
        if replay := await idem.begin(uow.session, body):
            return replay
        results = await svc.accrue_month(uow.session, finance, principal, body.store_id, month)
        posted_now = any(r.posted_now for r in results)
        out = AccrualRunOut(
            store_id=body.store_id,
            month=month,
            posted_now=posted_now,
            accruals=[AccrualOut.of(r.accrual, r.lines, r.posted_now) for r in results],
        )
        response = await idem.complete(uow.session, 201 if posted_now else 200, out)
        await uow.commit()
    return response


@router.get(
    "/accruals",
    response_model=Page[AccrualOut],
    dependencies=[permission("finance.floorplan:read")],
)
async def list_accruals(
    principal: CurrentPrincipal,
    finance: FinanceDep,
    page: PageQuery,
    store_id: Annotated[str | None, Query(max_length=20)] = None,
    month: Annotated[str | None, Query(description="YYYY-MM")] = None,
) -> Page[AccrualOut]:
    """Posted accruals, newest month first."""
    stmt = scope_to_stores(select(FloorplanAccrual), col(FloorplanAccrual.store_id), principal)
    if store_id:
        principal.require_store(store_id, what=f"Store {store_id}")
        stmt = stmt.where(col(FloorplanAccrual.store_id) == store_id)
    if month:
        stmt = stmt.where(col(FloorplanAccrual.month) == parse_period(month))
    async with finance.db.session() as session:
        rows, cursor = await paginate(
            session,
            stmt,
            page,
            order=(col(FloorplanAccrual.created_at), col(FloorplanAccrual.id)),
            descending=True,
        )
    return Page(items=[AccrualOut.of(r) for r in rows], next_cursor=cursor)
