"""The books over HTTP: a store's chart of accounts (会计科目), the journal (凭证) with each entry's
source document, manual adjusting entries and reversals (红字冲销).

Posted entries never change: there is no PUT, PATCH or DELETE; a mistake is corrected with a
reversal (once per entry) and, if needed, a new entry. Every read and write is scoped to the
caller's stores; another store's entry answers 404.
"""

from __future__ import annotations

import re
import uuid
from collections import defaultdict
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field
from sqlalchemy import exists, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from marque_finance import books
from marque_finance.api.deps import FinanceDep
from marque_finance.domain.accounts import (
    TEMPLATE,
    TEMPLATE_BY_CODE,
    BusinessLine,
    new_store_account,
)
from marque_finance.domain.ledger import (
    EntryDraft,
    Line,
    first_day,
    next_period,
    parse_period,
    period_of,
)
from marque_finance.models import Account, JournalEntry, JournalLine
from marque_kit.auth import Principal
from marque_kit.errors import AlreadyExists, Conflict, InvalidInput, NotFound
from marque_kit.http import (
    CurrentPrincipal,
    Day,
    IdempotencyDep,
    Page,
    PageQuery,
    paginate,
    permission,
    scope_to_stores,
)

ACCOUNTS_READ = "finance.accounts:read"
ACCOUNTS_WRITE = "finance.accounts:write"
JOURNAL_READ = "finance.journal:read"
JOURNAL_WRITE = "finance.journal:write"

MANUAL = "manual"
# One line's amount is at most 10^12 CNY: far beyond any dealer, far below BIGINT.
MAX_LINE_FEN = 100_000_000_000_000
ACCOUNT_CODE = re.compile(r"^\d{4}(\.\d{2})?$")
# Template accounts that already group sub-accounts: a store may add its own beside them. A leaf
# such as 1002 (bank) is posted to directly by the automatic rules; a sub-account under it would
# turn it into a parent, which no entry may post to.
EXTENDABLE = frozenset(a.parent_code for a in TEMPLATE if a.parent_code)

router = APIRouter(prefix="/api/v1/finance", tags=["ledger"])


# --- chart of accounts ---------------------------------------------------------------------


class AccountOut(BaseModel):
    code: str = Field(examples=["6602.20"])
    name: str = Field(examples=["管理费用-办公耗材"])
    name_en: str
    category: str = Field(examples=["expense"])
    normal_side: str = Field(examples=["debit"])
    parent_code: str
    from_template: bool


class AccountIn(BaseModel):
    code: str = Field(min_length=4, max_length=10, examples=["6602.20"])
    name: str = Field(min_length=1, max_length=100, examples=["管理费用-展厅布置"])
    name_en: str = Field("", max_length=100, examples=["Admin: showroom decoration"])


def _account_out(a: Account) -> AccountOut:
    return AccountOut(
        code=a.code,
        name=a.name,
        name_en=a.name_en,
        category=a.category,
        normal_side=a.normal_side,
        parent_code=a.parent_code,
        from_template=a.from_template,
    )


@router.get(
    "/stores/{store_id}/accounts",
    response_model=Page[AccountOut],
    dependencies=[permission(ACCOUNTS_READ)],
)
async def list_accounts(
    store_id: str, principal: CurrentPrincipal, finance: FinanceDep, page: PageQuery
) -> Page[AccountOut]:
    """The store's chart of accounts by code: the group template plus the store's own
    sub-accounts. The store's books open (a copy of the template) on first use."""
    principal.require_store(store_id, what=f"Store {store_id}")
    _check_store_id(store_id)
    async with finance.uow() as uow:
        await books.ensure_books(uow.session, store_id)
        await uow.commit()
    async with finance.db.session() as session:
        stmt = select(Account).where(col(Account.store_id) == store_id)
        rows, next_cursor = await paginate(session, stmt, page, order=(col(Account.code),))
    return Page(items=[_account_out(a) for a in rows], next_cursor=next_cursor)


