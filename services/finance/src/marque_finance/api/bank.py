"""Bank reconciliation (银行对账): upload a statement, see what matched the bank book, and work
the exceptions: match by hand, explain (post a bank fee or interest), or undo a match."""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, File, Form, Path, Query, Response, UploadFile
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlmodel import col

from marque_finance.api.deps import FinanceDep
from marque_finance.models import BankStatement, BankStatementLine, JournalEntry, JournalLine
from marque_finance.reconciliation_service import (
    MAX_STATEMENT_BYTES,
    READ,
    WRITE,
    BookLineView,
    ExceptionView,
    LineStatus,
    StatementView,
    book_lines,
    book_select,
    book_view,
    diagnose,
    explain_line,
    get_line,
    get_statement,
    import_statement,
    match_line,
    rematch,
    statement_counts,
    statement_view,
    unmatch_line,
    unreconciled,
)
from marque_kit.errors import InvalidInput
from marque_kit.http import (
    CurrentPrincipal,
    Day,
    FormText,
    IdempotencyDep,
    IfMatch,
    Page,
    PageQuery,
    etag,
    paginate,
    permission,
    scope_to_stores,
)

BIGINT_MAX = 9_223_372_036_854_775_807
LineId = Annotated[int, Path(ge=1, le=BIGINT_MAX, description="A statement line's id.")]

router = APIRouter(prefix="/api/v1/finance/bank", tags=["bank reconciliation"])


class CountsOut(BaseModel):
    exact: int
    fuzzy: int
    manual: int
    explained: int
    unmatched: int


class StatementOut(BaseModel):
    id: str
    store_id: str
    bank_account: str
    filename: str
    file_sha256: str
    first_date: date
    last_date: date
    rows_in_file: int = Field(description="Lines in the uploaded file.")
    lines_new: int = Field(description="Lines this statement added (its own lines).")
    lines_already_imported: int = Field(
        description="Lines an earlier, overlapping statement of the store had already brought."
    )
    counts: CountsOut = Field(description="This statement's own lines by reconciliation status.")
    imported_by: str
    imported_at: datetime | None

    @classmethod
    def of(cls, view: StatementView) -> StatementOut:
        s = view.statement
        return cls(
            id=s.id,
            store_id=s.store_id,
            bank_account=s.bank_account,
            filename=s.filename,
            file_sha256=s.file_sha256,
            first_date=s.first_date,
            last_date=s.last_date,
            rows_in_file=s.rows_in_file,
            lines_new=s.lines_new,
            lines_already_imported=s.lines_already_imported,
            counts=CountsOut(**view.counts),
            imported_by=s.imported_by,
            imported_at=s.imported_at,
        )


class RematchOut(StatementOut):
    matched_now: int = Field(description="Lines this run matched.")


class BookLineOut(BaseModel):
    """A bank-book line (journal line on 1002), with the entry and document behind it."""

    journal_line_id: int
    entry_id: str
    entry_number: str
    entry_date: date
    amount_fen: int = Field(description="Money in positive (a debit on 1002), money out negative.")
    memo: str = Field(description="The bank's transaction reference, as the document recorded it.")
    source_type: str = Field(description="The document kind (receipt, payment, ...).")
    source_id: str = Field(description="The document's id or number.")
    description: str

    @classmethod
    def of(cls, view: BookLineView) -> BookLineOut:
        return cls(
            journal_line_id=view.journal_line_id,
            entry_id=view.entry_id,
            entry_number=view.entry_number,
            entry_date=view.entry_date,
            amount_fen=view.amount_fen,
            memo=view.memo,
            source_type=view.source_type,
            source_id=view.source_id,
            description=view.description,
        )


