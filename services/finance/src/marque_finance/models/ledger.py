"""The books: chart of accounts, periods, journal entries and lines (immutable once posted)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Column, Identity, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from marque_finance.models.common import created, fen, ts


class AccountTemplate(SQLModel, table=True):
    """The group template (no store_id); copied into `accounts` when a store's books open."""

    __tablename__ = "account_template"
    code: str = Field(primary_key=True, max_length=10)
    name: str
    name_en: str
    category: str = Field(max_length=10)
    normal_side: str = Field(max_length=6)
    parent_code: str = Field(default="", max_length=10)


class Account(SQLModel, table=True):
    __tablename__ = "accounts"
    store_id: str = Field(primary_key=True, max_length=20)
    code: str = Field(primary_key=True, max_length=10)
    name: str
    name_en: str
    category: str = Field(max_length=10)
    normal_side: str = Field(max_length=6)
    parent_code: str = Field(default="", max_length=10)
    # False for a store's own extension of the template.
    from_template: bool = True
    created_at: datetime | None = created()


class Period(SQLModel, table=True):
    """A store's month ("2026-11"): open until closed; only HQ reopens."""

    __tablename__ = "periods"
    store_id: str = Field(primary_key=True, max_length=20)
    period: str = Field(primary_key=True, max_length=7)
    status: str = Field(default="open", max_length=6)
    closed_at: datetime | None = ts()
    closed_by: str | None = None
    version: int = 1


class PeriodEvent(SQLModel, table=True):
    """The audit trail of closes and reopens."""

    __tablename__ = "period_events"
    id: int | None = Field(default=None, sa_column=Column(BigInteger, Identity(), primary_key=True))
    store_id: str = Field(max_length=20, index=True)
    period: str = Field(max_length=7)
    action: str = Field(max_length=10)
    actor: str
    reason: str = ""
    at: datetime | None = created()


class EntryCounter(SQLModel, table=True):
    """Gap-free entry numbers per store and period: JE-SH01-202611-000123."""

    __tablename__ = "entry_counters"
    store_id: str = Field(primary_key=True, max_length=20)
    period: str = Field(primary_key=True, max_length=7)
    last_no: int = 0


class JournalEntry(SQLModel, table=True):
    __tablename__ = "journal_entries"
    __table_args__ = (
        # Posting the same event (or document action) twice is impossible.
        UniqueConstraint("source_event_id", "store_id", "rule", name="journal_entries_source_key"),
        Index("journal_entries_store_period", "store_id", "period"),
        Index("journal_entries_source", "source_type", "source_id"),
    )
    id: str = Field(primary_key=True, max_length=40)
    number: str = Field(max_length=40, unique=True)
    store_id: str = Field(max_length=20)
    period: str = Field(max_length=7)
    entry_date: date
    # The date the business event happened, when the entry landed in a later open period.
    original_date: date
    description: str
    # What caused it: an event type ("marque.inventory.v1.VehicleArrived") or a document kind
    # ("receipt", "invoice", "expense_claim", "manual"); source_id names the document.
    source_type: str = Field(max_length=80)
    source_id: str = Field(max_length=120)
    source_event_id: str = Field(max_length=120)
    rule: str = Field(max_length=60)
    reverses_entry_id: str | None = Field(default=None, max_length=40, unique=True)
    note: str = ""
    total_fen: int = fen()
    created_by: str = "system"
    posted_at: datetime | None = created()


class JournalLine(SQLModel, table=True):
    __tablename__ = "journal_lines"
    __table_args__ = (
        Index("journal_lines_store_period_account", "store_id", "period", "account_code"),
        Index("journal_lines_account_period", "account_code", "period"),
        # Reports sum one store's accounts over a range of months straight from the index.
        Index(
            "journal_lines_store_account_period",
            "store_id",
            "account_code",
            "period",
            postgresql_include=["debit_fen", "credit_fen"],
        ),
    )
    id: int | None = Field(default=None, sa_column=Column(BigInteger, Identity(), primary_key=True))
    entry_id: str = Field(foreign_key="journal_entries.id", max_length=40, index=True)
    line_no: int
    store_id: str = Field(max_length=20)
    period: str = Field(max_length=7)
    entry_date: date
    account_code: str = Field(max_length=10)
    debit_fen: int = fen()
    credit_fen: int = fen()
    business_line: str = Field(default="", max_length=24)
    model_code: str = Field(default="", max_length=40)
    vin: str = Field(default="", max_length=17)
    counterparty_store_id: str = Field(default="", max_length=20)
    party: str = Field(default="", max_length=80)
    memo: str = ""
