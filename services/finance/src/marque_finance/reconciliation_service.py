"""Bank reconciliation over the database: import statements, auto-match them against the bank book
(journal lines on 1002), and let a person match, explain or unmatch what is left.

Every command runs in the caller's transaction and first takes the store's reconciliation lock
(a transaction-scoped advisory lock), so two imports, a rematch and a manual match of one store
never race for the same bank-book line. The rules themselves live in `domain/reconciliation.py`
and `domain/posting_rules/bank.py`.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import Select, and_, exists, func, or_, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlmodel import col

from marque_finance import books
from marque_finance.domain import reconciliation as rules
from marque_finance.domain.accounts import BANK
from marque_finance.domain.money import format_yuan
from marque_finance.domain.posting_rules import bank as bank_rules
from marque_finance.models import BankStatement, BankStatementLine, JournalEntry, JournalLine
from marque_kit.auth import Principal
from marque_kit.errors import Conflict, InvalidInput, NotFound
from marque_kit.http import check_version

READ = "finance.bank:read"
WRITE = "finance.bank:write"
MAX_STATEMENT_BYTES = 5 * 1024 * 1024
# Exceptions look this far around a line for bank-book lines its reference names (near misses).
NEAR_MISS_DAYS = 31
_INSERT_CHUNK = 1000


class LineStatus(StrEnum):
    UNMATCHED = "unmatched"
    EXACT = "exact"
    FUZZY = "fuzzy"
    MANUAL = "manual"
    EXPLAINED = "explained"


MATCHED = (LineStatus.EXACT, LineStatus.FUZZY, LineStatus.MANUAL)


@dataclass(frozen=True)
class BookLineView:
    """A bank-book line as a person drills into it: line -> entry -> source document."""

    journal_line_id: int
    store_id: str
    account_code: str
    entry_id: str
    entry_number: str
    entry_date: date
    amount_fen: int
    memo: str
    source_type: str
    source_id: str
    description: str

    def rule_view(self) -> rules.BankBookLine:
        return rules.BankBookLine(
            self.journal_line_id, self.entry_date, self.amount_fen, self.memo, self.source_id
        )


@dataclass(frozen=True)
class StatementView:
    statement: BankStatement
    counts: dict[str, int]


@dataclass(frozen=True)
class ExceptionView:
    line: BankStatementLine
    diagnosis: rules.Diagnosis
    candidates: list[BookLineView]
    near_misses: list[tuple[BookLineView, str]]


def _open_line(line: BankStatementLine) -> rules.OpenLine:
    assert line.id is not None
    return rules.OpenLine(
        line.id,
        line.value_date,
        line.amount_fen,
        line.reference,
        frozenset(line.rejected_journal_line_ids or ()),
    )


async def lock_store(session: AsyncSession, store_id: str) -> None:
    """Serialise reconciliation commands of one store until the transaction ends."""
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": f"finance.bank:{store_id}"}
    )


# --- the bank book -----------------------------------------------------------------------------


def book_select() -> Select[Any]:
    """Journal lines on the bank account (1002 and any store sub-account), with their entry."""
    columns: list[Any] = [
        col(JournalLine.id).label("journal_line_id"),
        col(JournalLine.store_id).label("store_id"),
        col(JournalLine.account_code).label("account_code"),
        col(JournalEntry.id).label("entry_id"),
        col(JournalEntry.number).label("entry_number"),
        col(JournalEntry.original_date).label("entry_date"),
        (col(JournalLine.debit_fen) - col(JournalLine.credit_fen)).label("amount_fen"),
        col(JournalLine.memo).label("memo"),
        col(JournalEntry.source_type).label("source_type"),
        col(JournalEntry.source_id).label("source_id"),
        col(JournalEntry.description).label("description"),
    ]
    return (
        select(*columns)
        .join(JournalEntry, col(JournalEntry.id) == col(JournalLine.entry_id))
        .where(
            or_(
                col(JournalLine.account_code) == BANK,
                col(JournalLine.account_code).like(BANK + ".%"),
            )
        )
    )


def unreconciled() -> Any:
    """Bank-book lines still open: not matched, and neither a reversal nor reversed.

    A reversed receipt and its reversal cancel out in the books; neither is money the bank moved.
    """
    reversal = aliased(JournalEntry)
    return and_(
        col(JournalEntry.reverses_entry_id).is_(None),
        ~exists().where(col(reversal.reverses_entry_id) == col(JournalEntry.id)),
        ~exists().where(col(BankStatementLine.journal_line_id) == col(JournalLine.id)),
    )


def book_view(row: Any) -> BookLineView:
    return BookLineView(
        journal_line_id=row.journal_line_id,
        store_id=row.store_id,
        account_code=row.account_code,
        entry_id=row.entry_id,
        entry_number=row.entry_number,
        entry_date=row.entry_date,
        amount_fen=int(row.amount_fen),
        memo=row.memo,
        source_type=row.source_type,
        source_id=row.source_id,
        description=row.description,
    )


async def open_book(
    session: AsyncSession, store_id: str, first: date, last: date
) -> list[BookLineView]:
    rows = await session.execute(
        book_select().where(
            col(JournalLine.store_id) == store_id,
            col(JournalEntry.original_date).between(first, last),
            unreconciled(),
        )
    )
    return [book_view(r) for r in rows]


async def book_lines(session: AsyncSession, ids: Iterable[int | None]) -> dict[int, BookLineView]:
    wanted = sorted({i for i in ids if i is not None})
    if not wanted:
        return {}
    rows = await session.execute(book_select().where(col(JournalLine.id).in_(wanted)))
    return {r.journal_line_id: book_view(r) for r in rows}


# --- statements --------------------------------------------------------------------------------


async def import_statement(
    session: AsyncSession,
    principal: Principal,
    *,
    store_id: str,
    bank_account: str,
    filename: str,
    data: bytes,
    window_days: int,
) -> tuple[StatementView, bool]:
    """Import a statement file and auto-match its new lines; (statement, created).

    The same file again (by SHA-256, per store) answers the statement it made the first time and
    changes nothing. Lines an earlier, overlapping statement brought are not added twice.
    """
    principal.require_store(store_id, what=f"Store {store_id}")
    if not data:
        raise InvalidInput(
            "The statement file is empty.", errors=[{"field": "file", "rule": "empty"}]
        )
    if len(data) > MAX_STATEMENT_BYTES:
        raise InvalidInput(
            f"The statement file is larger than {MAX_STATEMENT_BYTES // (1024 * 1024)} MB; "
            "split it by month and upload the parts.",
            errors=[{"field": "file", "rule": "too_large"}],
        )
    digest = hashlib.sha256(data).hexdigest()
    account = bank_account.strip()
    parsed = rules.parse_statement(data)
    keys = rules.line_keys(parsed, account)
    await lock_store(session, store_id)
    existing = (
        await session.execute(
            select(BankStatement).where(
                col(BankStatement.store_id) == store_id, col(BankStatement.file_sha256) == digest
            )
        )
    ).scalar_one_or_none()
    if existing is not None:
        return await statement_view(session, existing), False
    statement = BankStatement(
        id=str(uuid.uuid4()),
        store_id=store_id,
        bank_account=account,
        filename=filename.replace("\x00", "")[:200],  # a multipart filename may hold NUL
        file_sha256=digest,
        first_date=min(line.value_date for line in parsed),
        last_date=max(line.value_date for line in parsed),
        rows_in_file=len(parsed),
        lines_new=0,
        lines_already_imported=0,
        imported_by=principal.subject,
    )
    session.add(statement)
    await session.flush()
    new_ids: list[int] = []
    values = [
        {
            "statement_id": statement.id,
            "store_id": store_id,
            "bank_account": account,
            "row_no": line.row,
            "value_date": line.value_date,
            "amount_fen": line.amount_fen,
            "reference": line.reference,
            "counterparty": line.counterparty,
            "description": line.description,
            "line_key": key,
        }
        for line, key in zip(parsed, keys, strict=True)
    ]
    for start in range(0, len(values), _INSERT_CHUNK):
        inserted = await session.execute(
            pg_insert(BankStatementLine)
            .values(values[start : start + _INSERT_CHUNK])
            .on_conflict_do_nothing(constraint="bank_statement_lines_key")
            .returning(col(BankStatementLine.id))
        )
        new_ids.extend(i for i in inserted.scalars() if i is not None)
    statement.lines_new = len(new_ids)
    statement.lines_already_imported = len(parsed) - len(new_ids)
    await session.flush()
    rows = await _lines(session, col(BankStatementLine.id).in_(new_ids)) if new_ids else []
    await _auto_match(session, store_id, rows, window_days)
    return await statement_view(session, statement), True


async def _lines(session: AsyncSession, *where: Any) -> list[BankStatementLine]:
    result = await session.execute(
        select(BankStatementLine)
        .where(*where)
        .order_by(col(BankStatementLine.id))
        .execution_options(populate_existing=True)
    )
    return list(result.scalars())


async def _auto_match(
    session: AsyncSession, store_id: str, lines: Sequence[BankStatementLine], window_days: int
) -> int:
    """Run the matching rules over open statement lines; returns how many were matched."""
    waiting = [line for line in lines if line.status == LineStatus.UNMATCHED]
    if not waiting:
        return 0
    margin = timedelta(days=window_days)
    book = await open_book(
        session,
        store_id,
        min(line.value_date for line in waiting) - margin,
        max(line.value_date for line in waiting) + margin,
    )
    by_id = {b.journal_line_id: b for b in book}
    run = rules.auto_match(
        [_open_line(line) for line in waiting], [b.rule_view() for b in book], window_days
    )
    lines_by_id = {line.id: line for line in waiting}
    for match in run.matches:
        line = lines_by_id[match.line_id]
        line.status = match.kind.value
        line.journal_line_id = match.journal_line_id
        line.entry_id = by_id[match.journal_line_id].entry_id
        line.matched_by = "auto"
        line.matched_at = datetime.now(UTC)
        line.version += 1
    await session.flush()
    return len(run.matches)


async def statement_counts(
    session: AsyncSession, statement_ids: Sequence[str]
) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = {s: dict.fromkeys(LineStatus, 0) for s in statement_ids}
    if not statement_ids:
        return counts
    rows = await session.execute(
        select(col(BankStatementLine.statement_id), col(BankStatementLine.status), func.count())
        .where(col(BankStatementLine.statement_id).in_(statement_ids))
        .group_by(col(BankStatementLine.statement_id), col(BankStatementLine.status))
    )
    for statement_id, status, count in rows:
        counts[statement_id][status] = int(count)
    return {s: {str(k): v for k, v in c.items()} for s, c in counts.items()}


async def statement_view(session: AsyncSession, statement: BankStatement) -> StatementView:
    counts = await statement_counts(session, [statement.id])
    return StatementView(statement, counts[statement.id])


async def get_statement(
    session: AsyncSession, principal: Principal, statement_id: str
) -> BankStatement:
    statement = await session.get(BankStatement, statement_id)
    if statement is None or not principal.sees_store(statement.store_id):
        raise NotFound(f"Bank statement {statement_id} was not found in your stores.")
    return statement


async def rematch(
    session: AsyncSession, principal: Principal, statement_id: str, window_days: int
) -> tuple[StatementView, int]:
    """Auto-match the statement's open lines again (receipts posted since may now fit)."""
    statement = await get_statement(session, principal, statement_id)
    await lock_store(session, statement.store_id)
    open_lines = await _lines(
        session,
        col(BankStatementLine.statement_id) == statement.id,
        col(BankStatementLine.status) == LineStatus.UNMATCHED.value,
    )
    matched = await _auto_match(session, statement.store_id, open_lines, window_days)
    return await statement_view(session, statement), matched


