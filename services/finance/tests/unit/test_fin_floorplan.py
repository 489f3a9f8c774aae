"""Floor-plan interest maths (domain.floorplan): days open per month, day-count bases, rounding,
accrual lines and the payoff correction."""

from __future__ import annotations

from datetime import date, timedelta
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from marque_finance.domain import floorplan as fp
from marque_finance.domain.ledger import period_of
from marque_finance.domain.money import round_half_up
from marque_kit.errors import InvalidInput

# 226,000.00 CNY gross, 4.35% a year on a 360-day basis.
PRINCIPAL = 22_600_000


def loan(
    drawn: date,
    paid: date | None = None,
    *,
    principal: int = PRINCIPAL,
    rate: int = 435,
    basis: int = 360,
) -> fp.LoanTerms:
    return fp.LoanTerms(principal, rate, basis, drawn, paid)


def test_the_drawdown_day_counts_and_the_payoff_day_does_not() -> None:
    terms = loan(date(2026, 5, 1), date(2026, 5, 11))
    assert terms.days_in("2026-05") == 10
    assert terms.days_financed(date(2026, 5, 1)) == 1  # drawn today: one day financed
    assert terms.days_financed(date(2026, 5, 10)) == 10
    assert terms.days_financed(date(2026, 6, 30)) == 10  # nothing after the payoff


def test_a_loan_across_month_ends_is_split_by_the_days_in_each_month() -> None:
    terms = loan(date(2026, 1, 20), date(2026, 3, 10))
    assert [(m, terms.days_in(m)) for m in terms.months("2026-12")] == [
        ("2026-01", 12),  # 20..31
        ("2026-02", 28),
        ("2026-03", 9),  # 1..9; the 10th is the payoff day
    ]
    assert terms.days_financed(date(2026, 12, 31)) == 49
    # Each month rounded on its own, exactly as the monthly accrual posts it.
    expected = [round_half_up(Fraction(PRINCIPAL * 435 * d, 10_000 * 360)) for d in (12, 28, 9)]
    assert [terms.interest_in(m) for m in ("2026-01", "2026-02", "2026-03")] == expected
    assert terms.interest_to_date(date(2026, 12, 31)) == sum(expected)


def test_leap_february_has_29_days_of_interest() -> None:
    terms = loan(date(2028, 2, 1))
    assert terms.days_in("2028-02") == 29
    assert loan(date(2026, 2, 1)).days_in("2026-02") == 28
    drawn_mid = loan(date(2028, 2, 10))
    assert drawn_mid.days_in("2028-02") == 20  # 10..29


def test_paid_off_mid_month_stops_interest_that_day() -> None:
    terms = loan(date(2026, 4, 20), date(2026, 5, 16))
    assert terms.days_in("2026-04") == 11
    assert terms.days_in("2026-05") == 15
    assert terms.days_in("2026-06") == 0
    assert list(terms.months("2026-12")) == ["2026-04", "2026-05"]
    # Paid off on the 1st: the month of the payoff bears nothing and is not accrued.
    first = loan(date(2026, 4, 20), date(2026, 5, 1))
    assert list(first.months("2026-12")) == ["2026-04"]


def test_a_loan_paid_off_the_day_it_was_drawn_bears_nothing() -> None:
    terms = loan(date(2026, 4, 20), date(2026, 4, 20))
    assert list(terms.months("2026-12")) == []
    assert terms.interest_to_date(date(2026, 12, 31)) == 0
    assert terms.days_financed(date(2026, 4, 20)) == 0


def test_day_count_360_and_365() -> None:
    # 22,600,000 x 4.35% x 30 / 360 = 81,925.00 fen exactly.
    assert fp.interest(PRINCIPAL, 435, 360, 30) == 81_925
    # ... / 365 = 80,802.74 -> 80,803.
    assert fp.exact_interest(PRINCIPAL, 435, 365, 30) == Fraction(294_930_000_000, 3_650_000)
    assert fp.interest(PRINCIPAL, 435, 365, 30) == 80_803
    assert loan(date(2026, 6, 1), basis=365).interest_in("2026-06") == 80_803


def test_rounding_is_half_up_per_loan_and_month() -> None:
    # 1% a year, 36 days on a 360 basis = principal / 1000.
    assert fp.exact_interest(1_500, 100, 360, 36) == Fraction(3, 2)
    assert fp.interest(1_500, 100, 360, 36) == 2
    assert fp.interest(2_500, 100, 360, 36) == 3  # half up, not to even
    assert fp.interest(2_499, 100, 360, 36) == 2
    assert fp.interest(PRINCIPAL, 435, 360, 0) == 0


def test_interest_to_date_counts_the_open_month_up_to_today() -> None:
    terms = loan(date(2026, 10, 25))
    as_of = date(2026, 11, 5)
    # October: 25..31 = 7 days; November: 1..5 = 5 days, rounded as its own month.
    assert terms.days_financed(as_of) == 12
    assert terms.interest_to_date(as_of) == fp.interest(PRINCIPAL, 435, 360, 7) + fp.interest(
        PRINCIPAL, 435, 360, 5
    )


