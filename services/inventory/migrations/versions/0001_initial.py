"""Inventory's first schema: platform tables, catalog, vehicles, parts, transfers.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

from marque_kit.migrations import create_platform_tables, drop_platform_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_platform_tables(op)
    op.create_table(
        "brands",
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("country", sqlmodel.sql.sqltypes.AutoString(length=2), nullable=False),
        sa.Column("wmi", sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
        sa.PrimaryKeyConstraint("code"),
    )
    op.create_table(
        "colours",
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("hex", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.PrimaryKeyConstraint("code"),
    )
    op.create_table(
        "options",
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("price_fen", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("code"),
    )
    op.create_table(
        "parts",
        sa.Column("part_number", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("unit_price_fen", sa.BigInteger(), nullable=False),
        sa.Column("unit_cost_fen", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("part_number"),
    )
    op.create_table(
        "stock_movements",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("store_id", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("part_number", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("on_hand_delta", sa.Integer(), nullable=False),
        sa.Column("reserved_delta", sa.Integer(), nullable=False),
        sa.Column("reference", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("on_hand_after", sa.Integer(), nullable=False),
        sa.Column("reserved_after", sa.Integer(), nullable=False),
        sa.Column("unit_cost_fen", sa.BigInteger(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "stock_movements_part", "stock_movements", ["store_id", "part_number", "id"], unique=False
    )
    op.create_table(
        "stores",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("city", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("timezone", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "vehicle_requests",
        sa.Column("request_id", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("method", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("vin", sqlmodel.sql.sqltypes.AutoString(length=17), nullable=False),
        sa.Column("order_ref", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("request_id"),
    )
    op.create_table(
        "part_stocks",
        sa.Column("store_id", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("part_number", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("on_hand", sa.Integer(), nullable=False),
        sa.Column("reserved", sa.Integer(), nullable=False),
        sa.Column("bin", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("reorder_point", sa.Integer(), nullable=False),
        sa.Column("average_unit_cost_fen", sa.BigInteger(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["part_number"],
            ["parts.part_number"],
        ),
        sa.ForeignKeyConstraint(
            ["store_id"],
            ["stores.id"],
        ),
        sa.PrimaryKeyConstraint("store_id", "part_number"),
    )
    op.create_table(
        "transfers",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("from_store_id", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("to_store_id", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("vin", sqlmodel.sql.sqltypes.AutoString(length=17), nullable=True),
        sa.Column(
            "lines", postgresql.JSONB(astext_type=sa.Text()), server_default="[]", nullable=False
        ),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("requested_by", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("approved_by", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("valuation", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("received_on", sa.Date(), nullable=True),
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
        sa.ForeignKeyConstraint(
            ["from_store_id"],
            ["stores.id"],
        ),
        sa.ForeignKeyConstraint(
            ["to_store_id"],
            ["stores.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("transfers_from", "transfers", ["from_store_id", "status"], unique=False)
    op.create_index("transfers_to", "transfers", ["to_store_id", "status"], unique=False)
    op.create_table(
        "vehicle_models",
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("brand_code", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("body", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.ForeignKeyConstraint(
            ["brand_code"],
            ["brands.code"],
        ),
        sa.PrimaryKeyConstraint("code"),
    )
    op.create_index(
        op.f("ix_vehicle_models_brand_code"), "vehicle_models", ["brand_code"], unique=False
    )
    op.create_table(
        "safety_stock_rules",
        sa.Column("store_id", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("model_code", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("minimum", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["model_code"],
            ["vehicle_models.code"],
        ),
        sa.ForeignKeyConstraint(
            ["store_id"],
            ["stores.id"],
        ),
        sa.PrimaryKeyConstraint("store_id", "model_code"),
    )
    op.create_table(
        "trims",
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("model_code", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("energy_type", sqlmodel.sql.sqltypes.AutoString(length=4), nullable=False),
        sa.Column("msrp_fen", sa.BigInteger(), nullable=False),
        sa.Column("dealer_cost_fen", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["model_code"],
            ["vehicle_models.code"],
        ),
        sa.PrimaryKeyConstraint("code"),
    )
    op.create_index(op.f("ix_trims_model_code"), "trims", ["model_code"], unique=False)
    op.create_table(
        "vehicles",
        sa.Column("vin", sqlmodel.sql.sqltypes.AutoString(length=17), nullable=False),
        sa.Column("store_id", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("model_code", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("trim_code", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("colour_code", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("model_year", sa.Integer(), nullable=False),
        sa.Column("cost_fen", sa.BigInteger(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("arrived_on", sa.Date(), nullable=True),
        sa.Column("order_ref", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("reservation_request_id", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("reserved_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("transfer_id", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column(
            "option_codes",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="[]",
            nullable=False,
        ),
        sa.Column("age_alerted_days", sa.Integer(), nullable=False),
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
        sa.ForeignKeyConstraint(
            ["colour_code"],
            ["colours.code"],
        ),
        sa.ForeignKeyConstraint(
            ["model_code"],
            ["vehicle_models.code"],
        ),
        sa.ForeignKeyConstraint(
            ["store_id"],
            ["stores.id"],
        ),
        sa.ForeignKeyConstraint(
            ["trim_code"],
            ["trims.code"],
        ),
        sa.PrimaryKeyConstraint("vin"),
    )
    op.create_index(
        "vehicles_reserved_until",
        "vehicles",
        ["reserved_until"],
        unique=False,
        postgresql_where="status = 'reserved'",
    )
    op.create_index(
        "vehicles_search", "vehicles", ["trim_code", "colour_code", "status"], unique=False
    )
    op.create_index("vehicles_store_status", "vehicles", ["store_id", "status"], unique=False)
    # The stock ledger is append-only: no change or deletion of a movement, ever.
    op.execute(
        """
        CREATE OR REPLACE FUNCTION stock_movements_append_only() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'stock_movements is append-only'; END $$
        """
    )
    op.execute(
        "CREATE TRIGGER stock_movements_append_only BEFORE UPDATE OR DELETE ON stock_movements "
        "FOR EACH ROW EXECUTE FUNCTION stock_movements_append_only()"
    )
    op.create_check_constraint(
        "part_stocks_never_negative",
        "part_stocks",
        "on_hand >= 0 AND reserved >= 0 AND reserved <= on_hand",
    )
    op.create_check_constraint(
        "vehicles_status_known",
        "vehicles",
        "status IN ('on_order','in_stock','reserved','sold','delivered','in_transfer','demo')",
    )


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS stock_movements_append_only() CASCADE")
    op.drop_index("vehicles_store_status", table_name="vehicles")
    op.drop_index("vehicles_search", table_name="vehicles")
    op.drop_index(
        "vehicles_reserved_until", table_name="vehicles", postgresql_where="status = 'reserved'"
    )
    op.drop_table("vehicles")
    op.drop_index(op.f("ix_trims_model_code"), table_name="trims")
    op.drop_table("trims")
    op.drop_table("safety_stock_rules")
    op.drop_index(op.f("ix_vehicle_models_brand_code"), table_name="vehicle_models")
    op.drop_table("vehicle_models")
    op.drop_index("transfers_to", table_name="transfers")
    op.drop_index("transfers_from", table_name="transfers")
    op.drop_table("transfers")
    op.drop_table("part_stocks")
    op.drop_table("vehicle_requests")
    op.drop_table("stores")
    op.drop_index("stock_movements_part", table_name="stock_movements")
    op.drop_table("stock_movements")
    op.drop_table("parts")
    op.drop_table("options")
    op.drop_table("colours")
    op.drop_table("brands")
    drop_platform_tables(op)
