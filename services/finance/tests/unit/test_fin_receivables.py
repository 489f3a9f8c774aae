"""Receivables rulebook: VAT split per invoice line, applying money, refund limits, AR ageing."""

from __future__ import annotations

from datetime import date
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from marque_finance.domain.accounts import BANK, CASH, BusinessLine
from marque_finance.domain.receivables import (
    MAX_AMOUNT_FEN,
    Allocation,
    InvoiceLineDraft,
    InvoiceStatus,
    OpenInvoice,
    PaymentMethod,
    ReferenceType,
    allocate,
    ar_ageing,
    check_reference,
    check_refund,
    due_date,
    invoice_status,
    money_account,
    parse_method,
    parse_reference_type,
    price_invoice,
    price_line,
    reference_key,
    unapplied,
)
from marque_kit.errors import Conflict, InvalidInput


def line(
    gross: object, bl: BusinessLine = BusinessLine.NEW_VEHICLES, **kw: str
) -> InvoiceLineDraft:
    return InvoiceLineDraft(
        description=kw.get("description", "BYD 汉 EV"),
        business_line=bl,
        gross=gross,  # type: ignore[arg-type]
        model_code=kw.get("model_code", "BYD-HAN"),
        vin=kw.get("vin", ""),
    )


# --- VAT split ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("gross", "net", "vat"),
    [
        (22_600_000, 20_000_000, 2_600_000),  # a 226,000.00 CNY car: exactly 200,000 + 26,000
        (113, 100, 13),
        (1, 1, 0),  # one fen: 0.885 rounds to 1 fen net, no VAT
        (2, 2, 0),  # 1.77 -> 2
        (8, 7, 1),  # 7.079... -> 7
        (17, 15, 2),  # 15.04 -> 15
        (565, 500, 65),
        (999_999, 884_955, 115_044),  # 884,954.867... rounds up
    ],
)
def test_a_line_splits_into_net_and_vat(gross: int, net: int, vat: int) -> None:
    priced = price_line(line(gross))
    assert (priced.gross, priced.net, priced.vat) == (gross, net, vat)


@given(st.integers(min_value=1, max_value=MAX_AMOUNT_FEN))
def test_net_is_the_nearest_whole_fen_to_gross_over_1_13(gross: int) -> None:
    # 200 * gross is even and 113 * odd is odd, so gross / 1.13 never ends in exactly half a fen.
    exact = Fraction(gross * 100, 113)
    assert abs(price_line(line(gross)).net - exact) < Fraction(1, 2)


@given(st.integers(min_value=1, max_value=MAX_AMOUNT_FEN))
def test_net_plus_vat_is_always_the_gross(gross: int) -> None:
    priced = price_line(line(gross))
    assert priced.net + priced.vat == gross
    assert priced.net >= 0 and priced.vat >= 0
    # VAT is 13% of net to within half a fen of rounding (plus the rounding of net itself).
    assert abs(priced.vat * 100 - priced.net * 13) <= 100


@given(st.lists(st.integers(min_value=1, max_value=50_000_000), min_size=1, max_size=20))
def test_an_invoice_totals_are_the_sums_of_its_lines(amounts: list[int]) -> None:
    invoice = price_invoice([line(a) for a in amounts])
    assert invoice.total == sum(amounts)
    assert invoice.net + invoice.vat == invoice.total
    assert invoice.vat == sum(li.vat for li in invoice.lines)


def test_an_invoice_line_keeps_what_it_is_for() -> None:
    priced = price_line(
        line(11_300, BusinessLine.PARTS, description="  机油滤清器  ", vin="lgxce4cb5r0123456")
    )
    assert priced.description == "机油滤清器"
    assert priced.business_line is BusinessLine.PARTS
    assert priced.vin == "LGXCE4CB5R0123456"


