"""Bank reconciliation (银行对账): a bank statement against the store's bank book.

The bank book is every journal line on account 1002 (银行存款). Each receipt posts a debit there and
each payment a credit, with the bank's transaction reference in the line's memo and the document
number in the entry's source. A statement line is the bank's view of the same money: a credit on
the statement (money in, a positive amount) meets a debit in the bank book, a debit on the
statement (money out, negative) meets a credit.

The rulebook:

1. **Reading a statement.** A CSV file in UTF-8 (with or without BOM) or GBK/GB18030, with a
   header row naming the columns in English or in Chinese (交易日期, 金额 or 收入/支出, 流水号,
   对方户名, 摘要). Lines before the header (account number, period) and summary footers (合计,
   以下空白) are skipped. Amounts are yuan with at most two decimals, read to fen exactly. One bad
   row refuses the whole file, listing every bad row by its line number in the file.
2. **A line is imported once.** Its key is (bank account, date, amount, reference, counterparty,
   and the how-manieth identical line of the file it is), so a statement that overlaps an earlier
   one adds only the lines that are new.
3. **Auto-match.** Candidates of a statement line are the unmatched bank-book lines of the same
   store with the same signed amount, dated within the window (3 days by default).
   - EXACT: a candidate whose memo or document number agrees with the statement's reference
     (equal, case and surrounding blanks aside, or one contains the other when the shorter has at
     least 6 characters). The closest date wins if it is unique.
   - FUZZY: otherwise, the candidate closest in date, if no other is as close.
   - Otherwise the line is an exception for a person: no candidate, or several equally good.
   Exact matches are settled first, for the whole statement, so that a fuzzy guess never takes a
   bank-book line that a reference names. Lines are taken in date order. One bank-book line
   matches at most one statement line. A pair a person has undone is never proposed again.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from marque_finance.domain.money import format_yuan
from marque_kit.errors import InvalidInput

MAX_ROWS = 50_000
MAX_REFERENCE = 120
MAX_COUNTERPARTY = 200
MAX_DESCRIPTION = 500
# A statement line above 1 万亿 CNY is a misread column, not a bank transfer (the same ceiling
# as a journal line); it also keeps every amount far inside BIGINT.
MAX_LINE_FEN = 100_000_000_000_000
# Value dates a statement may carry: any real bank day, never one whose matching window
# (a few days either side) falls off the calendar.
EARLIEST_DAY = date(1900, 1, 1)
LATEST_DAY = date(2999, 12, 31)
# "One contains the other" only counts when the shorter text is at least this long: a reference
# "1" is contained in almost anything.
MIN_CONTAINED = 6


# --- reading a statement -----------------------------------------------------------------------


@dataclass(frozen=True)
class StatementLine:
    """One row of a bank statement: money in is positive, money out negative (fen)."""

    row: int  # the line number in the file, as a person sees it in a spreadsheet
    value_date: date
    amount_fen: int
    reference: str = ""
    counterparty: str = ""
    description: str = ""


# Column names as banks write them; compared after `_header_name` (case, blanks, "(元)" aside).
COLUMNS: dict[str, tuple[str, ...]] = {
    "date": ("date", "valuedate", "transactiondate", "交易日期", "日期", "记账日期", "交易时间"),
    "amount": ("amount", "金额", "交易金额", "发生额"),
    "income": ("income", "moneyin", "收入", "收入金额", "存入金额", "转入金额"),
    "expense": ("expense", "moneyout", "支出", "支出金额", "支取金额", "转出金额"),
    "reference": (
        "reference",
        "ref",
        "流水号",
        "交易流水号",
        "交易参考号",
        "参考号",
        "银行流水号",
    ),
    "counterparty": ("counterparty", "对方户名", "对方名称", "对方账户名称", "对方单位"),
    "description": ("description", "memo", "摘要", "用途", "附言", "备注"),
}
_ALIAS = {alias: column for column, aliases in COLUMNS.items() for alias in aliases}
_FOOTERS = ("合计", "总计", "小计", "本页合计", "以下空白", "total")
_EXPECTED = (
    "date, amount, reference, counterparty, description "
    "(or 交易日期, 金额 — or 收入 and 支出 —, 流水号, 对方户名, 摘要)"
)
_HEADER_SEARCH = 20


def decode_statement(data: bytes) -> str:
    """The text of a statement file: UTF-8 (a BOM is dropped), else GB18030 (a superset of GBK)."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if "\x00" in text:
            raise InvalidInput(
                "The statement contains NUL characters, so it is not CSV text (an Excel "
                '"Unicode text" export is UTF-16). Save it as CSV in UTF-8 or GBK and upload '
                "it again.",
                errors=[{"field": "file", "rule": "nul"}],
            )
        return text
    raise InvalidInput(
        "The statement is neither UTF-8 nor GBK/GB18030 text. Export it from the bank as CSV.",
        errors=[{"field": "file", "rule": "encoding"}],
    )