class LineOut(BaseModel):
    id: int
    statement_id: str
    store_id: str
    bank_account: str
    row_no: int = Field(description="Line number in the uploaded file.")
    value_date: date
    amount_fen: int = Field(description="Money in positive, money out negative (fen).")
    reference: str
    counterparty: str
    description: str
    status: LineStatus
    journal_line_id: int | None
    entry_id: str | None
    matched_with: BookLineOut | None = Field(
        description="The bank-book line it was matched with (or the entry posted to explain it)."
    )
    explanation: str
    explained_account: str
    matched_by: str | None
    matched_at: datetime | None
    version: int

    @classmethod
    def of(cls, line: BankStatementLine, book: dict[int, BookLineView]) -> LineOut:
        assert line.id is not None
        matched = book.get(line.journal_line_id) if line.journal_line_id is not None else None
        return cls(
            id=line.id,
            statement_id=line.statement_id,
            store_id=line.store_id,
            bank_account=line.bank_account,
            row_no=line.row_no,
            value_date=line.value_date,
            amount_fen=line.amount_fen,
            reference=line.reference,
            counterparty=line.counterparty,
            description=line.description,
            status=LineStatus(line.status),
            journal_line_id=line.journal_line_id,
            entry_id=line.entry_id,
            matched_with=BookLineOut.of(matched) if matched else None,
            explanation=line.explanation,
            explained_account=line.explained_account,
            matched_by=line.matched_by,
            matched_at=line.matched_at,
            version=line.version,
        )


class NearMissOut(BookLineOut):
    why: str = Field(description="What does not fit: the amount, or the date.")


class ExceptionOut(BaseModel):
    """An unmatched statement line and why, for a person to match or explain."""

    line: LineOut
    reason: str = Field(
        description="no_candidate | several_candidates | one_candidate (appeared since; rematch)"
    )
    message: str
    candidates: list[BookLineOut] = Field(
        description="Unmatched bank-book lines of the same amount within the date window."
    )
    near_misses: list[NearMissOut] = Field(
        description="Bank-book lines the reference names whose amount or date does not fit."
    )

    @classmethod
    def of(cls, view: ExceptionView) -> ExceptionOut:
        return cls(
            line=LineOut.of(view.line, {}),
            reason=view.diagnosis.reason.value,
            message=view.diagnosis.message,
            candidates=[BookLineOut.of(c) for c in view.candidates],
            near_misses=[
                NearMissOut(**BookLineOut.of(b).model_dump(), why=why)
                for b, why in view.near_misses
            ],
        )


class MatchIn(BaseModel):
    journal_line_id: int = Field(
        ge=1, le=BIGINT_MAX, description="The bank-book line (on 1002) to pair with."
    )


class ExplainIn(BaseModel):
    reason: str = Field(min_length=1, max_length=500, examples=["Bank fee 手续费 for November"])
    account_code: str = Field(
        min_length=4,
        max_length=10,
        examples=["6603"],
        description="The account the money came from or went to, e.g. 6603 财务费用 for a bank "
        "fee (debited) or interest income (credited).",
    )


async def _line_out(finance: FinanceDep, line: BankStatementLine, response: Response) -> LineOut:
    async with finance.db.session() as session:
        book = await book_lines(session, [line.journal_line_id])
    response.headers["ETag"] = etag(line.version)
    return LineOut.of(line, book)


@router.post(
    "/statements",
    status_code=201,
    response_model=StatementOut,
    dependencies=[permission(WRITE)],
    responses={200: {"model": StatementOut, "description": "This file was imported before."}},
)
async def upload_statement(
    principal: CurrentPrincipal,
    finance: FinanceDep,
    idem: IdempotencyDep,
    file: Annotated[UploadFile, File(description="The bank's CSV export.")],
    store_id: Annotated[FormText, Form(min_length=1, max_length=20, examples=["SH01"])],
    bank_account: Annotated[
        FormText, Form(max_length=60, description="Which of the store's bank accounts.")
    ] = "",
) -> Response:
    """Import a bank statement and auto-match it against the store's bank book.

    Send `multipart/form-data` with the file in `file`, plus `store_id` and optionally
    `bank_account` (e.g. "ICBC 1001-2345"). The file is the bank's CSV export: UTF-8 (with or
    without BOM) or GBK/GB18030, a header row with the columns `date, amount, reference,
    counterparty, description` or `交易日期, 金额 (or 收入 + 支出), 流水号/交易参考号,
    对方户名, 摘要`.
    Amounts are yuan with up to 2 decimals (`1,234.50`, `-300.00`); money out is negative.
    At most 5 MB.

    Answers 201 with the new statement, or 200 with the earlier statement when the same file
    (by SHA-256) was imported for this store before; then nothing changes. Lines an overlapping
    statement already brought are not added twice. A bad row refuses the whole file (422, each
    row named by its line number in the file).
    """
    data = await file.read(MAX_STATEMENT_BYTES + 1)
    uow = finance.uow()
    async with uow:
        fingerprint = {
            "store_id": store_id,
            "bank_account": bank_account,
            "sha256": hashlib.sha256(data).hexdigest(),
        }
        if replay := await idem.begin(uow.session, fingerprint):
            return replay
        view, created = await import_statement(
            uow.session,
            principal,
            store_id=store_id,
            bank_account=bank_account,
            filename=file.filename or "",
            data=data,
            window_days=finance.settings.reconciliation_window_days,
        )
        response = await idem.complete(uow.session, 201 if created else 200, StatementOut.of(view))
        await uow.commit()
    return response