# --- a person's actions on a line --------------------------------------------------------------


async def get_line(session: AsyncSession, principal: Principal, line_id: int) -> BankStatementLine:
    line = await session.get(BankStatementLine, line_id)
    if line is None or not principal.sees_store(line.store_id):
        raise NotFound(f"Bank statement line {line_id} was not found in your stores.")
    return line


async def _line_for_change(
    session: AsyncSession, principal: Principal, line_id: int, expected_version: int
) -> BankStatementLine:
    line = await get_line(session, principal, line_id)
    await lock_store(session, line.store_id)
    (line,) = await _lines(session, col(BankStatementLine.id) == line_id)
    check_version(line.version, expected_version)
    return line


def _describe(line: BankStatementLine) -> str:
    ref = f" ({line.reference})" if line.reference else ""
    return f"Statement line {line.id}{ref} of {format_yuan(line.amount_fen)} CNY"


async def match_line(
    session: AsyncSession,
    principal: Principal,
    line_id: int,
    journal_line_id: int,
    expected_version: int,
) -> BankStatementLine:
    """A person pairs a statement line with a bank-book line (no date window applies)."""
    line = await _line_for_change(session, principal, line_id, expected_version)
    if line.status != LineStatus.UNMATCHED:
        raise Conflict(
            f"{_describe(line)} is already {line.status}; unmatch it first to match it again."
        )
    book = (await book_lines(session, [journal_line_id])).get(journal_line_id)
    if book is None or book.store_id != line.store_id:
        raise NotFound(
            f"Journal line {journal_line_id} was not found in store {line.store_id}'s bank book."
        )
    if not bank_rules.is_bank_account(book.account_code):
        raise InvalidInput(
            f"Journal line {journal_line_id} is on account {book.account_code}, not the bank "
            f"account {BANK}; only bank-book lines can be matched.",
            errors=[{"field": "journal_line_id", "rule": "bank_account"}],
        )
    taken = (
        await session.execute(
            select(col(BankStatementLine.id)).where(
                col(BankStatementLine.journal_line_id) == journal_line_id
            )
        )
    ).scalar_one_or_none()
    if taken is not None:
        raise Conflict(
            f"Journal line {journal_line_id} ({book.entry_number}) is already matched to "
            f"statement line {taken}; unmatch that one first."
        )
    if book.amount_fen != line.amount_fen:
        raise Conflict(
            f"The amounts differ: {_describe(line)}, bank-book line {journal_line_id} "
            f"{format_yuan(book.amount_fen)} CNY. Only equal amounts match; explain the "
            "difference (a bank fee?) instead.",
            statement_amount_fen=line.amount_fen,
            book_amount_fen=book.amount_fen,
        )
    line.status = LineStatus.MANUAL.value
    line.journal_line_id = journal_line_id
    line.entry_id = book.entry_id
    line.matched_by = principal.subject
    line.matched_at = datetime.now(UTC)
    line.rejected_journal_line_ids = [
        i for i in line.rejected_journal_line_ids or () if i != journal_line_id
    ]
    line.version += 1
    await session.flush()
    return line