def _header_name(cell: str) -> str:
    name = re.sub(r"[（(][^)）]*[)）]", "", cell.strip().lstrip("\ufeff"))
    return re.sub(r"[\s_\-]", "", name).casefold()


def _header_map(cells: Sequence[str]) -> dict[str, int] | None:
    found: dict[str, int] = {}
    for index, cell in enumerate(cells):
        column = _ALIAS.get(_header_name(cell))
        if column is not None and column not in found:
            found[column] = index
    if "date" in found and ("amount" in found or "income" in found or "expense" in found):
        return found
    return None


_ISO_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[\sT].*)?$")
_COMPACT_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})(?:[\sT].*)?$")


def parse_date(text: str) -> date:
    """`2026-11-03`, `2026/11/3`, `2026.11.03`, `20261103`, `2026年11月3日`; a time is ignored."""
    value = text.strip()
    match = _ISO_DATE.match(value) or _COMPACT_DATE.match(value)
    if not match:
        raise ValueError(f"date {value!r} is not a date like 2026-11-03")
    try:
        day = date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        raise ValueError(f"date {value!r} is not a day of the calendar") from None
    if not EARLIEST_DAY <= day <= LATEST_DAY:
        raise ValueError(
            f"date {value!r} is not between {EARLIEST_DAY.isoformat()} and {LATEST_DAY.isoformat()}"
        )
    return day


_AMOUNT = re.compile(r"^([+-])?(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d{1,2}))?$")


def parse_yuan(text: str) -> int:
    """Fen from yuan as banks write it: `1,234.50` -> 123450, `-300.00` -> -30000; never a float."""
    value = re.sub(r"\s", "", text).replace("¥", "").replace("￥", "")
    if value.upper().startswith("CNY"):
        value = value[3:]
    match = _AMOUNT.match(value)
    if not match:
        raise ValueError(
            f"amount {text.strip()!r} is not yuan with at most 2 decimals "
            "(e.g. 1,234.50 or -300.00)"
        )
    sign, whole, cents = match.groups()
    fen = int(whole.replace(",", "")) * 100 + int((cents or "").ljust(2, "0"))
    if fen > MAX_LINE_FEN:
        raise ValueError(
            f"amount {text.strip()!r} is above the {format_yuan(MAX_LINE_FEN)} CNY a statement "
            "line may carry; check the column"
        )
    return -fen if sign == "-" else fen


def _cell(cells: Sequence[str], columns: dict[str, int], name: str) -> str:
    index = columns.get(name)
    if index is None or index >= len(cells):
        return ""
    return cells[index].strip()


