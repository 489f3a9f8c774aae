"""Finance's tables (SQLModel), one module per area; importing this package registers them all.

Every business row carries store_id; the chart-of-accounts template carries none.
"""

from marque_finance.models.bank import BankStatement, BankStatementLine
from marque_finance.models.expenses import ExpenseClaimRow
from marque_finance.models.ledger import (
    Account,
    AccountTemplate,
    EntryCounter,
    JournalEntry,
    JournalLine,
    Period,
    PeriodEvent,
)
from marque_finance.models.payables import (
    FloorplanAccrual,
    FloorplanAccrualLine,
    FloorplanLoan,
    Lender,
    Payable,
    PayablePayment,
    StoreFloorplan,
)
from marque_finance.models.receivables import (
    CreditNote,
    CreditNoteLine,
    CreditNoteRelease,
    Invoice,
    InvoiceLine,
    Receipt,
    ReceiptApplication,
    ReceivableCounter,
    Refund,
)

__all__ = [
    "Account",
    "AccountTemplate",
    "BankStatement",
    "BankStatementLine",
    "CreditNote",
    "CreditNoteLine",
    "CreditNoteRelease",
    "EntryCounter",
    "ExpenseClaimRow",
    "FloorplanAccrual",
    "FloorplanAccrualLine",
    "FloorplanLoan",
    "Invoice",
    "InvoiceLine",
    "JournalEntry",
    "JournalLine",
    "Lender",
    "Payable",
    "PayablePayment",
    "Period",
    "PeriodEvent",
    "Receipt",
    "ReceiptApplication",
    "ReceivableCounter",
    "Refund",
    "StoreFloorplan",
]
