"""Floor-plan financing (库存融资): lenders, each store's lender, one loan per financed vehicle,
payoff, and the monthly interest accrual (the rules are in `domain.floorplan` and
`domain.posting_rules.money_out`).

Every function takes the caller's session: the change, its journal entries and its events commit
together. The accrual of a store serialises on an advisory lock, so two replicas running the
sweep, or a sweep and an explicit run, never accrue the same month twice.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from marque_finance import books
from marque_finance.domain import floorplan as fp
from marque_finance.domain.payables import check_bank_reference
from marque_finance.domain.posting_rules import money_out as rules
from marque_finance.models import (
    FloorplanAccrual,
    FloorplanAccrualLine,
    FloorplanLoan,
    Lender,
    StoreFloorplan,
)
from marque_finance.unit_of_work import Finance
from marque_kit.auth import Principal
from marque_kit.errors import AlreadyExists, Conflict, Forbidden, InvalidInput, NotFound
from marque_kit.http import check_version

log = logging.getLogger(__name__)


# --- lenders (HQ) ---------------------------------------------------------------------------


def require_hq(principal: Principal) -> None:
    if not principal.is_hq:
        raise Forbidden(
            "Floor-plan lenders are group reference data; only HQ (集团财务) can create or "
            "change them. Ask HQ finance."
        )


async def create_lender(
    session: AsyncSession,
    principal: Principal,
    *,
    name: str,
    annual_rate_bp: int,
    day_count: int,
) -> Lender:
    require_hq(principal)
    clean = name.strip()
    if not clean:
        raise InvalidInput("Name the lender.", errors=[{"field": "name", "rule": "required"}])
    existing = await session.execute(
        select(col(Lender.id)).where(func.lower(col(Lender.name)) == clean.lower())
    )
    if existing.first() is not None:
        raise AlreadyExists(f"A lender named {clean!r} already exists.")
    lender = Lender(
        id=str(uuid.uuid4()),
        name=clean,
        annual_rate_bp=fp.check_rate(annual_rate_bp),
        day_count=fp.check_basis(day_count),
        created_by=principal.subject,
    )
    session.add(lender)
    try:
        await session.flush()
    except IntegrityError:  # the same name created concurrently
        raise AlreadyExists(f"A lender named {clean!r} already exists.") from None
    await session.refresh(lender)
    return lender


async def get_lender(session: AsyncSession, lender_id: str) -> Lender:
    lender = await session.get(Lender, lender_id)
    if lender is None:
        raise NotFound(f"No floor-plan lender {lender_id}.")
    return lender


async def update_lender(
    session: AsyncSession,
    principal: Principal,
    lender_id: str,
    *,
    expected_version: int,
    annual_rate_bp: int | None,
    day_count: int | None,
    active: bool | None,
) -> Lender:
    """A new rate or basis applies to loans drawn from now on; open loans keep their terms."""
    require_hq(principal)
    lender = await session.get(Lender, lender_id, with_for_update=True)
    if lender is None:
        raise NotFound(f"No floor-plan lender {lender_id}.")
    check_version(lender.version, expected_version)
    if annual_rate_bp is not None:
        lender.annual_rate_bp = fp.check_rate(annual_rate_bp)
    if day_count is not None:
        lender.day_count = fp.check_basis(day_count)
    if active is not None:
        lender.active = active
    lender.version += 1
    lender.updated_at = datetime.now(UTC)
    await session.flush()
    await session.refresh(lender)
    return lender


# --- a store's lender -----------------------------------------------------------------------


@dataclass(frozen=True)
class StoreLender:
    store_id: str
    lender: Lender | None
    version: int


async def store_lender(session: AsyncSession, store_id: str) -> StoreLender:
    row = await session.get(StoreFloorplan, store_id)
    if row is None:
        return StoreLender(store_id, None, 0)
    lender = await session.get(Lender, row.lender_id) if row.lender_id else None
    return StoreLender(store_id, lender, row.version)


async def set_store_lender(
    session: AsyncSession,
    principal: Principal,
    store_id: str,
    *,
    lender_id: str | None,
    expected_version: int | None,
) -> StoreLender:
    """From now on the store's OEM vehicles are financed by `lender_id` (None: not financed)."""
    principal.require_store(store_id, what=f"Store {store_id}")
    if lender_id is not None:
        lender = await session.get(Lender, lender_id)
        if lender is None:
            raise InvalidInput(
                f"No floor-plan lender {lender_id}; HQ sets lenders up first.",
                errors=[{"field": "lender_id", "rule": "exists"}],
            )
        if not lender.active:
            raise Conflict(f"Lender {lender.name} is inactive; choose an active lender.")
    row = await session.get(StoreFloorplan, store_id, with_for_update=True)
    if row is None:
        if expected_version not in (None, 0):
            raise NotFound(f"Store {store_id} has no floor-plan setting yet; PUT without If-Match.")
        row = StoreFloorplan(store_id=store_id, lender_id=lender_id, updated_by=principal.subject)
        session.add(row)
    else:
        if expected_version is not None:
            check_version(row.version, expected_version)
        row.lender_id = lender_id
        row.updated_by = principal.subject
        row.updated_at = datetime.now(UTC)
        row.version += 1
    await session.flush()
    return await store_lender(session, store_id)


