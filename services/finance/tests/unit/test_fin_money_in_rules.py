"""Money-in posting rules: each entry balances, on the right accounts, with the right keys."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from marque_finance.domain.accounts import (
    AR,
    BANK,
    CASH,
    CUSTOMER_ADVANCES,
    VAT_OUTPUT,
    BusinessLine,
)
from marque_finance.domain.ledger import EntryDraft
from marque_finance.domain.posting_rules import money_in
from marque_finance.domain.receivables import InvoiceLineDraft, PaymentMethod, price_invoice

DAY = date(2026, 3, 2)


def sides(draft: EntryDraft) -> dict[str, tuple[int, int]]:
    """{account: (debits, credits)} of a checked draft."""
    out: dict[str, tuple[int, int]] = {}
    for line in draft.checked().lines:
        d, c = out.get(line.account, (0, 0))
        out[line.account] = (d + line.debit, c + line.credit)
    return out


def balanced(draft: EntryDraft) -> None:
    checked = draft.checked()
    assert sum(li.debit for li in checked.lines) == sum(li.credit for li in checked.lines)


def test_an_invoice_books_gross_ar_net_revenue_per_line_and_output_vat() -> None:
    priced = price_invoice(
        [
            InvoiceLineDraft("BYD 汉 EV", BusinessLine.NEW_VEHICLES, 22_600_000, "BYD-HAN", "V1"),
            InvoiceLineDraft("脚垫", BusinessLine.ACCESSORIES, 113_000, "BYD-HAN"),
            InvoiceLineDraft("保险佣金", BusinessLine.INSURANCE_COMMISSION, 1_130),
        ]
    )
    draft = money_in.invoice_issued(
        store_id="SH01",
        invoice_id="inv-1",
        number="INV-SH01-2026-000001",
        customer_id="C1",
        reference="SO-SH01-000123",
        issued_on=DAY,
        lines=priced.lines,
    )
    balanced(draft)
    assert sides(draft) == {
        AR: (22_714_130, 0),
        "6001.01": (0, 20_000_000),
        "6001.05": (0, 100_000),
        "6051.01": (0, 1_000),
        VAT_OUTPUT: (0, 2_613_130),
    }
    revenue = next(li for li in draft.lines if li.account == "6001.01")
    assert (revenue.business_line, revenue.model_code, revenue.vin) == (
        "new_vehicles",
        "BYD-HAN",
        "V1",
    )
    assert all(li.party == "C1" for li in draft.lines)
    assert (draft.source_type, draft.source_id, draft.source_event_id) == (
        "invoice",
        "inv-1",
        "invoice:inv-1",
    )
    assert draft.rule == money_in.RULE_INVOICE and draft.entry_date == DAY


@given(st.lists(st.integers(min_value=1, max_value=10**9), min_size=1, max_size=8))
def test_any_invoice_entry_balances(amounts: list[int]) -> None:
    priced = price_invoice([InvoiceLineDraft("x", BusinessLine.PARTS, a) for a in amounts])
    draft = money_in.invoice_issued(
        store_id="S",
        invoice_id="i",
        number="n",
        customer_id="c",
        reference="r",
        issued_on=DAY,
        lines=priced.lines,
    )
    balanced(draft)
    assert draft.total == sum(amounts)


def receipt(method: PaymentMethod, amount: int, applied: list[money_in.AppliedTo]) -> EntryDraft:
    return money_in.receipt_recorded(
        store_id="SH01",
        receipt_id="rct-1",
        number="RCT-SH01-2026-000001",
        customer_id="C1",
        reference="SO-SH01-000123",
        method=method,
        amount=amount,
        received_on=DAY,
        bank_reference="WX4200001234",
        applied=applied,
    )


def test_a_receipt_without_an_open_invoice_is_an_advance() -> None:
    draft = receipt(PaymentMethod.WECHAT_PAY, 500_000, [])
    balanced(draft)
    assert sides(draft) == {BANK: (500_000, 0), CUSTOMER_ADVANCES: (0, 500_000)}
    bank = next(li for li in draft.lines if li.account == BANK)
    assert bank.memo == "WX4200001234"  # reconciliation matches the bank statement on this
    assert draft.source_event_id == "receipt:rct-1" and draft.rule == money_in.RULE_RECEIPT


def test_cash_pays_an_invoice_and_the_overpayment_waits_in_advances() -> None:
    applied = [
        money_in.AppliedTo("INV-SH01-2026-000001", "C1", 300_000),
        money_in.AppliedTo("INV-SH01-2026-000002", "C9", 100_000),
    ]
    draft = receipt(PaymentMethod.CASH, 500_000, applied)
    balanced(draft)
    assert sides(draft) == {CASH: (500_000, 0), AR: (0, 400_000), CUSTOMER_ADVANCES: (0, 100_000)}
    ar_parties = {li.party: li.credit for li in draft.lines if li.account == AR}
    assert ar_parties == {"C1": 300_000, "C9": 100_000}


def test_a_receipt_exactly_paying_an_invoice_leaves_no_advance_line() -> None:
    draft = receipt(PaymentMethod.POS_CARD, 300_000, [money_in.AppliedTo("INV", "C1", 300_000)])
    assert sides(draft) == {BANK: (300_000, 0), AR: (0, 300_000)}


def test_a_receipt_cannot_apply_more_than_it_brings() -> None:
    with pytest.raises(ValueError, match="cannot apply more"):
        receipt(PaymentMethod.ALIPAY, 100, [money_in.AppliedTo("INV", "C1", 101)])


@pytest.mark.parametrize("method", list(PaymentMethod))
def test_every_method_lands_in_cash_or_bank(method: PaymentMethod) -> None:
    draft = receipt(method, 1_000, [])
    expected = CASH if method is PaymentMethod.CASH else BANK
    assert sides(draft)[expected] == (1_000, 0)


def test_an_advance_applied_to_an_invoice_moves_2203_to_1122() -> None:
    draft = money_in.advance_applied(
        store_id="SH01",
        receipt_id="rct-1",
        receipt_number="RCT-1",
        receipt_customer="C1",
        invoice_id="inv-1",
        invoice_number="INV-1",
        invoice_customer="C1",
        amount=200_000,
        on=DAY,
    )
    balanced(draft)
    assert sides(draft) == {CUSTOMER_ADVANCES: (200_000, 0), AR: (0, 200_000)}
    assert draft.source_event_id == "application:rct-1:inv-1"
    assert draft.rule == money_in.RULE_APPLICATION


@pytest.mark.parametrize(
    ("method", "account"), [(PaymentMethod.CASH, CASH), (PaymentMethod.BANK_TRANSFER, BANK)]
)
def test_a_refund_pays_back_out_of_advances_the_way_it_came(
    method: PaymentMethod, account: str
) -> None:
    draft = money_in.refund_paid(
        store_id="SH01",
        refund_id="rfd-1",
        number="RFD-SH01-2026-000001",
        receipt_number="RCT-1",
        customer_id="C1",
        method=method,
        amount=50_000,
        on=DAY,
        reason="order cancelled",
        bank_reference="B-77",
    )
    balanced(draft)
    assert sides(draft) == {CUSTOMER_ADVANCES: (50_000, 0), account: (0, 50_000)}
    assert draft.source_event_id == "refund:rfd-1" and "order cancelled" in draft.description
