"""Journal entries and periods: the rules every posting obeys, whoever makes it.

- An entry has at least two lines, each a debit or a credit (never both, never negative), and its
  debits equal its credits.
- An entry belongs to one store; inter-store movements are two entries, one per store, that meet
  on the inter-store account (1901) with each other's store as counterparty.
- Once posted an entry never changes; a correction is a reversing entry (`reversal_of`).
- A posting dated in a closed month goes to the next open month, with a note saying so.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date

from marque_finance.domain.money import format_yuan
from marque_kit.errors import Conflict, InvalidInput


class UnbalancedEntry(InvalidInput):
    """Debits and credits differ, or a line is malformed."""


@dataclass(frozen=True)
class Line:
    account: str
    debit: int = 0
    credit: int = 0
    business_line: str = ""
    model_code: str = ""
    vin: str = ""
    # For the inter-store account: the other store of the pair.
    counterparty_store: str = ""
    # Customer or supplier the line concerns (AR/AP ledgers).
    party: str = ""
    memo: str = ""

    @property
    def amount(self) -> int:
        return self.debit - self.credit


def debit(
    account: str,
    amount: int,
    *,
    business_line: str = "",
    model_code: str = "",
    vin: str = "",
    counterparty_store: str = "",
    party: str = "",
    memo: str = "",
) -> Line:
    return Line(account, amount, 0, business_line, model_code, vin, counterparty_store, party, memo)


def credit(
    account: str,
    amount: int,
    *,
    business_line: str = "",
    model_code: str = "",
    vin: str = "",
    counterparty_store: str = "",
    party: str = "",
    memo: str = "",
) -> Line:
    return Line(account, 0, amount, business_line, model_code, vin, counterparty_store, party, memo)


@dataclass(frozen=True)
class EntryDraft:
    """An entry about to be posted. `source_event_id` + `store_id` + `rule` is unique in the books:
    the same event (or document action) can never post twice."""

    store_id: str
    entry_date: date
    description: str
    source_type: str
    source_id: str
    lines: tuple[Line, ...]
    source_event_id: str = ""
    rule: str = ""
    reverses: str = ""
    created_by: str = "system"
    note: str = ""

    @property
    def total(self) -> int:
        return sum(line.debit for line in self.lines)

    def checked(self) -> EntryDraft:
        """The draft, with zero lines dropped, if it obeys the balance rule; otherwise raise."""
        lines = tuple(line for line in self.lines if line.debit or line.credit)
        for line in lines:
            if line.debit < 0 or line.credit < 0 or (line.debit and line.credit):
                raise UnbalancedEntry(
                    f"Line on {line.account} must be either a debit or a credit, "
                    f"of zero or more fen (debit {line.debit}, credit {line.credit}).",
                    errors=[{"field": "lines", "rule": "one_side", "account": line.account}],
                )
        if len(lines) < 2:
            raise UnbalancedEntry(
                "A journal entry needs at least two non-zero lines.",
                errors=[{"field": "lines", "rule": "two_lines"}],
            )
        debits = sum(line.debit for line in lines)
        credits = sum(line.credit for line in lines)
        if debits != credits:
            raise UnbalancedEntry(
                f"Debits ({format_yuan(debits)}) and credits ({format_yuan(credits)}) differ by "
                f"{format_yuan(debits - credits)} CNY; an entry must balance.",
                errors=[{"field": "lines", "rule": "balanced", "difference_fen": debits - credits}],
            )
        if not self.store_id:
            raise UnbalancedEntry("A journal entry belongs to a store.")
        return replace(self, lines=lines)


def reversal_of(
    original: EntryDraft, *, entry_id: str, on: date, reason: str, actor: str
) -> EntryDraft:
    """The entry that cancels `original`: the same lines with debit and credit swapped."""
    if not reason.strip():
        raise InvalidInput("Say why the entry is reversed.", errors=[{"field": "reason"}])
    return EntryDraft(
        store_id=original.store_id,
        entry_date=on,
        description=f"Reversal of {entry_id}: {reason.strip()}",
        source_type=original.source_type,
        source_id=original.source_id,
        lines=tuple(replace(line, debit=line.credit, credit=line.debit) for line in original.lines),
        source_event_id=f"reversal:{entry_id}",
        rule="reversal",
        reverses=entry_id,
        created_by=actor,
    )


# --- periods -------------------------------------------------------------------------------


# Years a period may name: any real business month, and never one whose neighbour (the next
# period, a month's last day plus one) falls outside what a date can hold.
FIRST_YEAR = 1900
LAST_YEAR = 2999


def period_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def parse_period(text: str) -> str:
    """A period written `YYYY-MM`; anything else is refused with the expected shape."""
    try:
        year, month = text.split("-")
        if len(year) != 4 or len(month) != 2:
            raise ValueError
        start = date(int(year), int(month), 1)
    except ValueError:
        raise InvalidInput(
            f"Period {text!r} is not a month written YYYY-MM (e.g. 2026-11).",
            errors=[{"field": "period", "rule": "format"}],
        ) from None
    if not FIRST_YEAR <= start.year <= LAST_YEAR:
        raise InvalidInput(
            f"Period {text} is outside the years the books keep ({FIRST_YEAR} to {LAST_YEAR}).",
            errors=[{"field": "period", "rule": "range", "min": FIRST_YEAR, "max": LAST_YEAR}],
        )
    return period_of(start)


def first_day(period: str) -> date:
    year, month = period.split("-")
    return date(int(year), int(month), 1)


def next_period(period: str) -> str:
    start = first_day(period)
    return period_of(date(start.year + (start.month == 12), start.month % 12 + 1, 1))


def periods_between(first: str, last: str) -> list[str]:
    if first > last:
        raise InvalidInput(
            f"Period range {first}..{last} is backwards; the first period comes first.",
            errors=[{"field": "from_period", "rule": "order"}],
        )
    out, current = [], first
    while current <= last:
        out.append(current)
        current = next_period(current)
    return out


@dataclass(frozen=True)
class Placement:
    period: str
    entry_date: date
    note: str = ""


def place(entry_date: date, closed: Iterable[str]) -> Placement:
    """Where a posting dated `entry_date` lands: its own month, or the next open one after a close.

    A moved posting is dated the first day of the month it lands in and says where it came from.
    """
    shut = set(closed)
    wanted = period_of(entry_date)
    period = wanted
    while period in shut:
        period = next_period(period)
    if period == wanted:
        return Placement(period, entry_date)
    return Placement(
        period,
        first_day(period),
        note=f"Dated {entry_date.isoformat()}, but period {wanted} is closed; posted in {period}.",
    )


@dataclass
class PeriodState:
    """A store's month: open or closed; only HQ reopens, and always with a reason."""

    store_id: str
    period: str
    closed: bool = False
    history: list[tuple[str, str, str]] = field(default_factory=list)  # (action, actor, reason)

    def close(self, actor: str) -> None:
        if self.closed:
            raise Conflict(f"Period {self.period} of {self.store_id} is already closed.")
        self.closed = True
        self.history.append(("close", actor, ""))

    def reopen(self, actor: str, reason: str) -> None:
        if not self.closed:
            raise Conflict(f"Period {self.period} of {self.store_id} is open; nothing to reopen.")
        if not reason.strip():
            raise InvalidInput(
                "Reopening a closed period needs a reason for the audit trail.",
                errors=[{"field": "reason", "rule": "required"}],
            )
        self.closed = False
        self.history.append(("reopen", actor, reason.strip()))