# --- loans ----------------------------------------------------------------------------------


def terms_of(loan: FloorplanLoan) -> fp.LoanTerms:
    return fp.LoanTerms(
        principal_fen=loan.principal_fen,
        annual_rate_bp=loan.annual_rate_bp,
        day_count=loan.day_count,
        drawn_on=loan.drawn_on,
        paid_off_on=loan.paid_off_on,
    )


async def open_loan(
    session: AsyncSession,
    *,
    store_id: str,
    vin: str,
    brand: str,
    model_code: str,
    payable_id: str,
    oem: str,
    principal_fen: int,
    drawn_on: date,
) -> tuple[FloorplanLoan, Lender] | None:
    """Finance an arriving OEM vehicle if its store has an active lender: open the loan and post
    the drawdown (the lender pays the OEM). None when the store is not financed."""
    setting = await session.get(StoreFloorplan, store_id)
    if setting is None or setting.lender_id is None:
        return None
    lender = await session.get(Lender, setting.lender_id)
    if lender is None or not lender.active:
        return None
    already = await session.execute(
        select(col(FloorplanLoan.id)).where(
            col(FloorplanLoan.vin) == vin, col(FloorplanLoan.status) == "open"
        )
    )
    if already.first() is not None:
        log.warning(
            "vehicle already has an open floor-plan loan; the new payable is left to the store",
            extra={"vin": vin, "store_id": store_id},
        )
        return None
    loan = FloorplanLoan(
        id=str(uuid.uuid4()),
        store_id=store_id,
        vin=vin,
        brand=brand,
        model_code=model_code,
        lender_id=lender.id,
        payable_id=payable_id,
        principal_fen=principal_fen,
        annual_rate_bp=lender.annual_rate_bp,
        day_count=lender.day_count,
        drawn_on=drawn_on,
    )
    session.add(loan)
    await session.flush()
    posted = await books.post(
        session,
        rules.floorplan_drawdown(
            store_id=store_id,
            loan_id=loan.id,
            oem=oem,
            lender_name=lender.name,
            vin=vin,
            model_code=model_code,
            principal_fen=principal_fen,
            drawn_on=drawn_on,
        ),
    )
    loan.drawdown_entry_id = posted.id if posted else ""
    await session.flush()
    return loan, lender