def test_months_to_accrue_skip_what_is_accrued_and_unfinished_months() -> None:
    terms = loan(date(2026, 1, 20))
    assert fp.months_to_accrue(terms, "", "2026-03") == ["2026-01", "2026-02", "2026-03"]
    assert fp.months_to_accrue(terms, "2026-02", "2026-03") == ["2026-03"]
    assert fp.months_to_accrue(terms, "2026-03", "2026-03") == []
    paid = loan(date(2026, 1, 20), date(2026, 2, 1))
    assert fp.months_to_accrue(paid, "", "2026-10") == ["2026-01"]


def test_only_finished_months_are_accrued() -> None:
    assert fp.last_finished_month(date(2026, 11, 27)) == "2026-10"
    assert fp.last_finished_month(date(2026, 1, 1)) == "2025-12"
    fp.check_month_finished("2026-10", date(2026, 11, 1))
    with pytest.raises(InvalidInput, match=r"2026-11 is not over yet.*2026-12-01"):
        fp.check_month_finished("2026-11", date(2026, 11, 30))


def test_accrual_lines_per_vehicle_in_vin_order() -> None:
    def open_loan(vin: str, terms: fp.LoanTerms) -> fp.OpenLoan:
        return fp.OpenLoan(f"loan-{vin}", vin, "BYD-HAN", "L1", "BYD Auto Finance", terms)

    loans = [
        open_loan("VIN-B", loan(date(2026, 3, 10))),
        open_loan("VIN-A", loan(date(2026, 2, 1), date(2026, 3, 5))),
        open_loan("VIN-C", loan(date(2026, 4, 1))),  # not yet drawn in March
        open_loan("VIN-D", loan(date(2026, 3, 1), principal=1)),  # open, bears < 0.5 fen
    ]
    lines = fp.accrual_lines(loans, "2026-03")
    assert [(ln.vin, ln.days) for ln in lines] == [("VIN-A", 4), ("VIN-B", 22), ("VIN-D", 31)]
    assert lines[0].interest_fen == fp.interest(PRINCIPAL, 435, 360, 4)
    assert lines[2].interest_fen == 0


def test_a_late_payoff_gives_back_what_was_accrued_after_it() -> None:
    # Accrued March (31 days) and April (30) while open; then a payoff on 31 March is recorded.
    open_terms = loan(date(2026, 3, 1))
    accrued = {m: open_terms.interest_in(m) for m in ("2026-03", "2026-04")}
    paid = loan(date(2026, 3, 1), date(2026, 3, 31))
    over = fp.over_accrued(paid, accrued)
    assert over == accrued["2026-03"] - fp.interest(PRINCIPAL, 435, 360, 30) + accrued["2026-04"]
    assert fp.over_accrued(open_terms, accrued) == 0


def test_payoff_dates_are_checked() -> None:
    terms = loan(date(2026, 3, 1))
    fp.check_payoff(terms, date(2026, 3, 1), date(2026, 3, 1))
    with pytest.raises(InvalidInput, match="before the loan was drawn"):
        fp.check_payoff(terms, date(2026, 2, 28), date(2026, 3, 5))
    with pytest.raises(InvalidInput, match="in the future"):
        fp.check_payoff(terms, date(2026, 3, 6), date(2026, 3, 5))


@pytest.mark.parametrize("bad", [0, -1, 3_001, 4.35, "435", True])
def test_rates_are_whole_basis_points_in_range(bad: object) -> None:
    with pytest.raises(InvalidInput, match="annual_rate_bp"):
        fp.check_rate(bad)


def test_day_count_is_360_or_365() -> None:
    assert fp.check_basis(360) == 360 and fp.check_basis(365) == 365
    with pytest.raises(InvalidInput, match="360 or 365"):
        fp.check_basis(366)


@given(
    drawn=st.dates(min_value=date(2024, 1, 1), max_value=date(2030, 12, 31)),
    length=st.integers(min_value=0, max_value=900),
    still_open=st.booleans(),
    principal=st.integers(min_value=1, max_value=2_000_000_000),
    rate=st.integers(min_value=1, max_value=fp.MAX_RATE_BP),
    basis=st.sampled_from(fp.DAY_COUNT_BASES),
)
def test_monthly_interest_adds_up_to_the_whole_life_within_a_fen_a_month(
    drawn: date, length: int, still_open: bool, principal: int, rate: int, basis: int
) -> None:
    end = drawn + timedelta(days=length)
    terms = fp.LoanTerms(principal, rate, basis, drawn, None if still_open else end)
    as_of = end - timedelta(days=1)  # the last day counted either way
    months = list(terms.months(period_of(max(as_of, drawn))))
    until = as_of + timedelta(days=1)
    days = [terms.days_in(m, until=until) for m in months]
    assert sum(days) == length == terms.days_financed(as_of)
    monthly = sum(terms.interest_in(m, until=until) for m in months)
    assert monthly == terms.interest_to_date(as_of)
    whole = fp.interest(principal, rate, basis, length)
    assert abs(monthly - whole) <= max(1, len(months))
    # Never more than half a fen of rounding per month, plus the half fen of the whole figure.
    exact = fp.exact_interest(principal, rate, basis, length)
    assert abs(monthly - exact) <= Fraction(len(months), 2)
