"""Receivables (应收): customer invoices, money received (收款), refunds and AR ageing.

The rules, as the cashier and the bookkeeper apply them:

- An invoice bills a sales order or a repair order. Each line's price includes 13% VAT; finance
  splits every line on its own (net + VAT == gross, always, to the fen), and the invoice's VAT is
  the sum of its lines' VAT.
- A receipt records money taken against a reference: a sales order, a repair order, or a deposit
  on account (定金/预收, no order yet). Cash goes to the cash box (1001); every other method (bank
  transfer, POS card, WeChat Pay, Alipay, a lender's loan disbursement) lands in the bank (1002).
- Money received for an order that has an open invoice pays that invoice first (oldest invoice
  first), up to what is still owed; the rest waits as a customer advance (预收账款 2203). An
  invoice issued for an order that already has unapplied money takes that money at once.
- A refund comes only out of a receipt's unapplied remainder. Money already applied to an invoice
  must come off the invoice first (a credit note, 红字发票), and only then can it go back.
- AR ageing sorts what customers still owe by days past the due date (the buckets are shared
  with AP ageing, in `domain.ageing`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from marque_finance.domain.accounts import BANK, CASH, BusinessLine
from marque_finance.domain.ageing import Ageing, age
from marque_finance.domain.money import format_yuan, require_fen, split_vat
from marque_kit.errors import Conflict, InvalidInput

MAX_REFERENCE = 60
MAX_LINES = 100
MAX_DESCRIPTION = 200
MAX_REASON = 500
# A single document above 1 亿 CNY is a typing mistake, not a car sale.
MAX_AMOUNT_FEN = 10_000_000_000


class PaymentMethod(StrEnum):
    """How the customer paid."""

    CASH = "cash"  # 现金
    BANK_TRANSFER = "bank_transfer"  # 银行转账
    POS_CARD = "pos_card"  # 刷卡 (POS)
    WECHAT_PAY = "wechat_pay"  # 微信支付
    ALIPAY = "alipay"  # 支付宝
    LOAN_DISBURSEMENT = "loan_disbursement"  # 按揭放款: the lender pays the store directly


class ReferenceType(StrEnum):
    """What a receipt (or an invoice) is for."""

    SALES_ORDER = "sales_order"
    REPAIR_ORDER = "repair_order"
    DEPOSIT = "deposit"  # money on account, not yet tied to an order


INVOICEABLE = (ReferenceType.SALES_ORDER, ReferenceType.REPAIR_ORDER)


class InvoiceStatus(StrEnum):
    OPEN = "open"
    PARTIALLY_PAID = "partially_paid"
    PAID = "paid"
    # A credit note (红字发票) took back the whole invoice; nothing is owed on it.
    CREDITED = "credited"


def money_account(method: PaymentMethod) -> str:
    """Where the money lands: the cash box for cash, the bank for everything else."""
    return CASH if method is PaymentMethod.CASH else BANK


def parse_method(value: str) -> PaymentMethod:
    try:
        return PaymentMethod(value)
    except ValueError:
        allowed = ", ".join(m.value for m in PaymentMethod)
        raise InvalidInput(
            f"Payment method {value!r} is not one we take; use one of: {allowed}.",
            errors=[{"field": "method", "rule": "one_of", "allowed": allowed}],
        ) from None


def parse_reference_type(value: str) -> ReferenceType:
    try:
        return ReferenceType(value)
    except ValueError:
        allowed = ", ".join(r.value for r in ReferenceType)
        raise InvalidInput(
            f"Reference type {value!r} is unknown; use one of: {allowed}.",
            errors=[{"field": "reference_type", "rule": "one_of", "allowed": allowed}],
        ) from None


def check_reference(
    reference_type: ReferenceType, reference: str, *, for_invoice: bool = False
) -> str:
    """The reference, trimmed; an order needs its number, and only orders are invoiced."""
    cleaned = reference.strip()
    if for_invoice and reference_type not in INVOICEABLE:
        raise InvalidInput(
            "An invoice bills a sales order or a repair order; a deposit on account is not "
            "invoiced until it is tied to an order.",
            errors=[{"field": "reference_type", "rule": "invoiceable"}],
        )
    if reference_type in INVOICEABLE and not cleaned:
        raise InvalidInput(
            f"A {reference_type.value.replace('_', ' ')} reference needs the order number "
            "(e.g. SO-SH01-000123 or RO-SH01-20260302-0042).",
            errors=[{"field": "reference", "rule": "required"}],
        )
    if len(cleaned) > MAX_REFERENCE:
        raise InvalidInput(
            f"reference is at most {MAX_REFERENCE} characters ({len(cleaned)} given).",
            errors=[{"field": "reference", "rule": "max_length"}],
        )
    return cleaned


def reference_key(
    store_id: str, reference_type: ReferenceType, reference: str, customer: str
) -> str:
    """What identifies "the same reference" for applying money and for the running total.

    An order is identified by its number within the store; a deposit with no order number is the
    customer's money on account in that store.
    """
    if reference:
        return f"{store_id}|{reference_type.value}|{reference}"
    return f"{store_id}|{reference_type.value}||{customer}"


def check_amount(value: object, field: str = "amount_fen") -> int:
    """A positive whole number of fen, below the sanity ceiling."""
    amount = require_fen(value, field, positive=True)
    if amount > MAX_AMOUNT_FEN:
        raise InvalidInput(
            f"{field} of {format_yuan(amount)} CNY is above the {format_yuan(MAX_AMOUNT_FEN)} CNY "
            "a single document may carry; check the amount (it is in fen, 1 CNY = 100 fen).",
            errors=[{"field": field, "rule": "maximum"}],
        )
    return amount


# --- invoices -------------------------------------------------------------------------------


@dataclass(frozen=True)
class InvoiceLineDraft:
    """A line as the caller writes it: a VAT-inclusive amount and what it is for."""

    description: str
    business_line: BusinessLine
    gross: int
    model_code: str = ""
    vin: str = ""


@dataclass(frozen=True)
class PricedLine:
    """A line with its VAT split out: net + vat == gross."""

    description: str
    business_line: BusinessLine
    gross: int
    net: int
    vat: int
    model_code: str = ""
    vin: str = ""


@dataclass(frozen=True)
class PricedInvoice:
    lines: tuple[PricedLine, ...]

    @property
    def total(self) -> int:
        return sum(line.gross for line in self.lines)

    @property
    def net(self) -> int:
        return sum(line.net for line in self.lines)

    @property
    def vat(self) -> int:
        return sum(line.vat for line in self.lines)


def price_line(draft: InvoiceLineDraft, index: int = 0) -> PricedLine:
    """Split one VAT-inclusive line into net and output VAT (13%, halves rounded up)."""
    where = f"lines[{index}]"
    description = draft.description.strip()
    if not description:
        raise InvalidInput(
            f"{where}.description is required: say what is being billed (e.g. 'BYD Han EV').",
            errors=[{"field": f"{where}.description", "rule": "required"}],
        )
    if len(description) > MAX_DESCRIPTION:
        raise InvalidInput(
            f"{where}.description is at most {MAX_DESCRIPTION} characters.",
            errors=[{"field": f"{where}.description", "rule": "max_length"}],
        )
    gross = check_amount(draft.gross, f"{where}.amount_fen")
    split = split_vat(gross)
    return PricedLine(
        description=description,
        business_line=draft.business_line,
        gross=split.gross,
        net=split.net,
        vat=split.vat,
        model_code=draft.model_code.strip(),
        vin=draft.vin.strip().upper(),
    )


def price_invoice(lines: Sequence[InvoiceLineDraft]) -> PricedInvoice:
    """Every line priced; an invoice has 1 to 100 lines and a total under the ceiling."""
    if not lines:
        raise InvalidInput(
            "An invoice needs at least one line.", errors=[{"field": "lines", "rule": "required"}]
        )
    if len(lines) > MAX_LINES:
        raise InvalidInput(
            f"An invoice has at most {MAX_LINES} lines ({len(lines)} given); split it.",
            errors=[{"field": "lines", "rule": "max_items"}],
        )
    priced = PricedInvoice(tuple(price_line(line, n) for n, line in enumerate(lines)))
    check_amount(priced.total, "total")
    return priced


def due_date(issued_on: date, due_on: date | None, terms_days: int) -> date:
    """The caller's due date, or the store's payment terms after issue; never before issue."""
    if due_on is None:
        return issued_on + timedelta(days=terms_days)
    if due_on < issued_on:
        raise InvalidInput(
            f"due_on {due_on.isoformat()} is before issued_on {issued_on.isoformat()}; "
            "an invoice cannot fall due before it is issued.",
            errors=[{"field": "due_on", "rule": "not_before_issue"}],
        )
    return due_on


def invoice_status(total: int, paid: int, credited: int = 0) -> InvoiceStatus:
    """Open, partly paid or paid against what is due (total less credit notes); `credited` once
    credit notes took back the whole invoice."""
    if credited >= total:
        return InvoiceStatus.CREDITED
    if paid <= 0:
        return InvoiceStatus.OPEN
    if paid < total - credited:
        return InvoiceStatus.PARTIALLY_PAID
    return InvoiceStatus.PAID


# --- applying money -------------------------------------------------------------------------


@dataclass(frozen=True)
class Allocation:
    """`amount` fen of the money goes to `target` (an invoice, or a receipt's remainder)."""

    target: str
    amount: int


def allocate(amount: int, targets: Sequence[tuple[str, int]]) -> tuple[list[Allocation], int]:
    """Spread `amount` over `targets` (id, room) in the order given, each up to its room.

    Returns the allocations and what is left over. Used both ways: a receipt paying open invoices
    (room = what each still owes), and an invoice taking receipts' unapplied money (room = each
    receipt's remainder). Callers pass targets oldest first.
    """
    if amount < 0:
        raise ValueError("amount to allocate must not be negative")
    left = amount
    out: list[Allocation] = []
    for target, room in targets:
        if left == 0:
            break
        take = min(left, max(room, 0))
        if take > 0:
            out.append(Allocation(target, take))
            left -= take
    return out, left


def unapplied(amount: int, applied: int, refunded: int) -> int:
    """What is left of a receipt: neither paying an invoice nor refunded (sits in 2203)."""
    return amount - applied - refunded


def check_refund(
    amount: object,
    reason: str,
    *,
    receipt_number: str,
    receipt_amount: int,
    applied: int,
    refunded: int,
) -> tuple[int, str]:
    """A refund's amount and reason, if the receipt's unapplied remainder covers it."""
    cleaned = reason.strip()
    if not cleaned:
        raise InvalidInput(
            "A refund needs a reason (退款原因) for the audit trail, e.g. 'order cancelled'.",
            errors=[{"field": "reason", "rule": "required"}],
        )
    if len(cleaned) > MAX_REASON:
        raise InvalidInput(
            f"reason is at most {MAX_REASON} characters.",
            errors=[{"field": "reason", "rule": "max_length"}],
        )
    fen = check_amount(amount)
    left = unapplied(receipt_amount, applied, refunded)
    if fen > left:
        parts = [
            f"Only {format_yuan(left)} CNY of receipt {receipt_number} "
            f"({format_yuan(receipt_amount)} CNY) can be refunded"
        ]
        if applied:
            parts.append(
                f"{format_yuan(applied)} CNY pays invoices: credit the invoice first "
                "(红字发票/credit note) to free that money, then refund it"
            )
        if refunded:
            parts.append(f"{format_yuan(refunded)} CNY was refunded already")
        raise Conflict(
            "; ".join(parts) + f". Asked to refund {format_yuan(fen)} CNY.",
            errors=[{"field": "amount_fen", "rule": "refundable", "refundable_fen": left}],
        )
    return fen, cleaned


# --- ageing ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class OpenInvoice:
    """An invoice with money still owed on the ageing date (`party` is the customer)."""

    party: str
    invoice_id: str
    due_on: date
    outstanding_fen: int


def outstanding_on(total: int, applied: Iterable[tuple[date, int]], as_of: date) -> int:
    """What an invoice still owed at the end of `as_of`: its total less money applied by then."""
    return total - sum(amount for on, amount in applied if on <= as_of)


def ar_ageing(items: Iterable[OpenInvoice], as_of: date) -> Ageing:
    """AR ageing (应收账龄): what customers owe, by days past due, with the same buckets as AP
    (`domain.ageing`: current, 1-30, 31-60, 61-90, 91-180, over 180)."""
    return age(items, as_of)