async def _open_loan_for_vin(
    session: AsyncSession, principal: Principal, vin: str
) -> FloorplanLoan:
    vin = vin.strip().upper()
    stmt = select(FloorplanLoan).where(col(FloorplanLoan.vin) == vin)
    stores = principal.store_filter()
    if stores is not None:
        stmt = stmt.where(col(FloorplanLoan.store_id).in_(stores))
    loans = (
        (await session.execute(stmt.order_by(col(FloorplanLoan.drawn_on).desc()))).scalars().all()
    )
    if not loans:
        raise NotFound(f"No floor-plan loan for vehicle {vin} in your stores.")
    for loan in loans:
        if loan.status == "open":
            return loan
    last = loans[0]
    paid = last.paid_off_on.isoformat() if last.paid_off_on else "?"
    raise Conflict(f"The floor-plan loan on {vin} was already paid off on {paid}.")


async def pay_off(
    session: AsyncSession,
    finance: Finance,
    principal: Principal,
    vin: str,
    *,
    paid_on: date,
    bank_reference: str,
) -> FloorplanLoan:
    """Repay a vehicle's principal to the lender; interest stops that day (the payoff day bears
    none). A payoff dated in a month whose interest is already accrued gives the excess back."""
    found = await _open_loan_for_vin(session, principal, vin)
    # The store's accrual and its payoffs take turns (see accrue_store), then lock the loan.
    await _lock_store(session, found.store_id)
    loan = await session.get(FloorplanLoan, found.id, with_for_update=True, populate_existing=True)
    if loan is None or loan.status != "open":
        raise Conflict(f"The floor-plan loan on {found.vin} was paid off meanwhile; reload it.")
    ref = check_bank_reference(bank_reference)
    fp.check_payoff(terms_of(loan), paid_on, finance.today())
    lender = await get_lender(session, loan.lender_id)
    posted = await books.post(
        session,
        rules.floorplan_payoff(
            store_id=loan.store_id,
            loan_id=loan.id,
            lender_name=lender.name,
            vin=loan.vin,
            model_code=loan.model_code,
            principal_fen=loan.principal_fen,
            paid_on=paid_on,
            bank_reference=ref,
            created_by=principal.subject,
        ),
    )
    loan.status = "paid_off"
    loan.paid_off_on = paid_on
    loan.payoff_entry_id = posted.id if posted else ""
    loan.payoff_bank_reference = ref
    loan.paid_off_by = principal.subject
    loan.version += 1
    accrued = await _accrued_by_month(session, loan.id)
    over = fp.over_accrued(terms_of(loan), accrued)
    if over > 0:
        await books.post(
            session,
            rules.floorplan_interest_adjustment(
                store_id=loan.store_id,
                loan_id=loan.id,
                lender_name=lender.name,
                vin=loan.vin,
                model_code=loan.model_code,
                amount_fen=over,
                on=max(paid_on, finance.today()),
                created_by=principal.subject,
            ),
        )
        loan.interest_adjustment_fen = over
    await session.flush()
    return loan


async def _accrued_by_month(session: AsyncSession, loan_id: str) -> dict[str, int]:
    rows = await session.execute(
        select(col(FloorplanAccrualLine.month), col(FloorplanAccrualLine.interest_fen)).where(
            col(FloorplanAccrualLine.loan_id) == loan_id
        )
    )
    return {month: fen for month, fen in rows}


# --- monthly accrual ------------------------------------------------------------------------


async def _lock_store(session: AsyncSession, store_id: str) -> None:
    """One accrual or payoff at a time per store (a transaction-scoped advisory lock)."""
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": f"floorplan:{store_id}"}
    )


_PENDING = (
    "accrued_through < :through "
    "AND drawn_on < :after "
    "AND (paid_off_on IS NULL OR (paid_off_on > drawn_on "
    "     AND accrued_through < to_char(paid_off_on - 1, 'YYYY-MM')))"
)


@dataclass(frozen=True)
class AccrualResult:
    accrual: FloorplanAccrual
    lines: list[FloorplanAccrualLine]
    posted_now: bool


