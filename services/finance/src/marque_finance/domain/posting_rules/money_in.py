"""Money in (收入与收款): invoices, receipts, applying advances to invoices, refunds.

| fact                       | debit                             | credit                        |
|----------------------------|-----------------------------------|-------------------------------|
| invoice issued             | 1122 AR, gross (party = customer) | 6001.xx/6051.xx revenue, net; |
|                            |                                   | 2221.02 output VAT            |
| receipt                    | 1001 cash / 1002 bank, amount     | 1122 AR, what pays open       |
|                            | (memo = bank reference)           | invoices; 2203 advances, rest |
| advance applied to invoice | 2203 advances                     | 1122 AR                       |
| refund                     | 2203 advances                     | 1001 cash / 1002 bank         |
| credit note (红字发票)      | 6001.xx/6051.xx revenue, net;     | 1122 AR, gross                |
|                            | 2221.02 output VAT                |                               |
|   - part already paid      | 1122 AR (invoice's customer)      | 2203 advances (payer)         |

Every entry names its document (`source_type`, `source_id`) and carries a deterministic
`source_event_id` (`invoice:<id>`, `receipt:<id>`, `application:<receipt>:<invoice>`,
`refund:<id>`, `credit_note:<id>`), so that a retried command can never post twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from marque_finance.domain.accounts import AR, CUSTOMER_ADVANCES, REVENUE_ACCOUNT, VAT_OUTPUT
from marque_finance.domain.ledger import EntryDraft, Line, credit, debit
from marque_finance.domain.receivables import PaymentMethod, PricedLine, money_account

RULE_INVOICE = "money_in.invoice"
RULE_RECEIPT = "money_in.receipt"
RULE_APPLICATION = "money_in.application"
RULE_REFUND = "money_in.refund"
RULE_CREDIT_NOTE = "money_in.credit_note"


def invoice_issued(
    *,
    store_id: str,
    invoice_id: str,
    number: str,
    customer_id: str,
    reference: str,
    issued_on: date,
    lines: Sequence[PricedLine],
    created_by: str = "system",
) -> EntryDraft:
    """Dr AR (gross) / Cr revenue by business line (net, with model and VIN) / Cr output VAT."""
    gross = sum(line.gross for line in lines)
    vat = sum(line.vat for line in lines)
    entry_lines: list[Line] = [debit(AR, gross, party=customer_id, memo=number)]
    entry_lines += [
        credit(
            REVENUE_ACCOUNT[line.business_line],
            line.net,
            business_line=line.business_line.value,
            model_code=line.model_code,
            vin=line.vin,
            party=customer_id,
            memo=line.description,
        )
        for line in lines
    ]
    entry_lines.append(credit(VAT_OUTPUT, vat, party=customer_id, memo=number))
    return EntryDraft(
        store_id=store_id,
        entry_date=issued_on,
        description=f"开票 Invoice {number} for {reference}",
        source_type="invoice",
        source_id=invoice_id,
        lines=tuple(entry_lines),
        source_event_id=f"invoice:{invoice_id}",
        rule=RULE_INVOICE,
        created_by=created_by,
    )


@dataclass(frozen=True)
class AppliedTo:
    """Part of a receipt that pays an invoice (credited to that invoice's customer's AR)."""

    invoice_number: str
    customer_id: str
    amount: int


def receipt_recorded(
    *,
    store_id: str,
    receipt_id: str,
    number: str,
    customer_id: str,
    reference: str,
    method: PaymentMethod,
    amount: int,
    received_on: date,
    bank_reference: str,
    applied: Sequence[AppliedTo] = (),
    created_by: str = "system",
) -> EntryDraft:
    """Dr cash/bank (memo = the bank's reference) / Cr AR what pays invoices / Cr 2203 the rest."""
    paid = sum(a.amount for a in applied)
    if paid > amount:
        raise ValueError("a receipt cannot apply more than it brings in")
    lines: list[Line] = [
        debit(money_account(method), amount, party=customer_id, memo=bank_reference)
    ]
    lines += [credit(AR, a.amount, party=a.customer_id, memo=a.invoice_number) for a in applied]
    lines.append(credit(CUSTOMER_ADVANCES, amount - paid, party=customer_id, memo=reference))
    what = reference or "deposit on account"
    return EntryDraft(
        store_id=store_id,
        entry_date=received_on,
        description=f"收款 Receipt {number} ({method.value}) for {what}",
        source_type="receipt",
        source_id=receipt_id,
        lines=tuple(lines),
        source_event_id=f"receipt:{receipt_id}",
        rule=RULE_RECEIPT,
        created_by=created_by,
    )


def advance_applied(
    *,
    store_id: str,
    receipt_id: str,
    receipt_number: str,
    receipt_customer: str,
    invoice_id: str,
    invoice_number: str,
    invoice_customer: str,
    amount: int,
    on: date,
    created_by: str = "system",
) -> EntryDraft:
    """Money waiting in advances (2203) pays an invoice: Dr 2203 / Cr 1122."""
    return EntryDraft(
        store_id=store_id,
        entry_date=on,
        description=f"预收冲应收 Receipt {receipt_number} applied to invoice {invoice_number}",
        source_type="invoice",
        source_id=invoice_id,
        lines=(
            debit(CUSTOMER_ADVANCES, amount, party=receipt_customer, memo=receipt_number),
            credit(AR, amount, party=invoice_customer, memo=invoice_number),
        ),
        source_event_id=f"application:{receipt_id}:{invoice_id}",
        rule=RULE_APPLICATION,
        created_by=created_by,
    )


def refund_paid(
    *,
    store_id: str,
    refund_id: str,
    number: str,
    receipt_number: str,
    customer_id: str,
    method: PaymentMethod,
    amount: int,
    on: date,
    reason: str,
    bank_reference: str,
    created_by: str = "system",
) -> EntryDraft:
    """Money goes back out of advances the way it came in: Dr 2203 / Cr cash or bank."""
    return EntryDraft(
        store_id=store_id,
        entry_date=on,
        description=f"退款 Refund {number} of receipt {receipt_number}: {reason}",
        source_type="refund",
        source_id=refund_id,
        lines=(
            debit(CUSTOMER_ADVANCES, amount, party=customer_id, memo=receipt_number),
            credit(money_account(method), amount, party=customer_id, memo=bank_reference),
        ),
        source_event_id=f"refund:{refund_id}",
        rule=RULE_REFUND,
        created_by=created_by,
    )


@dataclass(frozen=True)
class Released:
    """Part of a credit note that the customer had already paid: it goes back from the receipt
    that paid it into advances (2203) for the receipt's payer."""

    receipt_number: str
    customer_id: str
    amount: int


def invoice_credited(
    *,
    store_id: str,
    credit_note_id: str,
    number: str,
    invoice_number: str,
    customer_id: str,
    reason: str,
    credited_on: date,
    lines: Sequence[PricedLine],
    released: Sequence[Released] = (),
    created_by: str = "system",
) -> EntryDraft:
    """The mirror of `invoice_issued`: Dr revenue by business line (net, with the original line's
    model and VIN) / Dr output VAT / Cr AR (gross). What was already paid goes back to the
    customer: Dr AR / Cr 2203 advances."""
    gross = sum(line.gross for line in lines)
    vat = sum(line.vat for line in lines)
    if sum(r.amount for r in released) > gross:
        raise ValueError("a credit note cannot release more than it credits")
    entry_lines: list[Line] = [
        debit(
            REVENUE_ACCOUNT[line.business_line],
            line.net,
            business_line=line.business_line.value,
            model_code=line.model_code,
            vin=line.vin,
            party=customer_id,
            memo=line.description,
        )
        for line in lines
    ]
    entry_lines.append(debit(VAT_OUTPUT, vat, party=customer_id, memo=number))
    entry_lines.append(credit(AR, gross, party=customer_id, memo=number))
    for r in released:
        entry_lines.append(debit(AR, r.amount, party=customer_id, memo=number))
        entry_lines.append(
            credit(CUSTOMER_ADVANCES, r.amount, party=r.customer_id, memo=r.receipt_number)
        )
    return EntryDraft(
        store_id=store_id,
        entry_date=credited_on,
        description=f"红字发票 Credit note {number} on invoice {invoice_number} ({reason})",
        source_type="credit_note",
        source_id=credit_note_id,
        lines=tuple(entry_lines),
        source_event_id=f"credit_note:{credit_note_id}",
        rule=RULE_CREDIT_NOTE,
        created_by=created_by,
    )
