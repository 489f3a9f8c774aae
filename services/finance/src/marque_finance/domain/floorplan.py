"""Floor-plan financing (库存融资): the lender pays the OEM for each vehicle, and the store pays the
lender interest every day the vehicle stands in stock, until it pays the loan off. This is why
stock age (库龄) costs money.

The rules, in the order a bookkeeper applies them:

- A loan's principal is the vehicle's gross OEM payable (net + input VAT), drawn on the day the
  vehicle arrives.
- Interest runs from the drawdown day to the payoff day: **the drawdown day counts, the payoff day
  does not** (a car drawn on the 1st and paid off on the 11th is financed 10 days).
- Daily interest = principal x annual rate / day-count basis (360 or 365, the lender's choice).
  Rates are in basis points: 435 = 4.35% a year.
- Interest is accrued once a month, per store: each loan's interest for the days it was open in
  that month, **rounded half up to the fen per loan and month**. The month total is the sum of the
  rounded loan figures, so every fen in the books belongs to a vehicle.
- Summing a loan's monthly figures gives its lifetime interest within half a fen per month (the
  rounding of each month), never more.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from fractions import Fraction

from marque_finance.domain.ledger import first_day, next_period, period_of
from marque_finance.domain.money import round_half_up
from marque_kit.errors import InvalidInput

BASIS_POINTS = 10_000
DAY_COUNT_BASES = (360, 365)
# A sanity bound: floor-plan rates are a few percent; 30% a year is surely a typo.
MAX_RATE_BP = 3_000


def check_rate(annual_rate_bp: object) -> int:
    """An annual rate in basis points, 1..3000 (0.01%..30%)."""
    if isinstance(annual_rate_bp, bool) or not isinstance(annual_rate_bp, int):
        raise InvalidInput(
            f"annual_rate_bp must be a whole number of basis points (435 = 4.35%), "
            f"not {annual_rate_bp!r}.",
            errors=[{"field": "annual_rate_bp", "rule": "integer"}],
        )
    if not 0 < annual_rate_bp <= MAX_RATE_BP:
        raise InvalidInput(
            f"annual_rate_bp must be between 1 and {MAX_RATE_BP} basis points "
            f"(0.01% to 30% a year); {annual_rate_bp} was given.",
            errors=[{"field": "annual_rate_bp", "rule": "range"}],
        )
    return annual_rate_bp


def check_basis(day_count: object) -> int:
    """The day-count basis: 360 (the usual for Chinese bank lending) or 365."""
    if day_count not in DAY_COUNT_BASES:
        raise InvalidInput(
            f"day_count must be 360 or 365 (days in the lender's interest year); "
            f"{day_count!r} was given.",
            errors=[{"field": "day_count", "rule": "one_of", "allowed": list(DAY_COUNT_BASES)}],
        )
    assert isinstance(day_count, int)
    return day_count


def month_bounds(month: str) -> tuple[date, date]:
    """A month `YYYY-MM` as [first day, first day of the next month)."""
    return first_day(month), first_day(next_period(month))


def last_day(month: str) -> date:
    return month_bounds(month)[1] - timedelta(days=1)


def days_open(drawn_on: date, paid_off_on: date | None, start: date, end: date) -> int:
    """Days of [start, end) on which the loan was open: drawn_on counts, paid_off_on does not."""
    open_from = max(drawn_on, start)
    open_until = end if paid_off_on is None else min(paid_off_on, end)
    return max(0, (open_until - open_from).days)


def exact_interest(principal_fen: int, annual_rate_bp: int, day_count: int, days: int) -> Fraction:
    """Interest for `days` days, exact (a fraction of a fen)."""
    return Fraction(principal_fen * annual_rate_bp * days, BASIS_POINTS * day_count)


def interest(principal_fen: int, annual_rate_bp: int, day_count: int, days: int) -> int:
    """Interest for `days` days, rounded half up to the fen."""
    return round_half_up(exact_interest(principal_fen, annual_rate_bp, day_count, days))


@dataclass(frozen=True)
class LoanTerms:
    """What the interest of one loan depends on (the rate and basis are fixed at drawdown)."""

    principal_fen: int
    annual_rate_bp: int
    day_count: int
    drawn_on: date
    paid_off_on: date | None = None

    def days_in(self, month: str, *, until: date | None = None) -> int:
        """Days open in `month`, counting only days before `until` (exclusive) when given."""
        start, end = month_bounds(month)
        if until is not None:
            end = min(end, until)
        return days_open(self.drawn_on, self.paid_off_on, start, end)

    def interest_in(self, month: str, *, until: date | None = None) -> int:
        """The month's interest, rounded per loan and month (what the accrual posts)."""
        days = self.days_in(month, until=until)
        return interest(self.principal_fen, self.annual_rate_bp, self.day_count, days)

    def days_financed(self, as_of: date) -> int:
        """Days financed up to and including `as_of` (the payoff day never counts)."""
        return days_open(self.drawn_on, self.paid_off_on, self.drawn_on, as_of + timedelta(days=1))

    def last_interest_day(self) -> date | None:
        """The last day that bears interest; None while the loan is open."""
        if self.paid_off_on is None:
            return None
        return self.paid_off_on - timedelta(days=1)

    def months(self, through: str) -> Iterator[str]:
        """The months that bear interest, from the drawdown month to `through` (inclusive)
        or the month of the last interest day, whichever comes first."""
        last = self.last_interest_day()
        if last is not None and last < self.drawn_on:
            return  # paid off the day it was drawn: no interest at all
        final = through if last is None else min(through, period_of(last))
        month = period_of(self.drawn_on)
        while month <= final:
            yield month
            month = next_period(month)

    def interest_to_date(self, as_of: date) -> int:
        """Interest up to and including `as_of`, month by month, each month rounded as the
        accrual will round it (so it equals what is posted once those months are accrued)."""
        until = as_of + timedelta(days=1)
        return sum(self.interest_in(m, until=until) for m in self.months(period_of(as_of)))