async def accrue_store(
    session: AsyncSession, store_id: str, through: str, *, actor: str = "system"
) -> list[AccrualResult]:
    """Accrue every month up to `through` (finished months only) that a loan of the store still
    needs, oldest first: one entry per store-month, plus a catch-up entry for loans booked after
    their month was accrued. Running it again finds nothing to do."""
    await _lock_store(session, store_id)
    after = fp.month_bounds(through)[1]
    loans = (
        (
            await session.execute(
                select(FloorplanLoan)
                .where(col(FloorplanLoan.store_id) == store_id)
                .where(text(_PENDING).bindparams(through=through, after=after))
                .order_by(col(FloorplanLoan.vin))
            )
        )
        .scalars()
        .all()
    )
    if not loans:
        return []
    names = await _lender_names(session, {loan.lender_id for loan in loans})
    by_month: dict[str, list[fp.OpenLoan]] = {}
    by_id = {loan.id: loan for loan in loans}
    for loan in loans:
        for month in fp.months_to_accrue(terms_of(loan), loan.accrued_through, through):
            by_month.setdefault(month, []).append(
                fp.OpenLoan(
                    loan_id=loan.id,
                    vin=loan.vin,
                    model_code=loan.model_code,
                    lender_id=loan.lender_id,
                    lender_name=names[loan.lender_id],
                    terms=terms_of(loan),
                )
            )
    results = []
    for month in sorted(by_month):
        lines = fp.accrual_lines(by_month[month], month)
        results.append(await _post_month(session, store_id, month, lines, actor))
        for line in lines:
            by_id[line.loan_id].accrued_through = month
    await session.flush()
    return results


async def _post_month(
    session: AsyncSession,
    store_id: str,
    month: str,
    lines: Sequence[fp.AccrualLine],
    actor: str,
) -> AccrualResult:
    last = await session.execute(
        select(func.max(col(FloorplanAccrual.sequence))).where(
            col(FloorplanAccrual.store_id) == store_id, col(FloorplanAccrual.month) == month
        )
    )
    sequence = (last.scalar_one() or 0) + 1
    draft = rules.floorplan_accrual(
        store_id=store_id,
        month=month,
        entry_date=fp.last_day(month),
        lines=lines,
        sequence=sequence,
    )
    posted = await books.post(session, draft) if draft is not None else None
    accrual = FloorplanAccrual(
        id=str(uuid.uuid4()),
        store_id=store_id,
        month=month,
        sequence=sequence,
        total_fen=sum(line.interest_fen for line in lines),
        loans=len(lines),
        entry_id=posted.id if posted else "",
        entry_number=posted.number if posted else "",
        created_by=actor,
    )
    session.add(accrual)
    await session.flush()
    rows = [
        FloorplanAccrualLine(
            accrual_id=accrual.id,
            loan_id=line.loan_id,
            store_id=store_id,
            month=month,
            vin=line.vin,
            days=line.days,
            interest_fen=line.interest_fen,
        )
        for line in lines
    ]
    session.add_all(rows)
    await session.flush()
    await session.refresh(accrual)
    return AccrualResult(accrual, rows, posted_now=True)


async def _lender_names(session: AsyncSession, ids: set[str]) -> dict[str, str]:
    rows = await session.execute(
        select(col(Lender.id), col(Lender.name)).where(col(Lender.id).in_(ids))
    )
    return {lender_id: name for lender_id, name in rows}


async def accrue_month(
    session: AsyncSession, finance: Finance, principal: Principal, store_id: str, month: str
) -> list[AccrualResult]:
    """An explicit run for one store and month: accrues it (and any earlier month still
    pending, so months are always accrued in order) and answers the month's accruals."""
    principal.require_store(store_id, what=f"Store {store_id}")
    fp.check_month_finished(month, finance.today())
    new = await accrue_store(session, store_id, month, actor=principal.subject)
    fresh = {r.accrual.id for r in new}
    accruals = (
        (
            await session.execute(
                select(FloorplanAccrual)
                .where(
                    col(FloorplanAccrual.store_id) == store_id,
                    col(FloorplanAccrual.month) == month,
                )
                .order_by(col(FloorplanAccrual.sequence))
            )
        )
        .scalars()
        .all()
    )
    out = []
    for accrual in accruals:
        lines = (
            (
                await session.execute(
                    select(FloorplanAccrualLine)
                    .where(col(FloorplanAccrualLine.accrual_id) == accrual.id)
                    .order_by(col(FloorplanAccrualLine.vin))
                )
            )
            .scalars()
            .all()
        )
        out.append(AccrualResult(accrual, list(lines), posted_now=accrual.id in fresh))
    return out


