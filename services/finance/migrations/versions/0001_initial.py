"""Finance's first schema: platform tables, chart of accounts, journal, receivables, payables,
floor-plan financing, bank reconciliation and expense claims; the group's chart template rows; and
the triggers that make posted entries append-only.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

from marque_finance.domain.accounts import TEMPLATE
from marque_kit.migrations import create_platform_tables, drop_platform_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

IMMUTABLE = ("journal_entries", "journal_lines", "period_events")


def upgrade() -> None:
    create_platform_tables(op)
    op.create_table(
        "account_template",
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("name_en", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("category", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("normal_side", sqlmodel.sql.sqltypes.AutoString(length=6), nullable=False),
        sa.Column("parent_code", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.PrimaryKeyConstraint("code"),
    )
    op.create_table(
        "accounts",
        sa.Column("store_id", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("name_en", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("category", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("normal_side", sqlmodel.sql.sqltypes.AutoString(length=6), nullable=False),
        sa.Column("parent_code", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("from_template", sa.Boolean(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("store_id", "code"),
    )
    op.create_table(
        "bank_statements",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("store_id", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("bank_account", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column("filename", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("file_sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("first_date", sa.Date(), nullable=False),
        sa.Column("last_date", sa.Date(), nullable=False),
        sa.Column("rows_in_file", sa.Integer(), nullable=False),
        sa.Column("lines_new", sa.Integer(), nullable=False),
        sa.Column("lines_already_imported", sa.Integer(), nullable=False),
        sa.Column("imported_by", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column(
            "imported_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("store_id", "file_sha256", name="bank_statements_file"),
    )
    op.create_index(
        "bank_statements_store_imported",
        "bank_statements",
        ["store_id", "imported_at"],
        unique=False,
    )
    op.create_table(
        "entry_counters",
        sa.Column("store_id", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("period", sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
        sa.Column("last_no", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("store_id", "period"),
    )
    op.create_table(
        "expense_claims",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("store_id", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("claimant", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("category", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("description", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("incurred_on", sa.Date(), nullable=False),
        sa.Column("receipt_number", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column(
            "pending_steps",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="[]",
            nullable=False,
        ),
        sa.Column("next_step", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column(
            "approvals",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="[]",
            nullable=False,
        ),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("approved_on", sa.Date(), nullable=True),
        sa.Column("rejection_reason", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("rejected_by", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("paid_on", sa.Date(), nullable=True),
        sa.Column("paid_by", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("payment_method", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("bank_reference", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("copied_from", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "expense_claims_claimant", "expense_claims", ["claimant", "created_at"], unique=False
    )
    op.create_index(
        "expense_claims_queue", "expense_claims", ["status", "next_step", "store_id"], unique=False
    )
    op.create_index(
        "expense_claims_store_created", "expense_claims", ["store_id", "created_at"], unique=False
    )
    op.create_table(
        "floorplan_accruals",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("store_id", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("month", sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("total_fen", sa.BigInteger(), nullable=False),
        sa.Column("loans", sa.Integer(), nullable=False),
        sa.Column("entry_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("entry_number", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("store_id", "month", "sequence", name="floorplan_accruals_store_month"),
    )
    op.create_index(
        "floorplan_accruals_created", "floorplan_accruals", ["created_at", "id"], unique=False
    )
    op.create_table(
        "floorplan_lenders",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("annual_rate_bp", sa.Integer(), nullable=False),
        sa.Column("day_count", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint("annual_rate_bp > 0", name="floorplan_lenders_rate"),
        sa.CheckConstraint("day_count IN (360, 365)", name="floorplan_lenders_basis"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_index(
        "floorplan_lenders_created", "floorplan_lenders", ["created_at", "id"], unique=False
    )
    op.create_table(
        "invoices",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("number", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("store_id", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("customer_id", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("customer_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("reference_type", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("reference", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("total_fen", sa.BigInteger(), nullable=False),
        sa.Column("net_fen", sa.BigInteger(), nullable=False),
        sa.Column("vat_fen", sa.BigInteger(), nullable=False),
        sa.Column("paid_fen", sa.BigInteger(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("entry_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint("paid_fen >= 0 AND paid_fen <= total_fen", name="invoices_paid_range"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("number"),
    )
    op.create_index("invoices_created", "invoices", ["created_at", "id"], unique=False)
    op.create_index(
        "invoices_store_customer", "invoices", ["store_id", "customer_id"], unique=False
    )
    op.create_index(
        "invoices_store_reference",
        "invoices",
        ["store_id", "reference_type", "reference"],
        unique=False,
    )
    op.create_table(
        "journal_entries",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("number", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("store_id", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("period", sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
        sa.Column("entry_date", sa.Date(), nullable=False),
        sa.Column("original_date", sa.Date(), nullable=False),
        sa.Column("description", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("source_type", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("source_id", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("source_event_id", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("rule", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column("reverses_entry_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("total_fen", sa.BigInteger(), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column(
            "posted_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("number"),
        sa.UniqueConstraint("reverses_entry_id"),
        sa.UniqueConstraint(
            "source_event_id", "store_id", "rule", name="journal_entries_source_key"
        ),
    )
    op.create_index(
        "journal_entries_source", "journal_entries", ["source_type", "source_id"], unique=False
    )
    op.create_index(
        "journal_entries_store_period", "journal_entries", ["store_id", "period"], unique=False
    )
    op.create_table(
        "payables",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("store_id", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("account", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("supplier", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("reference", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column("description", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("vin", sqlmodel.sql.sqltypes.AutoString(length=17), nullable=False),
        sa.Column("model_code", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("part_number", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("expense_account", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("net_fen", sa.BigInteger(), nullable=False),
        sa.Column("vat_fen", sa.BigInteger(), nullable=False),
        sa.Column("gross_fen", sa.BigInteger(), nullable=False),
        sa.Column("paid_fen", sa.BigInteger(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("source_event_id", sqlmodel.sql.sqltypes.AutoString(length=240), nullable=False),
        sa.Column("entry_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint("gross_fen = net_fen + vat_fen", name="payables_gross_is_net_plus_vat"),
        sa.CheckConstraint("paid_fen >= 0 AND paid_fen <= gross_fen", name="payables_paid_range"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("source_event_id", name="payables_source_event"),
    )
    op.create_index("payables_created", "payables", ["created_at", "id"], unique=False)
    op.create_index("payables_store_reference", "payables", ["store_id", "reference"], unique=False)
    op.create_index("payables_store_status", "payables", ["store_id", "status"], unique=False)
    op.create_index("payables_store_supplier", "payables", ["store_id", "supplier"], unique=False)
    op.create_table(
        "period_events",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("store_id", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("period", sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column(
            "at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_period_events_store_id"), "period_events", ["store_id"], unique=False)
    op.create_table(
        "periods",
        sa.Column("store_id", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("period", sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=6), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("store_id", "period"),
    )
    op.create_table(
        "receipts",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("number", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("store_id", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("customer_id", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("payer_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("reference_type", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("reference", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column("method", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("applied_fen", sa.BigInteger(), nullable=False),
        sa.Column("refunded_fen", sa.BigInteger(), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("bank_reference", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("request_id", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("entry_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "applied_fen >= 0 AND refunded_fen >= 0 AND applied_fen + refunded_fen <= amount_fen",
            name="receipts_within_amount",
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("number"),
        sa.UniqueConstraint("store_id", "request_id", name="receipts_store_request"),
    )
    op.create_index("receipts_created", "receipts", ["created_at", "id"], unique=False)
    op.create_index(
        "receipts_store_customer", "receipts", ["store_id", "customer_id"], unique=False
    )
    op.create_index(
        "receipts_store_reference",
        "receipts",
        ["store_id", "reference_type", "reference"],
        unique=False,
    )
    op.create_table(
        "receivable_counters",
        sa.Column("store_id", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("last_no", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("store_id", "kind", "year"),
    )
    op.create_table(
        "floorplan_loans",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("store_id", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("vin", sqlmodel.sql.sqltypes.AutoString(length=17), nullable=False),
        sa.Column("brand", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("model_code", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("lender_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("payable_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("principal_fen", sa.BigInteger(), nullable=False),
        sa.Column("annual_rate_bp", sa.Integer(), nullable=False),
        sa.Column("day_count", sa.Integer(), nullable=False),
        sa.Column("drawn_on", sa.Date(), nullable=False),
        sa.Column("paid_off_on", sa.Date(), nullable=True),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("accrued_through", sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
        sa.Column("interest_adjustment_fen", sa.BigInteger(), nullable=False),
        sa.Column("drawdown_entry_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("payoff_entry_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column(
            "payoff_bank_reference", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False
        ),
        sa.Column("paid_off_by", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint("principal_fen > 0", name="floorplan_loans_principal"),
        sa.ForeignKeyConstraint(
            ["lender_id"],
            ["floorplan_lenders.id"],
        ),
        sa.ForeignKeyConstraint(
            ["payable_id"],
            ["payables.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("payable_id", name="floorplan_loans_payable"),
    )
    op.create_index(
        "floorplan_loans_open_vin",
        "floorplan_loans",
        ["vin"],
        unique=True,
        postgresql_where=sa.text("status = 'open'"),
    )
    op.create_index(
        "floorplan_loans_store_drawn",
        "floorplan_loans",
        ["store_id", "drawn_on", "id"],
        unique=False,
    )
    op.create_index(
        "floorplan_loans_store_status", "floorplan_loans", ["store_id", "status"], unique=False
    )
    op.create_table(
        "floorplan_stores",
        sa.Column("store_id", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("lender_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("updated_by", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["lender_id"],
            ["floorplan_lenders.id"],
        ),
        sa.PrimaryKeyConstraint("store_id"),
    )
    op.create_table(
        "invoice_lines",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("invoice_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("description", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("business_line", sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
        sa.Column("model_code", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("vin", sqlmodel.sql.sqltypes.AutoString(length=17), nullable=False),
        sa.Column("gross_fen", sa.BigInteger(), nullable=False),
        sa.Column("net_fen", sa.BigInteger(), nullable=False),
        sa.Column("vat_fen", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["invoices.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("invoice_id", "line_no", name="invoice_lines_no"),
    )
    op.create_index(
        op.f("ix_invoice_lines_invoice_id"), "invoice_lines", ["invoice_id"], unique=False
    )
    op.create_table(
        "journal_lines",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("entry_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("store_id", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("period", sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
        sa.Column("entry_date", sa.Date(), nullable=False),
        sa.Column("account_code", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("debit_fen", sa.BigInteger(), nullable=False),
        sa.Column("credit_fen", sa.BigInteger(), nullable=False),
        sa.Column("business_line", sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
        sa.Column("model_code", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("vin", sqlmodel.sql.sqltypes.AutoString(length=17), nullable=False),
        sa.Column(
            "counterparty_store_id", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False
        ),
        sa.Column("party", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("memo", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["journal_entries.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_journal_lines_entry_id"), "journal_lines", ["entry_id"], unique=False)
    op.create_index(
        "journal_lines_account_period", "journal_lines", ["account_code", "period"], unique=False
    )
    op.create_index(
        "journal_lines_store_account_period",
        "journal_lines",
        ["store_id", "account_code", "period"],
        unique=False,
        postgresql_include=["debit_fen", "credit_fen"],
    )
    op.create_index(
        "journal_lines_store_period_account",
        "journal_lines",
        ["store_id", "period", "account_code"],
        unique=False,
    )
    op.create_table(
        "payable_payments",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("payable_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("store_id", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("supplier", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("paid_on", sa.Date(), nullable=False),
        sa.Column("method", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("bank_reference", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("lender_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("entry_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("amount_fen > 0", name="payable_payments_positive"),
        sa.ForeignKeyConstraint(
            ["payable_id"],
            ["payables.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_payable_payments_payable_id"), "payable_payments", ["payable_id"], unique=False
    )
    op.create_index(
        "payable_payments_created", "payable_payments", ["created_at", "id"], unique=False
    )
    op.create_index(
        "payable_payments_store_paid", "payable_payments", ["store_id", "paid_on"], unique=False
    )
    op.create_table(
        "receipt_applications",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("store_id", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("receipt_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("invoice_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("applied_on", sa.Date(), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("entry_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("amount_fen > 0", name="receipt_applications_positive"),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["invoices.id"],
        ),
        sa.ForeignKeyConstraint(
            ["receipt_id"],
            ["receipts.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("receipt_id", "invoice_id", name="receipt_applications_pair"),
    )
    op.create_index(
        op.f("ix_receipt_applications_invoice_id"),
        "receipt_applications",
        ["invoice_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_receipt_applications_receipt_id"),
        "receipt_applications",
        ["receipt_id"],
        unique=False,
    )
    op.create_table(
        "refunds",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("number", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("store_id", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("receipt_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("refunded_on", sa.Date(), nullable=False),
        sa.Column("bank_reference", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("entry_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("amount_fen > 0", name="refunds_positive"),
        sa.ForeignKeyConstraint(
            ["receipt_id"],
            ["receipts.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("number"),
    )
    op.create_index(op.f("ix_refunds_receipt_id"), "refunds", ["receipt_id"], unique=False)
    op.create_table(
        "bank_statement_lines",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("statement_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("store_id", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("bank_account", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column("row_no", sa.Integer(), nullable=False),
        sa.Column("value_date", sa.Date(), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("reference", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("counterparty", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("description", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("line_key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("journal_line_id", sa.BigInteger(), nullable=True),
        sa.Column("entry_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("explanation", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("explained_account", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("matched_by", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True),
        sa.Column("matched_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "rejected_journal_line_ids",
            postgresql.ARRAY(sa.BigInteger()),
            server_default=sa.text("'{}'"),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["journal_line_id"],
            ["journal_lines.id"],
        ),
        sa.ForeignKeyConstraint(
            ["statement_id"],
            ["bank_statements.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("journal_line_id"),
        sa.UniqueConstraint(
            "store_id", "bank_account", "line_key", name="bank_statement_lines_key"
        ),
    )
    op.create_index(
        "bank_statement_lines_store_status",
        "bank_statement_lines",
        ["store_id", "status", "value_date"],
        unique=False,
    )
    op.create_index(
        op.f("ix_bank_statement_lines_statement_id"),
        "bank_statement_lines",
        ["statement_id"],
        unique=False,
    )
    op.create_table(
        "floorplan_accrual_lines",
        sa.Column("accrual_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("loan_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("store_id", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("month", sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
        sa.Column("vin", sqlmodel.sql.sqltypes.AutoString(length=17), nullable=False),
        sa.Column("days", sa.Integer(), nullable=False),
        sa.Column("interest_fen", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["accrual_id"],
            ["floorplan_accruals.id"],
        ),
        sa.ForeignKeyConstraint(
            ["loan_id"],
            ["floorplan_loans.id"],
        ),
        sa.PrimaryKeyConstraint("accrual_id", "loan_id"),
        sa.UniqueConstraint("loan_id", "month", name="floorplan_accrual_lines_loan_month"),
    )
    seed_template()
    make_immutable()


def seed_template() -> None:
    template = sa.table(
        "account_template",
        sa.column("code"),
        sa.column("name"),
        sa.column("name_en"),
        sa.column("category"),
        sa.column("normal_side"),
        sa.column("parent_code"),
    )
    op.bulk_insert(
        template,
        [
            {
                "code": a.code,
                "name": a.name,
                "name_en": a.name_en,
                "category": a.category.value,
                "normal_side": a.normal_side.value,
                "parent_code": a.parent_code,
            }
            for a in TEMPLATE
        ],
    )


def make_immutable() -> None:
    """Posted entries never change: UPDATE, DELETE and TRUNCATE are refused by the database."""
    op.execute(
        """
        CREATE OR REPLACE FUNCTION finance_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          RAISE EXCEPTION '% is append-only: a posted entry never changes; post a reversal',
            TG_TABLE_NAME USING ERRCODE = 'restrict_violation';
        END $$;
        """
    )
    for table in IMMUTABLE:
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION finance_refuse_change()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION finance_refuse_change()"
        )


def downgrade() -> None:
    for table in IMMUTABLE:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
    op.execute("DROP FUNCTION IF EXISTS finance_refuse_change() CASCADE")
    op.drop_table("floorplan_accrual_lines")
    op.drop_index(op.f("ix_bank_statement_lines_statement_id"), table_name="bank_statement_lines")
    op.drop_index("bank_statement_lines_store_status", table_name="bank_statement_lines")
    op.drop_table("bank_statement_lines")
    op.drop_index(op.f("ix_refunds_receipt_id"), table_name="refunds")
    op.drop_table("refunds")
    op.drop_index(op.f("ix_receipt_applications_receipt_id"), table_name="receipt_applications")
    op.drop_index(op.f("ix_receipt_applications_invoice_id"), table_name="receipt_applications")
    op.drop_table("receipt_applications")
    op.drop_index("payable_payments_store_paid", table_name="payable_payments")
    op.drop_index("payable_payments_created", table_name="payable_payments")
    op.drop_index(op.f("ix_payable_payments_payable_id"), table_name="payable_payments")
    op.drop_table("payable_payments")
    op.drop_index("journal_lines_store_period_account", table_name="journal_lines")
    op.drop_index(
        "journal_lines_store_account_period",
        table_name="journal_lines",
        postgresql_include=["debit_fen", "credit_fen"],
    )
    op.drop_index("journal_lines_account_period", table_name="journal_lines")
    op.drop_index(op.f("ix_journal_lines_entry_id"), table_name="journal_lines")
    op.drop_table("journal_lines")
    op.drop_index(op.f("ix_invoice_lines_invoice_id"), table_name="invoice_lines")
    op.drop_table("invoice_lines")
    op.drop_table("floorplan_stores")
    op.drop_index("floorplan_loans_store_status", table_name="floorplan_loans")
    op.drop_index("floorplan_loans_store_drawn", table_name="floorplan_loans")
    op.drop_index(
        "floorplan_loans_open_vin",
        table_name="floorplan_loans",
        postgresql_where=sa.text("status = 'open'"),
    )
    op.drop_table("floorplan_loans")
    op.drop_table("receivable_counters")
    op.drop_index("receipts_store_reference", table_name="receipts")
    op.drop_index("receipts_store_customer", table_name="receipts")
    op.drop_index("receipts_created", table_name="receipts")
    op.drop_table("receipts")
    op.drop_table("periods")
    op.drop_index(op.f("ix_period_events_store_id"), table_name="period_events")
    op.drop_table("period_events")
    op.drop_index("payables_store_supplier", table_name="payables")
    op.drop_index("payables_store_status", table_name="payables")
    op.drop_index("payables_store_reference", table_name="payables")
    op.drop_index("payables_created", table_name="payables")
    op.drop_table("payables")
    op.drop_index("journal_entries_store_period", table_name="journal_entries")
    op.drop_index("journal_entries_source", table_name="journal_entries")
    op.drop_table("journal_entries")
    op.drop_index("invoices_store_reference", table_name="invoices")
    op.drop_index("invoices_store_customer", table_name="invoices")
    op.drop_index("invoices_created", table_name="invoices")
    op.drop_table("invoices")
    op.drop_index("floorplan_lenders_created", table_name="floorplan_lenders")
    op.drop_table("floorplan_lenders")
    op.drop_index("floorplan_accruals_created", table_name="floorplan_accruals")
    op.drop_table("floorplan_accruals")
    op.drop_index("expense_claims_store_created", table_name="expense_claims")
    op.drop_index("expense_claims_queue", table_name="expense_claims")
    op.drop_index("expense_claims_claimant", table_name="expense_claims")
    op.drop_table("expense_claims")
    op.drop_table("entry_counters")
    op.drop_index("bank_statements_store_imported", table_name="bank_statements")
    op.drop_table("bank_statements")
    op.drop_table("accounts")
    op.drop_table("account_template")
    drop_platform_tables(op)
