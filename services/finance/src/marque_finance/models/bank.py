"""Bank reconciliation: imported statements and their lines, each matched to at most one line of
the bank book (journal lines on 1002), one-to-one."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKey,
    Identity,
    Index,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import Field, SQLModel

from marque_finance.models.common import created, fen, ts


class BankStatement(SQLModel, table=True):
    """One uploaded statement file; the same bytes again (per store) are the same statement."""

    __tablename__ = "bank_statements"
    __table_args__ = (
        UniqueConstraint("store_id", "file_sha256", name="bank_statements_file"),
        Index("bank_statements_store_imported", "store_id", "imported_at"),
    )
    id: str = Field(primary_key=True, max_length=40)
    store_id: str = Field(max_length=20)
    bank_account: str = Field(default="", max_length=60)
    filename: str = Field(default="", max_length=200)
    file_sha256: str = Field(max_length=64)
    first_date: date
    last_date: date
    # Lines in the file; the ones new to this store; the ones an earlier statement already had.
    rows_in_file: int
    lines_new: int
    lines_already_imported: int
    imported_by: str
    imported_at: datetime | None = created()


class BankStatementLine(SQLModel, table=True):
    """A statement line and what it was reconciled with.

    status: unmatched | exact | fuzzy | manual (a bank-book line) | explained (an entry posted for
    it, whose 1002 line is its journal_line_id).
    """

    __tablename__ = "bank_statement_lines"
    __table_args__ = (
        # Overlapping statements add each line once.
        UniqueConstraint("store_id", "bank_account", "line_key", name="bank_statement_lines_key"),
        Index("bank_statement_lines_store_status", "store_id", "status", "value_date"),
    )
    id: int | None = Field(default=None, sa_column=Column(BigInteger, Identity(), primary_key=True))
    statement_id: str = Field(foreign_key="bank_statements.id", max_length=40, index=True)
    store_id: str = Field(max_length=20)
    bank_account: str = Field(default="", max_length=60)
    row_no: int
    value_date: date
    amount_fen: int = fen()
    reference: str = Field(default="", max_length=120)
    counterparty: str = Field(default="", max_length=200)
    description: str = Field(default="", max_length=500)
    line_key: str = Field(max_length=64)
    status: str = Field(default="unmatched", max_length=10)
    # One bank-book line matches at most one statement line.
    journal_line_id: int | None = Field(
        default=None,
        sa_column=Column(
            BigInteger, ForeignKey("journal_lines.id"), unique=True, nullable=True, index=False
        ),
    )
    entry_id: str | None = Field(default=None, max_length=40)
    explanation: str = Field(default="", max_length=500)
    explained_account: str = Field(default="", max_length=10)
    matched_by: str | None = Field(default=None, max_length=120)
    matched_at: datetime | None = ts()
    # Bank-book lines a person unmatched from this line: auto-match never proposes them again.
    rejected_journal_line_ids: list[int] = Field(
        default_factory=list,
        sa_column=Column(ARRAY(BigInteger), nullable=False, server_default=text("'{}'")),
    )
    version: int = 1
    created_at: datetime | None = created()
