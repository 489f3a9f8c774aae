"""Receivables: customer invoices and their lines, receipts (收款), applications, refunds.

Amounts are fen (BIGINT). Every row carries store_id. A receipt's `applied_fen` and
`refunded_fen` are running sums of its applications and refunds, kept in the same transaction.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, CheckConstraint, Column, Identity, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from marque_finance.models.common import created, fen


class ReceivableCounter(SQLModel, table=True):
    """Gap-free document numbers per store, kind and year: INV-SH01-2026-000001."""

    __tablename__ = "receivable_counters"
    store_id: str = Field(primary_key=True, max_length=20)
    # INV (invoice), RCT (receipt), RFD (refund), CN (credit note)
    kind: str = Field(primary_key=True, max_length=3)
    year: int = Field(primary_key=True)
    last_no: int = 0


class Invoice(SQLModel, table=True):
    __tablename__ = "invoices"
    __table_args__ = (
        Index("invoices_store_reference", "store_id", "reference_type", "reference"),
        Index("invoices_store_customer", "store_id", "customer_id"),
        Index("invoices_created", "created_at", "id"),
        CheckConstraint("paid_fen >= 0 AND paid_fen <= total_fen", name="invoices_paid_range"),
        CheckConstraint(
            "credited_fen >= 0 AND paid_fen + credited_fen <= total_fen",
            name="invoices_credited_range",
        ),
    )
    id: str = Field(primary_key=True, max_length=40)
    number: str = Field(max_length=40, unique=True)
    store_id: str = Field(max_length=20)
    customer_id: str = Field(max_length=80)
    customer_name: str = Field(default="", max_length=200)
    reference_type: str = Field(max_length=20)
    reference: str = Field(max_length=60)
    issued_on: date
    due_on: date
    # VAT included; net + vat == total.
    total_fen: int = fen()
    net_fen: int = fen()
    vat_fen: int = fen()
    paid_fen: int = fen()
    # Sum of its credit notes (红字发票); what is still owed is total - paid - credited.
    credited_fen: int = fen()
    # open, partially_paid, paid, credited
    status: str = Field(default="open", max_length=16)
    entry_id: str = Field(default="", max_length=40)
    created_by: str = ""
    created_at: datetime | None = created()
    version: int = 1


class InvoiceLine(SQLModel, table=True):
    __tablename__ = "invoice_lines"
    __table_args__ = (UniqueConstraint("invoice_id", "line_no", name="invoice_lines_no"),)
    id: int | None = Field(default=None, sa_column=Column(BigInteger, Identity(), primary_key=True))
    invoice_id: str = Field(foreign_key="invoices.id", max_length=40, index=True)
    line_no: int
    description: str = Field(max_length=200)
    business_line: str = Field(max_length=24)
    model_code: str = Field(default="", max_length=40)
    vin: str = Field(default="", max_length=17)
    gross_fen: int = fen()
    net_fen: int = fen()
    vat_fen: int = fen()


class Receipt(SQLModel, table=True):
    __tablename__ = "receipts"
    __table_args__ = (
        # RecordReceipt (gRPC) and POST /receipts take a caller's request id: once per store.
        UniqueConstraint("store_id", "request_id", name="receipts_store_request"),
        Index("receipts_store_reference", "store_id", "reference_type", "reference"),
        Index("receipts_store_customer", "store_id", "customer_id"),
        Index("receipts_created", "created_at", "id"),
        CheckConstraint(
            "applied_fen >= 0 AND refunded_fen >= 0 AND applied_fen + refunded_fen <= amount_fen",
            name="receipts_within_amount",
        ),
    )
    id: str = Field(primary_key=True, max_length=40)
    number: str = Field(max_length=40, unique=True)
    store_id: str = Field(max_length=20)
    customer_id: str = Field(max_length=80)
    payer_name: str = Field(default="", max_length=200)
    # sales_order, repair_order, deposit
    reference_type: str = Field(max_length=20)
    # The order number; may be empty for a deposit on account.
    reference: str = Field(default="", max_length=60)
    # cash, bank_transfer, pos_card, wechat_pay, alipay, loan_disbursement
    method: str = Field(max_length=20)
    amount_fen: int = fen()
    applied_fen: int = fen()
    refunded_fen: int = fen()
    received_on: date
    bank_reference: str = Field(default="", max_length=100)
    request_id: str | None = Field(default=None, max_length=200)
    entry_id: str = Field(default="", max_length=40)
    created_by: str = ""
    created_at: datetime | None = created()
    version: int = 1


class ReceiptApplication(SQLModel, table=True):
    """Part of a receipt paying an invoice: at the receipt (source "receipt") or when the invoice
    was issued and took money already waiting in advances (source "invoice")."""

    __tablename__ = "receipt_applications"
    __table_args__ = (
        UniqueConstraint("receipt_id", "invoice_id", name="receipt_applications_pair"),
        CheckConstraint("amount_fen > 0", name="receipt_applications_positive"),
    )
    id: int | None = Field(default=None, sa_column=Column(BigInteger, Identity(), primary_key=True))
    store_id: str = Field(max_length=20)
    receipt_id: str = Field(foreign_key="receipts.id", max_length=40, index=True)
    invoice_id: str = Field(foreign_key="invoices.id", max_length=40, index=True)
    amount_fen: int = fen()
    applied_on: date
    source: str = Field(max_length=10)
    entry_id: str = Field(default="", max_length=40)
    created_at: datetime | None = created()


class Refund(SQLModel, table=True):
    __tablename__ = "refunds"
    __table_args__ = (CheckConstraint("amount_fen > 0", name="refunds_positive"),)
    id: str = Field(primary_key=True, max_length=40)
    number: str = Field(max_length=40, unique=True)
    store_id: str = Field(max_length=20)
    receipt_id: str = Field(foreign_key="receipts.id", max_length=40, index=True)
    amount_fen: int = fen()
    reason: str = Field(max_length=500)
    refunded_on: date
    bank_reference: str = Field(default="", max_length=100)
    entry_id: str = Field(default="", max_length=40)
    created_by: str = ""
    created_at: datetime | None = created()


class CreditNote(SQLModel, table=True):
    """A credit note (红字发票) against one invoice. `released_fen` is the part the customer had
    already paid: it went back from the paying receipts into advances (2203)."""

    __tablename__ = "credit_notes"
    __table_args__ = (
        # POST /invoices/{id}/credit-notes takes a caller's request id: once per store.
        UniqueConstraint("store_id", "request_id", name="credit_notes_store_request"),
        Index("credit_notes_store_customer", "store_id", "customer_id"),
        CheckConstraint(
            "total_fen > 0 AND released_fen >= 0 AND released_fen <= total_fen",
            name="credit_notes_amounts",
        ),
    )
    id: str = Field(primary_key=True, max_length=40)
    number: str = Field(max_length=40, unique=True)
    store_id: str = Field(max_length=20)
    invoice_id: str = Field(foreign_key="invoices.id", max_length=40, index=True)
    customer_id: str = Field(max_length=80)
    # price_adjustment, sale_cancelled, goods_returned, wrong_details
    reason: str = Field(max_length=24)
    note: str = Field(default="", max_length=500)
    credited_on: date
    # VAT included; net + vat == total. Positive: the amount taken off the invoice.
    total_fen: int = fen()
    net_fen: int = fen()
    vat_fen: int = fen()
    released_fen: int = fen()
    request_id: str | None = Field(default=None, max_length=200)
    entry_id: str = Field(default="", max_length=40)
    created_by: str = ""
    created_at: datetime | None = created()


class CreditNoteLine(SQLModel, table=True):
    __tablename__ = "credit_note_lines"
    __table_args__ = (
        UniqueConstraint("credit_note_id", "invoice_line_no", name="credit_note_lines_no"),
        CheckConstraint(
            "gross_fen > 0 AND net_fen >= 0 AND vat_fen >= 0", name="credit_note_lines_amounts"
        ),
    )
    id: int | None = Field(default=None, sa_column=Column(BigInteger, Identity(), primary_key=True))
    credit_note_id: str = Field(foreign_key="credit_notes.id", max_length=40, index=True)
    # The original invoice line it takes back (its line_no).
    invoice_line_no: int
    description: str = Field(max_length=200)
    business_line: str = Field(max_length=24)
    model_code: str = Field(default="", max_length=40)
    vin: str = Field(default="", max_length=17)
    gross_fen: int = fen()
    net_fen: int = fen()
    vat_fen: int = fen()


class CreditNoteRelease(SQLModel, table=True):
    """Money a credit note gave back from a receipt that had paid the invoice: the receipt's
    `applied_fen` went down by `amount_fen`, so it is unapplied (and refundable) again."""

    __tablename__ = "credit_note_releases"
    __table_args__ = (
        UniqueConstraint("credit_note_id", "receipt_id", name="credit_note_releases_pair"),
        CheckConstraint("amount_fen > 0", name="credit_note_releases_positive"),
    )
    id: int | None = Field(default=None, sa_column=Column(BigInteger, Identity(), primary_key=True))
    store_id: str = Field(max_length=20)
    credit_note_id: str = Field(foreign_key="credit_notes.id", max_length=40, index=True)
    receipt_id: str = Field(foreign_key="receipts.id", max_length=40, index=True)
    invoice_id: str = Field(max_length=40)
    amount_fen: int = fen()
    released_on: date