@pytest.mark.parametrize(
    ("gross", "match"),
    [
        (0, "more than zero"),
        (-5, "more than zero"),
        (100.0, "whole number of fen"),
        ("100", "whole number of fen"),
        (True, "whole number of fen"),
        (MAX_AMOUNT_FEN + 1, "above"),
    ],
)
def test_a_line_amount_must_be_positive_whole_fen(gross: object, match: str) -> None:
    with pytest.raises(InvalidInput, match=match):
        price_line(line(gross), 2)


def test_an_invoice_needs_lines_with_descriptions() -> None:
    with pytest.raises(InvalidInput, match="at least one line"):
        price_invoice([])
    with pytest.raises(InvalidInput, match=r"lines\[1\]\.description is required"):
        price_invoice([line(100), line(100, description="  ")])
    with pytest.raises(InvalidInput, match="at most 100 lines"):
        price_invoice([line(100)] * 101)


def test_due_date_defaults_to_terms_and_never_precedes_issue() -> None:
    assert due_date(date(2026, 3, 1), None, 30) == date(2026, 3, 31)
    assert due_date(date(2026, 3, 1), date(2026, 3, 1), 30) == date(2026, 3, 1)
    with pytest.raises(InvalidInput, match="before issued_on"):
        due_date(date(2026, 3, 1), date(2026, 2, 28), 30)


def test_invoice_status_follows_what_is_paid() -> None:
    assert invoice_status(1_000, 0) is InvoiceStatus.OPEN
    assert invoice_status(1_000, 1) is InvoiceStatus.PARTIALLY_PAID
    assert invoice_status(1_000, 1_000) is InvoiceStatus.PAID


# --- vocabulary -----------------------------------------------------------------------------


def test_cash_goes_to_the_cash_box_everything_else_to_the_bank() -> None:
    assert money_account(PaymentMethod.CASH) == CASH
    for method in PaymentMethod:
        if method is not PaymentMethod.CASH:
            assert money_account(method) == BANK


def test_unknown_methods_and_reference_types_name_the_allowed_ones() -> None:
    assert parse_method("alipay") is PaymentMethod.ALIPAY
    with pytest.raises(InvalidInput, match="wechat_pay"):
        parse_method("bitcoin")
    assert parse_reference_type("deposit") is ReferenceType.DEPOSIT
    with pytest.raises(InvalidInput, match="sales_order"):
        parse_reference_type("unspecified")


def test_references() -> None:
    assert check_reference(ReferenceType.SALES_ORDER, " SO-SH01-000123 ") == "SO-SH01-000123"
    assert check_reference(ReferenceType.DEPOSIT, "") == ""
    with pytest.raises(InvalidInput, match="needs the order number"):
        check_reference(ReferenceType.REPAIR_ORDER, "  ")
    with pytest.raises(InvalidInput, match="sales order or a repair order"):
        check_reference(ReferenceType.DEPOSIT, "D-1", for_invoice=True)
    with pytest.raises(InvalidInput, match="at most 60"):
        check_reference(ReferenceType.SALES_ORDER, "S" * 61)
    # An order is one reference whoever pays; a deposit without an order is the customer's.
    so = ReferenceType.SALES_ORDER
    assert reference_key("SH01", so, "SO-1", "C1") == reference_key("SH01", so, "SO-1", "C2")
    dep = ReferenceType.DEPOSIT
    assert reference_key("SH01", dep, "", "C1") != reference_key("SH01", dep, "", "C2")


# --- applying money -------------------------------------------------------------------------


def test_money_pays_the_oldest_first_and_the_rest_is_left_over() -> None:
    allocations, rest = allocate(150, [("inv-1", 100), ("inv-2", 30), ("inv-3", 70)])
    assert allocations == [
        Allocation("inv-1", 100),
        Allocation("inv-2", 30),
        Allocation("inv-3", 20),
    ]
    assert rest == 0
    allocations, rest = allocate(500, [("inv-1", 100)])
    assert allocations == [Allocation("inv-1", 100)] and rest == 400
    assert allocate(500, []) == ([], 500)
    assert allocate(0, [("inv-1", 100)]) == ([], 0)
    # A target with no room takes nothing.
    assert allocate(50, [("paid", 0), ("open", 80)]) == ([Allocation("open", 50)], 0)


