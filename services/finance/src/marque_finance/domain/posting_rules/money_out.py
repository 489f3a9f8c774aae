"""Money going out: payables paid, supplier invoices booked, and floor-plan financing.

| fact                                  | entry                                                |
|---------------------------------------|------------------------------------------------------|
| supplier invoice typed in (manual)    | Dr expense/stock net + Dr 2221.01 VAT / Cr 2202.02   |
| payable paid from the bank (partial)  | Dr 2202.01 or 2202.02 / Cr 1002 (memo: bank ref)     |
| floor-plan drawdown (lender pays OEM) | Dr 2202.01 (OEM) / Cr 2001.01 (lender)               |
| floor-plan payoff                     | Dr 2001.01 (lender) / Cr 1002 (memo: bank ref)       |
| a month's floor-plan interest, store  | Dr 6603 per vehicle / Cr 2231 per lender             |
| interest over-accrued (late payoff)   | Dr 2231 (lender) / Cr 6603 (vehicle)                 |

The OEM vehicle invoice itself (Dr 1405.01 + Dr 2221.01 / Cr 2202.01) is the inventory rule's:
it is posted when the vehicle arrives.

Keys (`source_event_id`) are deterministic, so a retried command can never post twice:
`payable:<id>`, `payment:<id>`, `floorplan:drawdown:<loan>`, `floorplan:payoff:<loan>`,
`floorplan:<store>:<YYYY-MM>` (a later catch-up for loans that arrived late: `...:<n>`) and
`floorplan:adjust:<loan>`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from marque_finance.domain.accounts import (
    AP_OEM,
    AP_SUPPLIERS,
    BANK,
    FINANCE_COSTS,
    INTEREST_PAYABLE,
    SHORT_TERM_LOANS_FLOORPLAN,
    VAT_INPUT,
)
from marque_finance.domain.floorplan import AccrualLine
from marque_finance.domain.ledger import EntryDraft, Line, credit, debit
from marque_finance.domain.money import format_yuan

RULE_SUPPLIER_INVOICE = "supplier_invoice"
RULE_PAYMENT = "payable_payment"
RULE_DRAWDOWN = "floorplan_drawdown"
RULE_PAYOFF = "floorplan_payoff"
RULE_ACCRUAL = "floorplan_accrual"
RULE_ADJUSTMENT = "floorplan_accrual_adjustment"


def lender_party(lender_name: str) -> str:
    """How a lender appears as the party on loan and interest lines."""
    return f"LENDER:{lender_name}"


def supplier_invoice(
    *,
    store_id: str,
    payable_id: str,
    supplier: str,
    reference: str,
    account: str,
    net_fen: int,
    vat_fen: int,
    issued_on: date,
    description: str,
    created_by: str,
) -> EntryDraft:
    """A supplier's invoice: what it bought (net), the input VAT, owed gross to the supplier."""
    return EntryDraft(
        store_id=store_id,
        entry_date=issued_on,
        description=f"{description} ({reference})",
        source_type="payable",
        source_id=payable_id,
        source_event_id=f"payable:{payable_id}",
        rule=RULE_SUPPLIER_INVOICE,
        created_by=created_by,
        lines=(
            debit(account, net_fen, party=supplier, memo=reference),
            debit(VAT_INPUT, vat_fen, party=supplier, memo=reference),
            credit(AP_SUPPLIERS, net_fen + vat_fen, party=supplier, memo=reference),
        ),
    )


def payable_payment(
    *,
    store_id: str,
    payment_id: str,
    payable_account: str,
    supplier: str,
    reference: str,
    amount_fen: int,
    paid_on: date,
    bank_reference: str,
    vin: str = "",
    model_code: str = "",
    created_by: str = "system",
) -> EntryDraft:
    """Paying (part of) a payable from the bank: the debt shrinks, so does the bank balance.

    The bank line's memo is the bank's transaction reference, for reconciliation.
    """
    return EntryDraft(
        store_id=store_id,
        entry_date=paid_on,
        description=f"Payment to {supplier} for {reference}: {format_yuan(amount_fen)} CNY",
        source_type="payable_payment",
        source_id=payment_id,
        source_event_id=f"payment:{payment_id}",
        rule=RULE_PAYMENT,
        created_by=created_by,
        lines=(
            debit(
                payable_account,
                amount_fen,
                party=supplier,
                vin=vin,
                model_code=model_code,
                memo=reference,
            ),
            credit(BANK, amount_fen, party=supplier, memo=bank_reference),
        ),
    )