async def explain_line(
    session: AsyncSession,
    principal: Principal,
    line_id: int,
    *,
    reason: str,
    account_code: str,
    expected_version: int,
) -> BankStatementLine:
    """A line no document explains (a bank fee, interest): post it against `account_code`."""
    line = await _line_for_change(session, principal, line_id, expected_version)
    if line.status != LineStatus.UNMATCHED:
        raise Conflict(
            f"{_describe(line)} is already {line.status}; only an unmatched line is explained."
        )
    assert line.id is not None
    draft = bank_rules.explanation_entry(
        store_id=line.store_id,
        line_id=line.id,
        value_date=line.value_date,
        amount_fen=line.amount_fen,
        reference=line.reference,
        counterparty=line.counterparty,
        account_code=account_code,
        reason=reason,
        actor=principal.subject,
    )
    posted = await books.post(session, draft)
    if posted is None:
        raise Conflict(f"{_describe(line)} has been posted already.")
    bank_line = (
        await session.execute(
            select(col(JournalLine.id)).where(
                col(JournalLine.entry_id) == posted.id, col(JournalLine.account_code) == BANK
            )
        )
    ).scalar_one()
    line.status = LineStatus.EXPLAINED.value
    line.journal_line_id = bank_line
    line.entry_id = posted.id
    line.explanation = reason.strip()[:500]
    line.explained_account = account_code.strip()
    line.matched_by = principal.subject
    line.matched_at = datetime.now(UTC)
    line.version += 1
    await session.flush()
    return line


