"""Payables (应付账款): what a store owes the OEM for vehicles and its suppliers for parts, goods
and services, and the payments that settle them.

- An OEM vehicle invoice is one payable per VIN, owed to `OEM:<brand>` on account 2202.01. It is
  booked when the vehicle arrives (inventory's receipt posts it); if the store finances its stock,
  the floor-plan lender pays it the same day.
- A parts delivery is one payable per delivery-note line, owed on 2202.02.
- A manual supplier invoice (rent, utilities, accessories, anything not received through
  inventory) is one payable on 2202.02, posted against the expense or stock account it buys.
- Payments may be partial; they never exceed what is still owed. A payable is `open` until
  something is paid, `partially_paid`, then `paid`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from marque_finance.domain.accounts import (
    ADMIN_EXPENSES,
    AP_OEM,
    AP_SUPPLIERS,
    INVENTORY,
    SELLING_EXPENSES,
    covers,
)
from marque_finance.domain.money import add_vat, format_yuan, require_fen
from marque_kit.errors import Conflict, InvalidInput

# Inventory's PartsReceived names no supplier: parts deliveries are owed to this party until the
# parts clerk records the supplier on the delivery (a supplier master is future work).
PARTS_SUPPLIER = "SUPPLIER:PARTS"
OEM_PREFIX = "OEM:"
# A manual supplier invoice above 1 亿 CNY (net or VAT) is a typing mistake (the same ceiling as a
# customer document); it also keeps net + VAT far inside the ledger's BIGINT amounts.
MAX_INVOICE_FEN = 10_000_000_000
# Accounts a manual supplier invoice may buy: stock (1405.xx), fixed assets, selling and admin
# expenses (and a store's own sub-accounts of them). Finance costs go through floor plan / bank.
INVOICE_ACCOUNTS = (INVENTORY, "1601", SELLING_EXPENSES, ADMIN_EXPENSES)


class PayableKind(StrEnum):
    OEM_VEHICLE = "oem_vehicle"  # 整车采购发票
    SUPPLIER_PARTS = "supplier_parts"  # 配件入库
    SUPPLIER_INVOICE = "supplier_invoice"  # 供应商发票 (manual)


class PayableStatus(StrEnum):
    OPEN = "open"
    PARTIALLY_PAID = "partially_paid"
    PAID = "paid"


class PaymentMethod(StrEnum):
    BANK = "bank"  # the store paid from its bank account (1002)
    FLOOR_PLAN = "floor_plan"  # the floor-plan lender paid the OEM (2001.01)


ACCOUNT_OF = {
    PayableKind.OEM_VEHICLE: AP_OEM,
    PayableKind.SUPPLIER_PARTS: AP_SUPPLIERS,
    PayableKind.SUPPLIER_INVOICE: AP_SUPPLIERS,
}


def oem_supplier(brand: str) -> str:
    """The OEM as a supplier: `OEM:BYD`."""
    brand = brand.strip().upper()
    if not brand:
        raise InvalidInput("An OEM vehicle payable needs the vehicle's brand.")
    return OEM_PREFIX + brand


def due_date(issued_on: date, terms_days: int) -> date:
    return issued_on + timedelta(days=terms_days)


def status_of(gross_fen: int, paid_fen: int) -> PayableStatus:
    if paid_fen <= 0:
        return PayableStatus.OPEN
    if paid_fen < gross_fen:
        return PayableStatus.PARTIALLY_PAID
    return PayableStatus.PAID


def check_payment(
    *, reference: str, supplier: str, outstanding_fen: int, amount_fen: object
) -> int:
    """A payment of `amount_fen` against a payable with `outstanding_fen` still owed."""
    amount = require_fen(amount_fen, "amount_fen", positive=True)
    if outstanding_fen == 0:
        raise Conflict(
            f"Payable {reference} to {supplier} is already paid in full; nothing is outstanding.",
            errors=[{"field": "amount_fen", "rule": "paid", "outstanding_fen": 0}],
        )
    if amount > outstanding_fen:
        raise Conflict(
            f"The payment of {format_yuan(amount)} CNY is more than the "
            f"{format_yuan(outstanding_fen)} CNY still outstanding on payable {reference} to "
            f"{supplier}; pay at most the outstanding amount.",
            errors=[
                {
                    "field": "amount_fen",
                    "rule": "at_most_outstanding",
                    "outstanding_fen": outstanding_fen,
                }
            ],
        )
    return amount


def check_paid_on(paid_on: date, *, issued_on: date, today: date) -> date:
    """A payment is dated on or after its invoice, and never in the future."""
    if paid_on > today:
        raise InvalidInput(
            f"The payment date {paid_on.isoformat()} is in the future; record payments once the "
            f"money has left the bank.",
            errors=[{"field": "paid_on", "rule": "not_future"}],
        )
    if paid_on < issued_on:
        raise InvalidInput(
            f"The payment date {paid_on.isoformat()} is before the payable was booked "
            f"({issued_on.isoformat()}).",
            errors=[{"field": "paid_on", "rule": "after_issue"}],
        )
    return paid_on


def check_bank_reference(value: str) -> str:
    ref = value.strip()
    if not ref:
        raise InvalidInput(
            "A payment needs the bank's transaction reference (流水号), so that the bank "
            "statement can be reconciled against it.",
            errors=[{"field": "bank_reference", "rule": "required"}],
        )
    return ref


@dataclass(frozen=True)
class SupplierInvoice:
    """A supplier's invoice typed in by finance, checked."""

    supplier: str
    reference: str
    net_fen: int
    vat_fen: int
    account: str
    issued_on: date
    due_on: date
    description: str

    @property
    def gross_fen(self) -> int:
        return self.net_fen + self.vat_fen