async def sweep(finance: Finance) -> int:
    """Accrue every finished month not yet accrued, store by store (one transaction each)."""
    through = fp.last_finished_month(finance.today())
    after = fp.month_bounds(through)[1]
    async with finance.uow() as uow:
        rows = await uow.session.execute(
            select(func.distinct(col(FloorplanLoan.store_id))).where(
                text(_PENDING).bindparams(through=through, after=after)
            )
        )
        stores = sorted(s for (s,) in rows)
    done = 0
    for store_id in stores:
        async with finance.uow() as uow:
            done += len(await accrue_store(uow.session, store_id, through))
            await uow.commit()
    if done:
        log.info("floor-plan interest accrued", extra={"accruals": done, "through": through})
    return done


def accrual_job(finance: Finance) -> Callable[[], Awaitable[None]]:
    """The background loop (runtime.add_job): a sweep every `floorplan_sweep_seconds`."""

    async def loop() -> None:
        while True:
            await sweep(finance)
            await asyncio.sleep(finance.settings.floorplan_sweep_seconds)

    return loop


# --- the per-vehicle report -----------------------------------------------------------------


@dataclass(frozen=True)
class LoanFigures:
    loan: FloorplanLoan
    lender_name: str
    days_financed: int
    interest_posted_fen: int
    interest_to_date_fen: int

    @property
    def interest_not_posted_fen(self) -> int:
        return self.interest_to_date_fen - self.interest_posted_fen


async def figures(
    session: AsyncSession, loans: Sequence[FloorplanLoan], as_of: date
) -> list[LoanFigures]:
    """Days financed and interest to date (posted + not yet posted) of each loan, as of a day."""
    if not loans:
        return []
    ids = [loan.id for loan in loans]
    rows = await session.execute(
        select(col(FloorplanAccrualLine.loan_id), func.sum(col(FloorplanAccrualLine.interest_fen)))
        .where(col(FloorplanAccrualLine.loan_id).in_(ids))
        .group_by(col(FloorplanAccrualLine.loan_id))
    )
    posted = {loan_id: int(total) for loan_id, total in rows}
    names = await _lender_names(session, {loan.lender_id for loan in loans})
    out = []
    for loan in loans:
        terms = terms_of(loan)
        out.append(
            LoanFigures(
                loan=loan,
                lender_name=names.get(loan.lender_id, ""),
                days_financed=terms.days_financed(as_of),
                interest_posted_fen=posted.get(loan.id, 0) - loan.interest_adjustment_fen,
                interest_to_date_fen=terms.interest_to_date(as_of),
            )
        )
    return out


async def accrual_lines_of(session: AsyncSession, loan_id: str) -> list[FloorplanAccrualLine]:
    rows = await session.execute(
        select(FloorplanAccrualLine)
        .where(col(FloorplanAccrualLine.loan_id) == loan_id)
        .order_by(col(FloorplanAccrualLine.month))
    )
    return list(rows.scalars().all())


async def loans_for_vin(
    session: AsyncSession, principal: Principal, vin: str
) -> list[FloorplanLoan]:
    stmt = select(FloorplanLoan).where(col(FloorplanLoan.vin) == vin.strip().upper())
    stores = principal.store_filter()
    if stores is not None:
        stmt = stmt.where(col(FloorplanLoan.store_id).in_(stores))
    rows = await session.execute(stmt.order_by(col(FloorplanLoan.drawn_on).desc()))
    loans = list(rows.scalars().all())
    if not loans:
        raise NotFound(f"No floor-plan loan for vehicle {vin} in your stores.")
    return loans
