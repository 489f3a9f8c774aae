"""Credit notes (红字发票): the credit notes, their lines, the money they released from receipts
back into advances, and invoices.credited_fen (what credit notes took off each invoice).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "invoices",
        sa.Column("credited_fen", sa.BigInteger(), nullable=False, server_default="0"),
    )
    op.alter_column("invoices", "credited_fen", server_default=None)
    op.create_check_constraint(
        "invoices_credited_range",
        "invoices",
        "credited_fen >= 0 AND paid_fen + credited_fen <= total_fen",
    )
    op.create_table(
        "credit_notes",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("number", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("store_id", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("invoice_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("customer_id", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("credited_on", sa.Date(), nullable=False),
        sa.Column("total_fen", sa.BigInteger(), nullable=False),
        sa.Column("net_fen", sa.BigInteger(), nullable=False),
        sa.Column("vat_fen", sa.BigInteger(), nullable=False),
        sa.Column("released_fen", sa.BigInteger(), nullable=False),
        sa.Column("request_id", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("entry_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "total_fen > 0 AND released_fen >= 0 AND released_fen <= total_fen",
            name="credit_notes_amounts",
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["invoices.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("number"),
        sa.UniqueConstraint("store_id", "request_id", name="credit_notes_store_request"),
    )
    op.create_index(
        op.f("ix_credit_notes_invoice_id"), "credit_notes", ["invoice_id"], unique=False
    )
    op.create_index(
        "credit_notes_store_customer", "credit_notes", ["store_id", "customer_id"], unique=False
    )
    op.create_table(
        "credit_note_lines",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("credit_note_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("invoice_line_no", sa.Integer(), nullable=False),
        sa.Column("description", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("business_line", sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
        sa.Column("model_code", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("vin", sqlmodel.sql.sqltypes.AutoString(length=17), nullable=False),
        sa.Column("gross_fen", sa.BigInteger(), nullable=False),
        sa.Column("net_fen", sa.BigInteger(), nullable=False),
        sa.Column("vat_fen", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "gross_fen > 0 AND net_fen >= 0 AND vat_fen >= 0", name="credit_note_lines_amounts"
        ),
        sa.ForeignKeyConstraint(
            ["credit_note_id"],
            ["credit_notes.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("credit_note_id", "invoice_line_no", name="credit_note_lines_no"),
    )
    op.create_index(
        op.f("ix_credit_note_lines_credit_note_id"),
        "credit_note_lines",
        ["credit_note_id"],
        unique=False,
    )
    op.create_table(
        "credit_note_releases",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("store_id", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("credit_note_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("receipt_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("invoice_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("released_on", sa.Date(), nullable=False),
        sa.CheckConstraint("amount_fen > 0", name="credit_note_releases_positive"),
        sa.ForeignKeyConstraint(
            ["credit_note_id"],
            ["credit_notes.id"],
        ),
        sa.ForeignKeyConstraint(
            ["receipt_id"],
            ["receipts.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("credit_note_id", "receipt_id", name="credit_note_releases_pair"),
    )
    op.create_index(
        op.f("ix_credit_note_releases_credit_note_id"),
        "credit_note_releases",
        ["credit_note_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_credit_note_releases_receipt_id"),
        "credit_note_releases",
        ["receipt_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_credit_note_releases_receipt_id"), table_name="credit_note_releases")
    op.drop_index(op.f("ix_credit_note_releases_credit_note_id"), table_name="credit_note_releases")
    op.drop_table("credit_note_releases")
    op.drop_index(op.f("ix_credit_note_lines_credit_note_id"), table_name="credit_note_lines")
    op.drop_table("credit_note_lines")
    op.drop_index("credit_notes_store_customer", table_name="credit_notes")
    op.drop_index(op.f("ix_credit_notes_invoice_id"), table_name="credit_notes")
    op.drop_table("credit_notes")
    op.drop_constraint("invoices_credited_range", "invoices", type_="check")
    op.drop_column("invoices", "credited_fen")