async def unmatch_line(
    session: AsyncSession, principal: Principal, line_id: int, expected_version: int
) -> BankStatementLine:
    """Undo a match (auto or manual); that pair is not proposed by auto-match again."""
    line = await _line_for_change(session, principal, line_id, expected_version)
    if line.status == LineStatus.EXPLAINED:
        raise Conflict(
            f"{_describe(line)} was explained with entry {line.entry_id}; an explanation is "
            "undone by reversing that entry in the ledger, not here."
        )
    if line.status not in MATCHED or line.journal_line_id is None:
        raise Conflict(f"{_describe(line)} is not matched; nothing to undo.")
    line.rejected_journal_line_ids = [
        *(line.rejected_journal_line_ids or ()),
        line.journal_line_id,
    ]
    line.status = LineStatus.UNMATCHED.value
    line.journal_line_id = None
    line.entry_id = None
    line.matched_by = None
    line.matched_at = None
    line.version += 1
    await session.flush()
    return line


# --- what is left for a person -----------------------------------------------------------------


async def diagnose(
    session: AsyncSession, lines: Sequence[BankStatementLine], window_days: int
) -> list[ExceptionView]:
    """Why each unmatched line is open, with candidates and near misses, as the books are now."""
    out: dict[int | None, ExceptionView] = {}
    by_store: dict[str, list[BankStatementLine]] = {}
    for line in lines:
        by_store.setdefault(line.store_id, []).append(line)
    reach = timedelta(days=max(window_days, NEAR_MISS_DAYS))
    for store_id, store_lines in by_store.items():
        book = await open_book(
            session,
            store_id,
            min(line.value_date for line in store_lines) - reach,
            max(line.value_date for line in store_lines) + reach,
        )
        by_id = {b.journal_line_id: b for b in book}
        pool = [b.rule_view() for b in book]
        for line in store_lines:
            diagnosis = rules.diagnose(_open_line(line), pool, window_days)
            out[line.id] = ExceptionView(
                line,
                diagnosis,
                [by_id[i] for i in diagnosis.candidates],
                [(by_id[n.journal_line_id], n.why) for n in diagnosis.near_misses],
            )
    return [out[line.id] for line in lines]
