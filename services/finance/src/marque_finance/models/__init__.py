"""Finance's tables (SQLModel), one module per area; importing this package registers them all.

Every business row carries store_id; the chart-of-accounts template carries none.
"""

from marque_finance.models.ledger import (
    Account,
    AccountTemplate,
    EntryCounter,
    JournalEntry,
    JournalLine,
    Period,
    PeriodEvent,
)

__all__ = [
    "Account",
    "AccountTemplate",
    "EntryCounter",
    "JournalEntry",
    "JournalLine",
    "Period",
    "PeriodEvent",
]