@router.post(
    "/stores/{store_id}/accounts",
    status_code=201,
    response_model=AccountOut,
    dependencies=[permission(ACCOUNTS_WRITE)],
)
async def add_account(
    store_id: str,
    body: AccountIn,
    principal: CurrentPrincipal,
    finance: FinanceDep,
    idem: IdempotencyDep,
) -> Response:
    """Add a store's own sub-account beside the template's (e.g. `6602.20` under 管理费用).
    Only grouping accounts (1405, 2202, 6601, 6602, ...) take store sub-accounts."""
    principal.require_store(store_id, what=f"Store {store_id}")
    _check_store_id(store_id)
    code = body.code.strip()
    async with finance.uow() as uow:
        if replay := await idem.begin(uow.session, body):
            return replay
        await books.ensure_books(uow.session, store_id)
        existing = set(
            (
                await uow.session.execute(
                    select(col(Account.code)).where(col(Account.store_id) == store_id)
                )
            )
            .scalars()
            .all()
        )
        if code in existing:
            raise AlreadyExists(f"Account {code} is already in store {store_id}'s chart.")
        account = new_store_account(code, body.name, body.name_en, existing)
        if account.parent_code not in EXTENDABLE:
            parent = TEMPLATE_BY_CODE[account.parent_code]
            raise InvalidInput(
                f"Account {account.parent_code} ({parent.name}) is posted to directly; a "
                f"sub-account under it would stop those postings. Add store accounts under a "
                f"grouping account: {', '.join(sorted(EXTENDABLE))}.",
                errors=[{"field": "code", "rule": "extendable_parent"}],
            )
        inserted = await uow.session.execute(
            pg_insert(Account)
            .values(
                store_id=store_id,
                code=account.code,
                name=account.name,
                name_en=account.name_en,
                category=account.category.value,
                normal_side=account.normal_side.value,
                parent_code=account.parent_code,
                from_template=False,
            )
            .on_conflict_do_nothing()
            .returning(col(Account.code))
        )
        if inserted.first() is None:
            raise AlreadyExists(f"Account {code} is already in store {store_id}'s chart.")
        out = AccountOut(
            code=account.code,
            name=account.name,
            name_en=account.name_en,
            category=account.category.value,
            normal_side=account.normal_side.value,
            parent_code=account.parent_code,
            from_template=False,
        )
        response = await idem.complete(uow.session, 201, out)
        await uow.commit()
    return response


def _check_store_id(store_id: str) -> None:
    if not 0 < len(store_id) <= 20:
        raise InvalidInput(
            "A store id has 1 to 20 characters.", errors=[{"field": "store_id", "rule": "length"}]
        )


# --- journal -------------------------------------------------------------------------------


class LineOut(BaseModel):
    line_no: int
    account: str = Field(examples=["1405.01"])
    debit_fen: int
    credit_fen: int
    business_line: str
    model_code: str
    vin: str
    counterparty_store_id: str
    party: str
    memo: str


class EntryOut(BaseModel):
    id: str
    number: str = Field(examples=["JE-SH01-202611-000042"])
    store_id: str
    period: str
    entry_date: date
    original_date: date = Field(
        description="The business date; differs from entry_date when its period was closed."
    )
    description: str
    source_type: str = Field(examples=["marque.inventory.v1.VehicleArrived", "manual"])
    source_id: str = Field(description="The source document (VIN, transfer, invoice, ...).")
    source_event_id: str
    rule: str = Field(examples=["vehicle_received"])
    reverses_entry_id: str | None
    reversed_by: str | None = Field(description="The entry that reversed this one, if any.")
    note: str
    total_fen: int
    created_by: str
    posted_at: datetime | None
    lines: list[LineOut]


def _entry_out(entry: JournalEntry, lines: list[JournalLine], reversed_by: str | None) -> EntryOut:
    return EntryOut(
        id=entry.id,
        number=entry.number,
        store_id=entry.store_id,
        period=entry.period,
        entry_date=entry.entry_date,
        original_date=entry.original_date,
        description=entry.description,
        source_type=entry.source_type,
        source_id=entry.source_id,
        source_event_id=entry.source_event_id,
        rule=entry.rule,
        reverses_entry_id=entry.reverses_entry_id,
        reversed_by=reversed_by,
        note=entry.note,
        total_fen=entry.total_fen,
        created_by=entry.created_by,
        posted_at=entry.posted_at,
        lines=[
            LineOut(
                line_no=line.line_no,
                account=line.account_code,
                debit_fen=line.debit_fen,
                credit_fen=line.credit_fen,
                business_line=line.business_line,
                model_code=line.model_code,
                vin=line.vin,
                counterparty_store_id=line.counterparty_store_id,
                party=line.party,
                memo=line.memo,
            )
            for line in lines
        ],
    )


async def _entries_out(session: AsyncSession, entries: list[JournalEntry]) -> list[EntryOut]:
    """Entries with their lines and reversals, in two queries for the whole page."""
    ids = [e.id for e in entries]
    if not ids:
        return []
    lines: dict[str, list[JournalLine]] = defaultdict(list)
    for line in (
        await session.execute(
            select(JournalLine)
            .where(col(JournalLine.entry_id).in_(ids))
            .order_by(col(JournalLine.entry_id), col(JournalLine.line_no))
        )
    ).scalars():
        lines[line.entry_id].append(line)
    reversed_by = dict(
        (
            await session.execute(
                select(col(JournalEntry.reverses_entry_id), col(JournalEntry.id)).where(
                    col(JournalEntry.reverses_entry_id).in_(ids)
                )
            )
        )
        .tuples()
        .all()
    )
    return [_entry_out(e, lines[e.id], reversed_by.get(e.id)) for e in entries]