def months_to_accrue(terms: LoanTerms, accrued_through: str, through: str) -> list[str]:
    """Months after `accrued_through` ("" = none yet) up to `through` that still need accruing."""
    return [m for m in terms.months(through) if m > accrued_through]


def last_finished_month(today: date) -> str:
    """The latest month that is over on `today` (only finished months are accrued)."""
    return period_of(today.replace(day=1) - timedelta(days=1))


def check_month_finished(month: str, today: date) -> None:
    if month > last_finished_month(today):
        raise InvalidInput(
            f"Month {month} is not over yet; its floor-plan interest can be accrued from "
            f"{first_day(next_period(month)).isoformat()}.",
            errors=[{"field": "month", "rule": "finished"}],
        )


@dataclass(frozen=True)
class AccrualLine:
    """One vehicle's interest for one month."""

    loan_id: str
    vin: str
    model_code: str
    lender_id: str
    lender_name: str
    days: int
    interest_fen: int


@dataclass(frozen=True)
class OpenLoan:
    """A loan as the monthly accrual sees it."""

    loan_id: str
    vin: str
    model_code: str
    lender_id: str
    lender_name: str
    terms: LoanTerms


def accrual_lines(loans: Iterable[OpenLoan], month: str) -> list[AccrualLine]:
    """Each loan's days and interest in `month`, VIN order; loans not open that month drop out.

    A loan open some days but bearing less than half a fen keeps its line (0 fen), so the month
    is marked accrued for it all the same.
    """
    out = []
    for loan in loans:
        days = loan.terms.days_in(month)
        if days == 0:
            continue
        out.append(
            AccrualLine(
                loan_id=loan.loan_id,
                vin=loan.vin,
                model_code=loan.model_code,
                lender_id=loan.lender_id,
                lender_name=loan.lender_name,
                days=days,
                interest_fen=loan.terms.interest_in(month),
            )
        )
    return sorted(out, key=lambda line: (line.vin, line.loan_id))


def over_accrued(terms: LoanTerms, accrued: dict[str, int]) -> int:
    """Interest already accrued (per month) beyond what the loan bears once its payoff date is
    known: a payoff recorded after its month was accrued gives that interest back."""
    return sum(fen - terms.interest_in(month) for month, fen in accrued.items())


def check_payoff(terms: LoanTerms, paid_on: date, today: date) -> None:
    if paid_on < terms.drawn_on:
        raise InvalidInput(
            f"The payoff date {paid_on.isoformat()} is before the loan was drawn "
            f"({terms.drawn_on.isoformat()}).",
            errors=[{"field": "paid_on", "rule": "after_drawdown"}],
        )
    if paid_on > today:
        raise InvalidInput(
            f"The payoff date {paid_on.isoformat()} is in the future; record a payoff once the "
            f"money has gone to the lender.",
            errors=[{"field": "paid_on", "rule": "not_future"}],
        )
