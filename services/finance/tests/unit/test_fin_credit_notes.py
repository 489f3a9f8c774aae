"""Credit notes (红字发票): what may be credited, the VAT split of a credit, how a credit meets
the invoice's money, the invoice status, and the posting rule entry by entry."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from marque_finance.domain import credit_notes as cn
from marque_finance.domain.accounts import AR, CUSTOMER_ADVANCES, VAT_OUTPUT, BusinessLine
from marque_finance.domain.ledger import EntryDraft
from marque_finance.domain.money import split_vat
from marque_finance.domain.posting_rules import money_in
from marque_finance.domain.receivables import InvoiceStatus, invoice_status
from marque_kit.errors import Conflict, InvalidInput

DAY = date(2026, 3, 9)


def line(no: int, gross: int, bl: BusinessLine = BusinessLine.NEW_VEHICLES) -> cn.CreditableLine:
    split = split_vat(gross)
    return cn.CreditableLine(
        line_no=no,
        description=f"line {no}",
        business_line=bl,
        gross=gross,
        net=split.net,
        vat=split.vat,
        model_code="BYD-HAN",
        vin="LGXCE4CB5R0123456" if no == 1 else "",
    )


def after(line_: cn.CreditableLine, credit: cn.CreditLine) -> cn.CreditableLine:
    """The line once `credit` is recorded against it."""
    return replace(
        line_,
        credited_gross=line_.credited_gross + credit.priced.gross,
        credited_net=line_.credited_net + credit.priced.net,
        credited_vat=line_.credited_vat + credit.priced.vat,
    )


def sides(draft: EntryDraft) -> dict[str, tuple[int, int]]:
    out: dict[str, tuple[int, int]] = {}
    for li in draft.checked().lines:
        d, c = out.get(li.account, (0, 0))
        out[li.account] = (d + li.debit, c + li.credit)
    return out


# --- what may be credited -------------------------------------------------------------------


def test_a_full_credit_takes_exactly_the_original_net_and_vat_of_every_line() -> None:
    lines = [line(1, 22_600_000), line(2, 113_001, BusinessLine.ACCESSORIES)]
    plan = cn.plan_credit("INV-1", lines, full=True, asks=None)
    assert [(c.line_no, c.priced.gross, c.priced.net, c.priced.vat) for c in plan.lines] == [
        (1, 22_600_000, 20_000_000, 2_600_000),
        (2, 113_001, lines[1].net, lines[1].vat),
    ]
    assert (plan.total, plan.net + plan.vat) == (22_713_001, 22_713_001)
    first = plan.lines[0].priced
    assert (first.business_line, first.model_code, first.vin) == (
        BusinessLine.NEW_VEHICLES,
        "BYD-HAN",
        "LGXCE4CB5R0123456",
    )


def test_a_full_credit_after_a_partial_one_takes_only_what_is_left() -> None:
    first = line(1, 113_000)
    partial = cn.plan_credit("INV-1", [first], full=False, asks=[cn.CreditAsk(1, 11_300)])
    assert (partial.net, partial.vat) == (10_000, 1_300)
    rest = cn.plan_credit("INV-1", [after(first, partial.lines[0])], full=True, asks=None)
    assert (rest.total, rest.net, rest.vat) == (101_700, 90_000, 11_700)


def test_a_partial_credit_splits_vat_like_the_invoice_line() -> None:
    plan = cn.plan_credit("INV-1", [line(1, 1_000_000)], full=False, asks=[cn.CreditAsk(1, 333)])
    split = split_vat(333)
    assert (plan.total, plan.net, plan.vat) == (333, split.net, split.vat)


def test_more_than_is_left_of_a_line_is_refused_naming_the_line_and_what_is_left() -> None:
    credited = after(line(2, 100_000), cn.CreditLine(2, cn.credit_line(line(2, 100_000), 60_000)))
    with pytest.raises(Conflict) as refused:
        cn.plan_credit(
            "INV-SH01-2026-000007", [line(1, 5_000), credited], full=False,
            asks=[cn.CreditAsk(2, 40_001)],
        )  # fmt: skip
    assert "Line 2 of invoice INV-SH01-2026-000007" in refused.value.detail
    assert "400.00 CNY left" in refused.value.detail
    assert refused.value.errors[0]["creditable_fen"] == 40_000
    assert refused.value.errors[0]["line_no"] == 2


def test_an_invoice_credited_in_full_has_nothing_left() -> None:
    whole = line(1, 5_000)
    done = after(whole, cn.CreditLine(1, cn.credit_line(whole, 5_000)))
    with pytest.raises(Conflict, match="already credited in full"):
        cn.plan_credit("INV-1", [done], full=True, asks=None)


@pytest.mark.parametrize(
    ("full", "asks", "field"),
    [
        (False, None, "lines"),
        (False, [], "lines"),
        (True, [cn.CreditAsk(1, 100)], "lines"),
        (False, [cn.CreditAsk(3, 100)], "lines[0].line_no"),
        (False, [cn.CreditAsk(0, 100)], "lines[0].line_no"),
        (False, [cn.CreditAsk(True, 100)], "lines[0].line_no"),
        (False, [cn.CreditAsk(1, 100), cn.CreditAsk(1, 100)], "lines[1].line_no"),
        (False, [cn.CreditAsk(1, 0)], "lines[0].amount_fen"),
        (False, [cn.CreditAsk(1, -5)], "lines[0].amount_fen"),
        (False, [cn.CreditAsk(1, 1.5)], "lines[0].amount_fen"),
    ],
)
def test_malformed_credit_requests_are_refused_with_the_field(
    full: bool, asks: list[cn.CreditAsk] | None, field: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        cn.plan_credit("INV-1", [line(1, 10_000), line(2, 10_000)], full=full, asks=asks)
    assert refused.value.errors[0]["field"] == field


def test_reasons_come_from_the_short_list() -> None:
    assert cn.parse_reason("goods_returned") is cn.CreditReason.GOODS_RETURNED
    with pytest.raises(InvalidInput, match="price_adjustment, sale_cancelled"):
        cn.parse_reason("because")
    with pytest.raises(InvalidInput):
        cn.check_note("x" * 501)
    assert cn.check_note("  客户退订 ") == "客户退订"


@given(
    gross=st.integers(min_value=1, max_value=10**9),
    cuts=st.lists(st.integers(min_value=1, max_value=10**9), min_size=1, max_size=12),
)
def test_credits_of_a_line_never_go_negative_and_add_up_to_the_original(
    gross: int, cuts: list[int]
) -> None:
    current = line(1, gross)
    for cut in cuts:
        if current.left == 0:
            break
        piece = cn.credit_line(current, min(cut, current.left))
        assert piece.net >= 0 and piece.vat >= 0 and piece.net + piece.vat == piece.gross
        current = after(current, cn.CreditLine(1, piece))
    if current.left:
        current = after(current, cn.CreditLine(1, cn.credit_line(current, current.left)))
    assert (current.credited_gross, current.credited_net, current.credited_vat) == (
        current.gross,
        current.net,
        current.vat,
    )


def test_the_last_credit_of_a_line_takes_the_rounding_remainder() -> None:
    # 17 fen: net 15, VAT 2. Three credits of 5 fen each split as 4 + 1 (halves up); the last
    # 2 fen take what is left, 3 net and no VAT, never a negative VAT.
    current = line(1, 17)
    assert (current.net, current.vat) == (15, 2)
    pieces = []
    for cut in (5, 5, 5, 2):
        piece = cn.credit_line(current, cut)
        pieces.append((piece.net, piece.vat))
        current = after(current, cn.CreditLine(1, piece))
    assert pieces == [(4, 1), (4, 1), (5, 0), (2, 0)]
    assert (current.credited_net, current.credited_vat) == (15, 2)


# --- money and status -----------------------------------------------------------------------


def test_a_credit_first_reduces_what_is_still_owed_then_releases_what_was_paid() -> None:
    assert cn.settle(30_000, total=100_000, paid=0, credited=0) == cn.Settlement(30_000, 0)
    assert cn.settle(30_000, total=100_000, paid=80_000, credited=0) == cn.Settlement(
        20_000, 10_000
    )
    assert cn.settle(100_000, total=100_000, paid=100_000, credited=0) == cn.Settlement(0, 100_000)
    assert cn.settle(50_000, total=100_000, paid=50_000, credited=50_000) == cn.Settlement(
        0, 50_000
    )
    with pytest.raises(ValueError):
        cn.settle(60_000, total=100_000, paid=0, credited=50_000)


def test_released_money_goes_back_from_the_newest_paying_receipts_first() -> None:
    assert cn.release_from(70_000, [("r3", 50_000), ("r2", 0), ("r1", 100_000)]) == [
        ("r3", 50_000),
        ("r1", 20_000),
    ]
    assert cn.release_from(0, []) == []
    with pytest.raises(ValueError):
        cn.release_from(10, [("r1", 5)])


def test_invoice_status_counts_credits() -> None:
    assert invoice_status(100, 0, 100) is InvoiceStatus.CREDITED
    assert invoice_status(100, 0, 30) is InvoiceStatus.OPEN
    assert invoice_status(100, 50, 30) is InvoiceStatus.PARTIALLY_PAID
    assert invoice_status(100, 70, 30) is InvoiceStatus.PAID
    assert invoice_status(100, 100) is InvoiceStatus.PAID


# --- posting --------------------------------------------------------------------------------


def test_a_credit_note_mirrors_the_invoice_on_the_same_dimensions() -> None:
    plan = cn.plan_credit(
        "INV-1",
        [line(1, 22_600_000), line(2, 113_000, BusinessLine.ACCESSORIES)],
        full=True,
        asks=None,
    )
    draft = money_in.invoice_credited(
        store_id="SH01",
        credit_note_id="cn-1",
        number="CN-SH01-2026-000001",
        invoice_number="INV-SH01-2026-000001",
        customer_id="C1",
        reason="sale_cancelled",
        credited_on=DAY,
        lines=[c.priced for c in plan.lines],
    )
    assert sides(draft) == {
        "6001.01": (20_000_000, 0),
        "6001.05": (100_000, 0),
        VAT_OUTPUT: (2_613_000, 0),
        AR: (0, 22_713_000),
    }
    revenue = next(li for li in draft.lines if li.account == "6001.01")
    assert (revenue.business_line, revenue.model_code, revenue.vin, revenue.party) == (
        "new_vehicles",
        "BYD-HAN",
        "LGXCE4CB5R0123456",
        "C1",
    )
    accessory = next(li for li in draft.lines if li.account == "6001.05")
    assert accessory.business_line == "accessories"
    assert (draft.source_type, draft.source_id, draft.source_event_id, draft.rule) == (
        "credit_note",
        "cn-1",
        "credit_note:cn-1",
        money_in.RULE_CREDIT_NOTE,
    )
    assert draft.entry_date == DAY


def test_what_was_already_paid_goes_to_the_payers_advances() -> None:
    plan = cn.plan_credit("INV-1", [line(1, 113_000)], full=False, asks=[cn.CreditAsk(1, 56_500)])
    draft = money_in.invoice_credited(
        store_id="SH01",
        credit_note_id="cn-2",
        number="CN-SH01-2026-000002",
        invoice_number="INV-SH01-2026-000001",
        customer_id="C1",
        reason="price_adjustment",
        credited_on=DAY,
        lines=[c.priced for c in plan.lines],
        released=[
            money_in.Released("RCT-2", "C1", 30_000),
            money_in.Released("RCT-1", "LENDER", 6_500),
        ],
    )
    checked = draft.checked()
    assert sum(li.debit for li in checked.lines) == sum(li.credit for li in checked.lines)
    assert sides(draft) == {
        "6001.01": (50_000, 0),
        VAT_OUTPUT: (6_500, 0),
        AR: (36_500, 56_500),
        CUSTOMER_ADVANCES: (0, 36_500),
    }
    advances = [li for li in checked.lines if li.account == CUSTOMER_ADVANCES]
    assert [(li.party, li.memo, li.credit) for li in advances] == [
        ("C1", "RCT-2", 30_000),
        ("LENDER", "RCT-1", 6_500),
    ]
    with pytest.raises(ValueError):
        money_in.invoice_credited(
            store_id="SH01",
            credit_note_id="cn-3",
            number="CN-3",
            invoice_number="INV-1",
            customer_id="C1",
            reason="price_adjustment",
            credited_on=DAY,
            lines=[c.priced for c in plan.lines],
            released=[money_in.Released("RCT-2", "C1", 56_501)],
        )