async def _visible_entry(
    session: AsyncSession, principal: Principal, entry_id: str
) -> JournalEntry:
    entry = await session.get(JournalEntry, entry_id)
    if entry is None or not principal.sees_store(entry.store_id):
        raise NotFound(f"Journal entry {entry_id} was not found in your stores.")
    return entry


def _account_filter(account: str) -> Any:
    if not ACCOUNT_CODE.match(account):
        raise InvalidInput(
            f"Account {account!r} is not an account code like 1405 or 1405.01.",
            errors=[{"field": "account", "location": "query", "rule": "format"}],
        )
    return exists().where(
        col(JournalLine.entry_id) == col(JournalEntry.id),
        or_(
            col(JournalLine.account_code) == account,
            col(JournalLine.account_code).like(account + ".%"),
        ),
    )


@router.get("/journal", response_model=Page[EntryOut], dependencies=[permission(JOURNAL_READ)])
async def list_journal(
    principal: CurrentPrincipal,
    finance: FinanceDep,
    page: PageQuery,
    store_id: Annotated[str | None, Query(max_length=20)] = None,
    period: Annotated[str | None, Query(description="One month, YYYY-MM")] = None,
    from_period: Annotated[str | None, Query(description="First month, YYYY-MM")] = None,
    to_period: Annotated[str | None, Query(description="Last month, YYYY-MM")] = None,
    account: Annotated[
        str | None, Query(max_length=10, description="Entries touching it or its sub-accounts")
    ] = None,
    source_type: Annotated[str | None, Query(max_length=80)] = None,
    source_id: Annotated[str | None, Query(max_length=120)] = None,
) -> Page[EntryOut]:
    """Journal entries of the caller's stores with their lines, newest first (by entry date, then
    number). Filter by store, month or month range, account (with its sub-accounts) and source
    document."""
    stmt = select(JournalEntry)
    if store_id:
        principal.require_store(store_id, what=f"Store {store_id}")
        stmt = stmt.where(col(JournalEntry.store_id) == store_id)
    else:
        stmt = scope_to_stores(stmt, col(JournalEntry.store_id), principal)
    if period:
        stmt = stmt.where(col(JournalEntry.period) == parse_period(period))
    first = parse_period(from_period) if from_period else None
    last = parse_period(to_period) if to_period else None
    if first and last and first > last:
        raise InvalidInput(
            f"from_period {first} comes after to_period {last}; swap them.",
            errors=[{"field": "from_period", "location": "query", "rule": "order"}],
        )
    if first:
        stmt = stmt.where(col(JournalEntry.period) >= first)
    if last:
        stmt = stmt.where(col(JournalEntry.period) <= last)
    if account:
        stmt = stmt.where(_account_filter(account))
    if source_type:
        stmt = stmt.where(col(JournalEntry.source_type) == source_type)
    if source_id:
        stmt = stmt.where(col(JournalEntry.source_id) == source_id)
    async with finance.db.session() as session:
        rows, next_cursor = await paginate(
            session,
            stmt,
            page,
            order=(col(JournalEntry.entry_date), col(JournalEntry.number)),
            descending=True,
        )
        items = await _entries_out(session, rows)
    return Page(items=items, next_cursor=next_cursor)


@router.get("/journal/{entry_id}", response_model=EntryOut, dependencies=[permission(JOURNAL_READ)])
async def read_entry(entry_id: str, principal: CurrentPrincipal, finance: FinanceDep) -> EntryOut:
    """One entry with its lines, its source document (type, id, event) and its reversal, if any."""
    async with finance.db.session() as session:
        entry = await _visible_entry(session, principal, entry_id)
        (out,) = await _entries_out(session, [entry])
    return out


class LineIn(BaseModel):
    account: str = Field(min_length=4, max_length=10, examples=["6602.02"])
    debit_fen: int = Field(0, ge=0, le=MAX_LINE_FEN, strict=True, examples=[150_000])
    credit_fen: int = Field(0, ge=0, le=MAX_LINE_FEN, strict=True, examples=[0])
    business_line: BusinessLine | None = None
    model_code: str = Field("", max_length=40)
    vin: str = Field("", max_length=17)
    counterparty_store_id: str = Field(
        "", max_length=20, description="Required on the inter-store account 1901."
    )
    party: str = Field("", max_length=80)
    memo: str = Field("", max_length=500)