def _within_ceiling(amount: int, field: str) -> int:
    if amount > MAX_INVOICE_FEN:
        raise InvalidInput(
            f"{field} of {format_yuan(amount)} CNY is above the {format_yuan(MAX_INVOICE_FEN)} CNY "
            "a supplier invoice may carry; check the amount (it is in fen, 1 CNY = 100 fen).",
            errors=[{"field": field, "rule": "maximum", "max": MAX_INVOICE_FEN}],
        )
    return amount


def supplier_invoice(
    *,
    supplier: str,
    reference: str,
    net_fen: object,
    vat_fen: object | None,
    account: str,
    issued_on: date,
    due_on: date | None,
    terms_days: int,
    description: str = "",
) -> SupplierInvoice:
    """Check a manual supplier invoice; VAT defaults to 13% of net, due date to the terms."""
    name = supplier.strip()
    if not name:
        raise InvalidInput("Name the supplier.", errors=[{"field": "supplier", "rule": "required"}])
    if name.upper().startswith(OEM_PREFIX):
        raise InvalidInput(
            "OEM vehicle invoices are booked when the vehicle arrives; a manual invoice cannot "
            "be made out to an OEM: party.",
            errors=[{"field": "supplier", "rule": "not_oem"}],
        )
    ref = reference.strip()
    if not ref:
        raise InvalidInput(
            "Give the supplier's invoice number (发票号).",
            errors=[{"field": "reference", "rule": "required"}],
        )
    net = _within_ceiling(require_fen(net_fen, "net_fen", positive=True), "net_fen")
    vat = add_vat(net).vat if vat_fen is None else require_fen(vat_fen, "vat_fen")
    _within_ceiling(vat, "vat_fen")
    code = account.strip()
    if not any(covers(parent, code) for parent in INVOICE_ACCOUNTS):
        raise InvalidInput(
            f"Account {code!r} cannot be bought on a supplier invoice; use a stock account "
            f"(1405.xx), fixed assets (1601) or an expense account (6601/6602 and their "
            f"sub-accounts).",
            errors=[{"field": "expense_or_stock_account", "rule": "allowed_accounts"}],
        )
    due = due_on or due_date(issued_on, terms_days)
    if due < issued_on:
        raise InvalidInput(
            f"The due date {due.isoformat()} is before the invoice date {issued_on.isoformat()}.",
            errors=[{"field": "due_on", "rule": "after_issue"}],
        )
    return SupplierInvoice(
        supplier=name,
        reference=ref,
        net_fen=net,
        vat_fen=vat,
        account=code,
        issued_on=issued_on,
        due_on=due,
        description=description.strip() or f"Supplier invoice {ref} from {name}",
    )


# --- AP ledger and ageing ------------------------------------------------------------------


@dataclass(frozen=True)
class OpenPayable:
    """A payable with money still owed on the ageing date (`party` is the supplier)."""

    payable_id: str
    store_id: str
    party: str
    reference: str
    due_on: date
    outstanding_fen: int


@dataclass(frozen=True)
class Movement:
    """One line of a supplier's ledger (应付明细账): an invoice raises what is owed (credit),
    a payment lowers it (debit)."""

    on: date
    kind: str  # "invoice" or "payment"
    document_id: str
    payable_id: str
    store_id: str
    reference: str
    description: str
    credit_fen: int = 0
    debit_fen: int = 0


@dataclass(frozen=True)
class LedgerRow:
    movement: Movement
    balance_fen: int


def running_balance(opening_fen: int, movements: list[Movement]) -> list[LedgerRow]:
    """Each movement with the balance owed after it (credit-normal: invoices add, payments
    subtract), in date order; invoices before payments of the same day, otherwise in the order
    given (the order they were recorded)."""
    rows = []
    balance = opening_fen
    ordered = sorted(movements, key=lambda m: (m.on, m.kind != "invoice"))
    for movement in ordered:
        balance += movement.credit_fen - movement.debit_fen
        rows.append(LedgerRow(movement, balance))
    return rows