@given(
    st.integers(min_value=0, max_value=10**9),
    st.lists(st.integers(min_value=0, max_value=10**8), max_size=10),
)
def test_allocation_never_exceeds_the_money_or_any_room(amount: int, rooms: list[int]) -> None:
    targets = [(f"t{n}", room) for n, room in enumerate(rooms)]
    allocations, rest = allocate(amount, targets)
    assert sum(a.amount for a in allocations) + rest == amount
    room = dict(targets)
    assert all(0 < a.amount <= room[a.target] for a in allocations)
    assert rest == 0 or sum(a.amount for a in allocations) == sum(rooms)


# --- refunds --------------------------------------------------------------------------------


def test_a_refund_comes_only_out_of_the_unapplied_remainder() -> None:
    assert unapplied(1_000, 600, 100) == 300
    fen, reason = check_refund(
        300,
        "  客户取消 order cancelled ",
        receipt_number="RCT-SH01-2026-000001",
        receipt_amount=1_000,
        applied=600,
        refunded=100,
    )
    assert (fen, reason) == (300, "客户取消 order cancelled")
    with pytest.raises(Conflict, match="credit the invoice first") as refused:
        check_refund(
            301,
            "order cancelled",
            receipt_number="RCT-SH01-2026-000001",
            receipt_amount=1_000,
            applied=600,
            refunded=100,
        )
    assert "Only 3.00 CNY of receipt RCT-SH01-2026-000001" in refused.value.detail
    assert "1.00 CNY was refunded already" in refused.value.detail


def test_a_refund_needs_a_reason_and_a_positive_amount() -> None:
    args = dict(receipt_number="R", receipt_amount=1_000, applied=0, refunded=0)
    with pytest.raises(InvalidInput, match="needs a reason"):
        check_refund(100, "   ", **args)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="more than zero"):
        check_refund(0, "x", **args)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="whole number"):
        check_refund(1.5, "x", **args)  # type: ignore[arg-type]
    with pytest.raises(Conflict, match=r"Asked to refund 10\.01 CNY"):
        check_refund(1_001, "x", **args)  # type: ignore[arg-type]


# --- ageing ---------------------------------------------------------------------------------


def test_ar_ageing_buckets_by_days_past_due() -> None:
    as_of = date(2026, 6, 30)

    def owed(customer: str, due: date, fen: int) -> OpenInvoice:
        return OpenInvoice(customer, f"{customer}-{due}", due, fen)

    report = ar_ageing(
        [
            owed("C1", date(2026, 7, 15), 100),  # not due yet
            owed("C1", date(2026, 6, 30), 200),  # due today: still current
            owed("C1", date(2026, 6, 29), 300),  # 1 day
            owed("C1", date(2026, 5, 31), 400),  # 30 days
            owed("C2", date(2026, 5, 30), 500),  # 31 days
            owed("C2", date(2026, 4, 1), 600),  # 90 days
            owed("C2", date(2026, 3, 31), 700),  # 91 days
            owed("C3", date(2026, 1, 1), 800),  # 180 days
            owed("C3", date(2025, 12, 31), 900),  # 181 days
            owed("C3", date(2025, 1, 1), 0),  # paid: left out
        ],
        as_of,
    )
    assert report.totals == {
        "current": 300,
        "1_30": 700,
        "31_60": 500,
        "61_90": 600,
        "91_180": 1_500,
        "over_180": 900,
    }
    assert report.total_fen == 4_500
    by_customer = {p.party: p for p in report.parties}
    assert by_customer["C1"].buckets["current"] == 300 and by_customer["C1"].total_fen == 1_000
    assert by_customer["C3"].documents == 2
    assert sum(p.total_fen for p in report.parties) == report.total_fen