class ManualEntryIn(BaseModel):
    store_id: str = Field(min_length=1, max_length=20, examples=["SH01"])
    entry_date: Day = Field(examples=["2026-11-30"])
    description: str = Field(
        min_length=1, max_length=500, examples=["Accrue November showroom electricity"]
    )
    lines: list[LineIn] = Field(max_length=200)
    note: str = Field("", max_length=500)


def _manual_draft(body: ManualEntryIn, principal: Principal, today: date) -> EntryDraft:
    latest = next_period(period_of(today))
    if body.entry_date >= first_day(latest):
        raise InvalidInput(
            f"An adjusting entry is dated in the current month or earlier; "
            f"{body.entry_date.isoformat()} is later.",
            errors=[{"field": "entry_date", "rule": "not_future"}],
        )
    for n, line in enumerate(body.lines):
        if line.account == "1901" and (
            not line.counterparty_store_id or line.counterparty_store_id == body.store_id
        ):
            raise InvalidInput(
                "A line on the inter-store account 1901 names the other store of the pair "
                "(counterparty_store_id).",
                errors=[{"field": f"lines[{n}].counterparty_store_id", "rule": "required"}],
            )
    document = str(uuid.uuid4())
    return EntryDraft(
        store_id=body.store_id,
        entry_date=body.entry_date,
        description=body.description.strip(),
        source_type=MANUAL,
        source_id=document,
        source_event_id=f"{MANUAL}:{document}",
        rule=MANUAL,
        created_by=principal.label(),
        note=body.note.strip(),
        lines=tuple(
            Line(
                account=line.account.strip(),
                debit=line.debit_fen,
                credit=line.credit_fen,
                business_line=line.business_line.value if line.business_line else "",
                model_code=line.model_code,
                vin=line.vin,
                counterparty_store=line.counterparty_store_id,
                party=line.party,
                memo=line.memo,
            )
            for line in body.lines
        ),
    )


@router.post(
    "/journal", status_code=201, response_model=EntryOut, dependencies=[permission(JOURNAL_WRITE)]
)
async def post_manual_entry(
    body: ManualEntryIn, principal: CurrentPrincipal, finance: FinanceDep, idem: IdempotencyDep
) -> Response:
    """A manual adjusting entry (手工凭证) by finance. Debits must equal credits (422 names the
    difference); every account must be a leaf of the store's chart (422 otherwise). Dated in a
    closed month, it lands in the next open one, with a note."""
    principal.require_store(body.store_id, what=f"Store {body.store_id}")
    draft = _manual_draft(body, principal, finance.today())
    async with finance.uow() as uow:
        if replay := await idem.begin(uow.session, body):
            return replay
        posted = await books.post(uow.session, draft)
        if posted is None:  # a fresh document id: cannot have been posted before
            raise Conflict("This entry was posted already; reload the journal.")
        entry = await _visible_entry(uow.session, principal, posted.id)
        (out,) = await _entries_out(uow.session, [entry])
        response = await idem.complete(uow.session, 201, out)
        await uow.commit()
    return response


class ReversalIn(BaseModel):
    reason: str = Field(
        "", max_length=500, description="Why; required.", examples=["Posted to the wrong store"]
    )
    on: Day | None = Field(None, description="Date of the reversal; default today.")


@router.post(
    "/journal/{entry_id}/reversal",
    status_code=201,
    response_model=EntryOut,
    dependencies=[permission(JOURNAL_WRITE)],
)
async def reverse_entry(
    entry_id: str,
    body: ReversalIn,
    principal: CurrentPrincipal,
    finance: FinanceDep,
    idem: IdempotencyDep,
) -> Response:
    """Cancel a posted entry with its mirror image (红冲), dated `on` (default today). An entry is
    reversed once (409 after) and a reversal is never itself reversed (409)."""
    async with finance.uow() as uow:
        if replay := await idem.begin(uow.session, body):
            return replay
        entry = await _visible_entry(uow.session, principal, entry_id)
        on = body.on or finance.today()
        if on < entry.entry_date:
            raise InvalidInput(
                f"A reversal cannot be dated before the entry it reverses "
                f"({entry.entry_date.isoformat()}).",
                errors=[{"field": "on", "rule": "after_original"}],
            )
        posted = await books.reverse(
            uow.session, entry_id, on=on, reason=body.reason, actor=principal.label()
        )
        reversal = await _visible_entry(uow.session, principal, posted.id)
        (out,) = await _entries_out(uow.session, [reversal])
        response = await idem.complete(uow.session, 201, out)
        await uow.commit()
    return response