@router.get("/statements", response_model=Page[StatementOut], dependencies=[permission(READ)])
async def list_statements(
    principal: CurrentPrincipal,
    finance: FinanceDep,
    page: PageQuery,
    store_id: str | None = None,
) -> Page[StatementOut]:
    """Imported statements in the caller's stores, newest first."""
    stmt = scope_to_stores(select(BankStatement), col(BankStatement.store_id), principal)
    if store_id:
        stmt = stmt.where(col(BankStatement.store_id) == store_id)
    async with finance.db.session() as session:
        rows, cursor = await paginate(
            session,
            stmt,
            page,
            order=(col(BankStatement.imported_at), col(BankStatement.id)),
            descending=True,
        )
        counts = await statement_counts(session, [r.id for r in rows])
    return Page(
        items=[StatementOut.of(StatementView(r, counts[r.id])) for r in rows], next_cursor=cursor
    )


@router.get(
    "/statements/{statement_id}", response_model=StatementOut, dependencies=[permission(READ)]
)
async def read_statement(
    statement_id: str, principal: CurrentPrincipal, finance: FinanceDep
) -> StatementOut:
    """A statement with its lines counted by status: exact, fuzzy, manual, explained, unmatched."""
    async with finance.db.session() as session:
        statement = await get_statement(session, principal, statement_id)
        return StatementOut.of(await statement_view(session, statement))


@router.get(
    "/statements/{statement_id}/lines",
    response_model=Page[LineOut],
    dependencies=[permission(READ)],
)
async def list_lines(
    statement_id: str,
    principal: CurrentPrincipal,
    finance: FinanceDep,
    page: PageQuery,
    status: LineStatus | None = None,
) -> Page[LineOut]:
    """The statement's own lines in file order, with what each was matched with."""
    async with finance.db.session() as session:
        statement = await get_statement(session, principal, statement_id)
        stmt = select(BankStatementLine).where(col(BankStatementLine.statement_id) == statement.id)
        if status:
            stmt = stmt.where(col(BankStatementLine.status) == status.value)
        rows, cursor = await paginate(
            session, stmt, page, order=(col(BankStatementLine.row_no), col(BankStatementLine.id))
        )
        book = await book_lines(session, [r.journal_line_id for r in rows])
    return Page(items=[LineOut.of(r, book) for r in rows], next_cursor=cursor)


@router.post(
    "/statements/{statement_id}/rematch",
    response_model=RematchOut,
    dependencies=[permission(WRITE)],
)
async def rematch_statement(
    statement_id: str, principal: CurrentPrincipal, finance: FinanceDep
) -> RematchOut:
    """Auto-match the statement's unmatched lines again, e.g. after late receipts were posted.

    Matched and explained lines are left alone, so running it twice changes nothing the second
    time."""
    async with finance.uow() as uow:
        view, matched = await rematch(
            uow.session, principal, statement_id, finance.settings.reconciliation_window_days
        )
        await uow.commit()
    return RematchOut(**StatementOut.of(view).model_dump(), matched_now=matched)


@router.get("/exceptions", response_model=Page[ExceptionOut], dependencies=[permission(READ)])
async def list_exceptions(
    principal: CurrentPrincipal,
    finance: FinanceDep,
    page: PageQuery,
    store_id: str | None = None,
) -> Page[ExceptionOut]:
    """Unmatched statement lines, oldest first, each with why and what could fit.

    Match one by hand (`POST /lines/{id}/match`), explain it (`POST /lines/{id}/explain`), or
    rematch its statement after the missing receipt or payment is posted."""
    stmt = scope_to_stores(
        select(BankStatementLine).where(
            col(BankStatementLine.status) == LineStatus.UNMATCHED.value
        ),
        col(BankStatementLine.store_id),
        principal,
    )
    if store_id:
        stmt = stmt.where(col(BankStatementLine.store_id) == store_id)
    async with finance.db.session() as session:
        rows, cursor = await paginate(
            session,
            stmt,
            page,
            order=(col(BankStatementLine.value_date), col(BankStatementLine.id)),
        )
        views = await diagnose(session, rows, finance.settings.reconciliation_window_days)
    return Page(items=[ExceptionOut.of(v) for v in views], next_cursor=cursor)