def _amount_of(cells: Sequence[str], columns: dict[str, int]) -> int:
    if "amount" in columns:
        amount = parse_yuan(_cell(cells, columns, "amount"))
    else:
        income_text = _cell(cells, columns, "income")
        expense_text = _cell(cells, columns, "expense")
        income = parse_yuan(income_text) if income_text else 0
        expense = parse_yuan(expense_text) if expense_text else 0
        if income < 0:
            raise ValueError(f"收入 (income) {income_text!r} is negative; money out goes in 支出")
        if income and expense:
            raise ValueError("both 收入 (income) and 支出 (expense) are filled; fill one of them")
        # 支出 is money out whether or not the bank writes a minus sign.
        amount = income if income else -abs(expense)
    if amount == 0:
        raise ValueError("amount is zero: a statement line moves money")
    return amount


def _is_footer(cells: Sequence[str]) -> bool:
    first = next((c.strip() for c in cells if c.strip()), "")
    return first.casefold().startswith(_FOOTERS)


def _rows(text: str, delimiter: str) -> list[tuple[int, list[str]]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows = []
    start = 1
    try:
        for cells in reader:
            rows.append((start, cells))
            start = reader.line_num + 1
    except csv.Error as exc:
        raise InvalidInput(
            f"Line {reader.line_num} of the statement is not valid CSV ({exc}).",
            errors=[{"row": reader.line_num, "field": "file", "message": str(exc)}],
        ) from None
    return rows


def parse_statement(data: bytes) -> list[StatementLine]:
    """Every line of a statement file, or InvalidInput listing every bad row (nothing half-read)."""
    text = decode_statement(data)
    header_at, columns, rows = None, None, []
    # Comma-separated, or tab-separated as some banks' "CSV" is.
    for delimiter in (",", "\t"):
        rows = _rows(text, delimiter)
        for position, (_, cells) in enumerate(rows[:_HEADER_SEARCH]):
            columns = _header_map(cells)
            if columns is not None:
                header_at = position
                break
        if header_at is not None:
            break
    if header_at is None or columns is None:
        raise InvalidInput(
            f"No header row found in the statement. Expected columns {_EXPECTED}.",
            errors=[{"field": "file", "rule": "header", "expected": _EXPECTED}],
        )
    if "amount" not in columns and not ("income" in columns and "expense" in columns):
        raise InvalidInput(
            "The statement has one of 收入 (income) / 支出 (expense) but not the other; "
            "give both, or one signed 金额 (amount) column.",
            errors=[{"field": "file", "rule": "header", "expected": _EXPECTED}],
        )
    lines: list[StatementLine] = []
    errors: list[dict[str, Any]] = []
    for row, cells in rows[header_at + 1 :]:
        if not any(c.strip() for c in cells) or _is_footer(cells):
            continue
        problems: list[str] = []
        value_date = amount = None
        try:
            value_date = parse_date(_cell(cells, columns, "date"))
        except ValueError as exc:
            problems.append(str(exc))
        try:
            amount = _amount_of(cells, columns)
        except ValueError as exc:
            problems.append(str(exc))
        reference = _cell(cells, columns, "reference")
        counterparty = _cell(cells, columns, "counterparty")
        description = _cell(cells, columns, "description")
        for name, value, limit in (
            ("reference", reference, MAX_REFERENCE),
            ("counterparty", counterparty, MAX_COUNTERPARTY),
            ("description", description, MAX_DESCRIPTION),
        ):
            if len(value) > limit:
                problems.append(f"{name} is longer than {limit} characters")
        if problems:
            errors.append({"row": row, "message": "; ".join(problems)})
            continue
        assert value_date is not None and amount is not None
        lines.append(StatementLine(row, value_date, amount, reference, counterparty, description))
    if errors:
        shown = "; ".join(f"row {e['row']}: {e['message']}" for e in errors[:10])
        more = f" (and {len(errors) - 10} more)" if len(errors) > 10 else ""
        raise InvalidInput(
            f"{len(errors)} row(s) of the statement are not valid, so nothing was imported. "
            f"Fix them and upload the file again. {shown}{more}.",
            errors=errors,
        )
    if not lines:
        raise InvalidInput(
            "The statement has a header but no lines.", errors=[{"field": "file", "rule": "empty"}]
        )
    if len(lines) > MAX_ROWS:
        raise InvalidInput(
            f"The statement has {len(lines)} lines; upload at most {MAX_ROWS} at a time.",
            errors=[{"field": "file", "rule": "too_many_rows"}],
        )
    return lines


def _norm(text: str) -> str:
    return text.strip().casefold()


def line_keys(lines: Iterable[StatementLine], bank_account: str = "") -> list[str]:
    """A stable key per line: identical lines of one file are told apart by their occurrence.

    The key leaves out the row number and the description, which differ between two exports of
    the same day, so that overlapping statements of one account meet on the same keys.
    """
    seen: Counter[str] = Counter()
    keys = []
    for line in lines:
        base = "\x1f".join(
            (
                _norm(bank_account),
                line.value_date.isoformat(),
                str(line.amount_fen),
                _norm(line.reference),
                _norm(line.counterparty),
            )
        )
        occurrence = seen[base]
        seen[base] += 1
        keys.append(hashlib.sha256(f"{base}\x1f{occurrence}".encode()).hexdigest())
    return keys


# --- matching ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class BankBookLine:
    """A journal line on 1002: money in (a debit) positive, money out (a credit) negative."""

    journal_line_id: int
    entry_date: date
    amount_fen: int
    memo: str = ""
    source_id: str = ""


@dataclass(frozen=True)
class OpenLine:
    """A statement line still waiting for its bank-book line."""

    line_id: int
    value_date: date
    amount_fen: int
    reference: str = ""
    # Bank-book lines a person has unmatched from this line: never proposed again.
    rejected: frozenset[int] = frozenset()


class MatchKind(StrEnum):
    EXACT = "exact"
    FUZZY = "fuzzy"


class Reason(StrEnum):
    NO_CANDIDATE = "no_candidate"
    SEVERAL_CANDIDATES = "several_candidates"
    # A single candidate has appeared since the last run (a receipt was posted later): rematch.
    ONE_CANDIDATE = "one_candidate"


@dataclass(frozen=True)
class Match:
    line_id: int
    journal_line_id: int
    kind: MatchKind


@dataclass(frozen=True)
class Unmatched:
    line_id: int
    reason: Reason
    candidates: tuple[int, ...] = ()


@dataclass(frozen=True)
class MatchRun:
    matches: tuple[Match, ...]
    unmatched: tuple[Unmatched, ...]


def references_agree(reference: str, book: BankBookLine) -> bool:
    """The statement's reference names this bank-book line: its memo or its document number."""
    ref = _norm(reference)
    if not ref:
        return False
    for other in (_norm(book.memo), _norm(book.source_id)):
        if not other:
            continue
        if ref == other:
            return True
        shorter, longer = sorted((ref, other), key=len)
        if len(shorter) >= MIN_CONTAINED and shorter in longer:
            return True
    return False


def days_apart(line: OpenLine, book: BankBookLine) -> int:
    return abs((book.entry_date - line.value_date).days)


def candidates(
    line: OpenLine, book: Iterable[BankBookLine], window_days: int
) -> list[BankBookLine]:
    """Bank-book lines this statement line could be: same signed amount, within the window."""
    return [
        b
        for b in book
        if b.amount_fen == line.amount_fen
        and days_apart(line, b) <= window_days
        and b.journal_line_id not in line.rejected
    ]


def _closest(line: OpenLine, options: Sequence[BankBookLine]) -> BankBookLine | None:
    """The option closest in date, if no other is as close."""
    if not options:
        return None
    ranked = sorted(options, key=lambda b: (days_apart(line, b), b.journal_line_id))
    if len(ranked) > 1 and days_apart(line, ranked[0]) == days_apart(line, ranked[1]):
        return None
    return ranked[0]


def auto_match(
    lines: Iterable[OpenLine], book: Iterable[BankBookLine], window_days: int
) -> MatchRun:
    """Pair statement lines with bank-book lines: exact by reference first, then fuzzy."""
    ordered = sorted(lines, key=lambda line: (line.value_date, line.line_id))
    free = {b.journal_line_id: b for b in book}
    matches: list[Match] = []
    settled: set[int] = set()
    for line in ordered:
        named = [
            b
            for b in candidates(line, free.values(), window_days)
            if references_agree(line.reference, b)
        ]
        best = _closest(line, named)
        if best is not None:
            matches.append(Match(line.line_id, best.journal_line_id, MatchKind.EXACT))
            settled.add(line.line_id)
            del free[best.journal_line_id]
    unmatched: list[Unmatched] = []
    for line in ordered:
        if line.line_id in settled:
            continue
        options = candidates(line, free.values(), window_days)
        best = _closest(line, options)
        if best is not None:
            matches.append(Match(line.line_id, best.journal_line_id, MatchKind.FUZZY))
            del free[best.journal_line_id]
            continue
        reason = Reason.SEVERAL_CANDIDATES if options else Reason.NO_CANDIDATE
        unmatched.append(
            Unmatched(line.line_id, reason, tuple(sorted(b.journal_line_id for b in options)))
        )
    return MatchRun(tuple(matches), tuple(unmatched))


# --- exceptions: what a person is told ---------------------------------------------------------


@dataclass(frozen=True)
class NearMiss:
    """A bank-book line the reference names, but whose amount or date does not fit."""

    journal_line_id: int
    why: str


@dataclass(frozen=True)
class Diagnosis:
    reason: Reason
    message: str
    candidates: tuple[int, ...] = ()
    near_misses: tuple[NearMiss, ...] = ()


def diagnose(line: OpenLine, book: Iterable[BankBookLine], window_days: int) -> Diagnosis:
    """Why an unmatched line is unmatched, and what the person can do about it."""
    pool = list(book)
    options = candidates(line, pool, window_days)
    near = tuple(
        NearMiss(b.journal_line_id, _near_miss_why(line, b, window_days))
        for b in pool
        if references_agree(line.reference, b)
        and b.journal_line_id not in line.rejected
        and not (b.amount_fen == line.amount_fen and days_apart(line, b) <= window_days)
    )
    money = f"{format_yuan(line.amount_fen)} CNY"
    if not options:
        message = (
            f"No unmatched receipt or payment of {money} within {window_days} day(s) of "
            f"{line.value_date.isoformat()} in the bank book. Match it by hand, or explain it "
            "(a bank fee, interest) to post it."
        )
        if near:
            message += " The reference names a bank-book line whose amount or date differs."
        return Diagnosis(Reason.NO_CANDIDATE, message, (), near)
    ids = tuple(sorted(b.journal_line_id for b in options))
    if len(options) == 1:
        return Diagnosis(
            Reason.ONE_CANDIDATE,
            f"One bank-book line of {money} has appeared since the last match; rematch the "
            "statement or match it by hand.",
            ids,
            near,
        )
    return Diagnosis(
        Reason.SEVERAL_CANDIDATES,
        f"{len(options)} bank-book lines of {money} are equally close to "
        f"{line.value_date.isoformat()}; pick the right one and match it by hand.",
        ids,
        near,
    )


def _near_miss_why(line: OpenLine, book: BankBookLine, window_days: int) -> str:
    parts = []
    if book.amount_fen != line.amount_fen:
        parts.append(
            f"amount {format_yuan(book.amount_fen)} instead of {format_yuan(line.amount_fen)}"
        )
    apart = days_apart(line, book)
    if apart > window_days:
        parts.append(f"dated {book.entry_date.isoformat()}, {apart} days apart")
    return "; ".join(parts)