def floorplan_drawdown(
    *,
    store_id: str,
    loan_id: str,
    oem: str,
    lender_name: str,
    vin: str,
    model_code: str,
    principal_fen: int,
    drawn_on: date,
) -> EntryDraft:
    """The lender pays the OEM for the vehicle: the OEM payable becomes a loan from the lender."""
    return EntryDraft(
        store_id=store_id,
        entry_date=drawn_on,
        description=f"Floor-plan drawdown from {lender_name} for {vin} (库存融资放款)",
        source_type="floorplan_loan",
        source_id=loan_id,
        source_event_id=f"floorplan:drawdown:{loan_id}",
        rule=RULE_DRAWDOWN,
        lines=(
            debit(AP_OEM, principal_fen, party=oem, vin=vin, model_code=model_code, memo=vin),
            credit(
                SHORT_TERM_LOANS_FLOORPLAN,
                principal_fen,
                party=lender_party(lender_name),
                vin=vin,
                model_code=model_code,
                memo=vin,
            ),
        ),
    )


def floorplan_payoff(
    *,
    store_id: str,
    loan_id: str,
    lender_name: str,
    vin: str,
    model_code: str,
    principal_fen: int,
    paid_on: date,
    bank_reference: str,
    created_by: str,
) -> EntryDraft:
    """The store repays the vehicle's principal to the lender (usually when the car is sold)."""
    party = lender_party(lender_name)
    return EntryDraft(
        store_id=store_id,
        entry_date=paid_on,
        description=f"Floor-plan payoff to {lender_name} for {vin} (库存融资还款)",
        source_type="floorplan_loan",
        source_id=loan_id,
        source_event_id=f"floorplan:payoff:{loan_id}",
        rule=RULE_PAYOFF,
        created_by=created_by,
        lines=(
            debit(
                SHORT_TERM_LOANS_FLOORPLAN,
                principal_fen,
                party=party,
                vin=vin,
                model_code=model_code,
                memo=vin,
            ),
            credit(BANK, principal_fen, party=party, memo=bank_reference),
        ),
    )


def accrual_key(store_id: str, month: str, sequence: int = 1) -> str:
    """`floorplan:<store>:<YYYY-MM>` for a store-month's accrual; a catch-up (a loan that was
    booked after its month had been accrued) gets `:<n>`, n = 2, 3, ..."""
    base = f"floorplan:{store_id}:{month}"
    return base if sequence == 1 else f"{base}:{sequence}"


def floorplan_accrual(
    *,
    store_id: str,
    month: str,
    entry_date: date,
    lines: Sequence[AccrualLine],
    sequence: int = 1,
) -> EntryDraft | None:
    """The month's interest for a store: one finance-cost line per vehicle, one interest-payable
    line per lender. None when the month bears no interest (nothing to post)."""
    cost = [
        debit(
            FINANCE_COSTS,
            line.interest_fen,
            vin=line.vin,
            model_code=line.model_code,
            party=lender_party(line.lender_name),
            memo=f"{line.days} days",
        )
        for line in lines
        if line.interest_fen
    ]
    if not cost:
        return None
    owed: dict[str, int] = {}
    for line in lines:
        party = lender_party(line.lender_name)
        owed[party] = owed.get(party, 0) + line.interest_fen
    payable = [credit(INTEREST_PAYABLE, fen, party=party) for party, fen in sorted(owed.items())]
    return EntryDraft(
        store_id=store_id,
        entry_date=entry_date,
        description=f"Floor-plan interest {month} (库存融资利息计提)",
        source_type="floorplan_accrual",
        source_id=f"{store_id}:{month}",
        source_event_id=accrual_key(store_id, month, sequence),
        rule=RULE_ACCRUAL,
        lines=(*cost, *payable),
    )


def floorplan_interest_adjustment(
    *,
    store_id: str,
    loan_id: str,
    lender_name: str,
    vin: str,
    model_code: str,
    amount_fen: int,
    on: date,
    created_by: str,
) -> EntryDraft:
    """Gives back interest accrued for days after the payoff (recorded after the accrual ran)."""
    party = lender_party(lender_name)
    return EntryDraft(
        store_id=store_id,
        entry_date=on,
        description=f"Floor-plan interest over-accrued on {vin} before its payoff was recorded",
        source_type="floorplan_loan",
        source_id=loan_id,
        source_event_id=f"floorplan:adjust:{loan_id}",
        rule=RULE_ADJUSTMENT,
        created_by=created_by,
        lines=(
            debit(INTEREST_PAYABLE, amount_fen, party=party, vin=vin, model_code=model_code),
            credit(FINANCE_COSTS, amount_fen, party=party, vin=vin, model_code=model_code),
        ),
    )


__all__ = [
    "RULE_ACCRUAL",
    "RULE_ADJUSTMENT",
    "RULE_DRAWDOWN",
    "RULE_PAYMENT",
    "RULE_PAYOFF",
    "RULE_SUPPLIER_INVOICE",
    "Line",
    "accrual_key",
    "floorplan_accrual",
    "floorplan_drawdown",
    "floorplan_interest_adjustment",
    "floorplan_payoff",
    "lender_party",
    "payable_payment",
    "supplier_invoice",
]