@router.get("/book-lines", response_model=Page[BookLineOut], dependencies=[permission(READ)])
async def list_book_lines(
    principal: CurrentPrincipal,
    finance: FinanceDep,
    page: PageQuery,
    store_id: Annotated[str, Query(min_length=1, max_length=20)],
    date_from: Day | None = None,
    date_to: Day | None = None,
) -> Page[BookLineOut]:
    """The store's bank-book lines no statement line has claimed yet (未达账项, in the books but
    not yet on a statement), oldest first: what a person can match by hand."""
    principal.require_store(store_id, what=f"Store {store_id}")
    if date_from and date_to and date_from > date_to:
        raise InvalidInput(
            "date_from comes after date_to.", errors=[{"field": "date_from", "rule": "order"}]
        )
    stmt = book_select().where(col(JournalLine.store_id) == store_id, unreconciled())
    if date_from:
        stmt = stmt.where(col(JournalEntry.original_date) >= date_from)
    if date_to:
        stmt = stmt.where(col(JournalEntry.original_date) <= date_to)
    async with finance.db.session() as session:
        rows, cursor = await paginate(
            session,
            stmt,
            page,
            order=(col(JournalEntry.original_date), col(JournalLine.id)),
            scalars=False,
            key=lambda r: [r.entry_date, r.journal_line_id],
        )
    return Page(items=[BookLineOut.of(book_view(r)) for r in rows], next_cursor=cursor)


@router.get("/lines/{line_id}", response_model=LineOut, dependencies=[permission(READ)])
async def read_line(
    line_id: LineId, principal: CurrentPrincipal, finance: FinanceDep, response: Response
) -> LineOut:
    """One statement line; its ETag is the version the line actions take in If-Match."""
    async with finance.db.session() as session:
        line = await get_line(session, principal, line_id)
    return await _line_out(finance, line, response)


@router.post("/lines/{line_id}/match", response_model=LineOut, dependencies=[permission(WRITE)])
async def match(
    line_id: LineId,
    body: MatchIn,
    principal: CurrentPrincipal,
    finance: FinanceDep,
    version: IfMatch,
    response: Response,
) -> LineOut:
    """Pair an unmatched line with a bank-book line by hand (409 when either is already matched
    or the amounts differ)."""
    async with finance.uow() as uow:
        line = await match_line(uow.session, principal, line_id, body.journal_line_id, version)
        await uow.commit()
    return await _line_out(finance, line, response)


@router.post("/lines/{line_id}/explain", response_model=LineOut, dependencies=[permission(WRITE)])
async def explain(
    line_id: LineId,
    body: ExplainIn,
    principal: CurrentPrincipal,
    finance: FinanceDep,
    version: IfMatch,
    response: Response,
) -> LineOut:
    """Book a line no document explains (bank fee, interest): posts Dr/Cr 1002 against
    `account_code` on the line's date, and marks the line explained."""
    async with finance.uow() as uow:
        line = await explain_line(
            uow.session,
            principal,
            line_id,
            reason=body.reason,
            account_code=body.account_code,
            expected_version=version,
        )
        await uow.commit()
    return await _line_out(finance, line, response)


@router.post("/lines/{line_id}/unmatch", response_model=LineOut, dependencies=[permission(WRITE)])
async def unmatch(
    line_id: LineId,
    principal: CurrentPrincipal,
    finance: FinanceDep,
    version: IfMatch,
    response: Response,
) -> LineOut:
    """Undo a match (automatic or manual); auto-match will not propose that pair again. An
    explanation is undone by reversing its entry instead."""
    async with finance.uow() as uow:
        line = await unmatch_line(uow.session, principal, line_id, version)
        await uow.commit()
    return await _line_out(finance, line, response)
