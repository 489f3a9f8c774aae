"""Finance's first schema: platform tables, chart of accounts, journal, and the business documents.

INTERIM (during development): the tables are created from the SQLModel metadata; this file is
regenerated with `alembic revision --autogenerate` before the issue closes.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

from marque_finance.domain.accounts import TEMPLATE
from marque_kit.migrations import create_platform_tables, drop_platform_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

IMMUTABLE = ("journal_entries", "journal_lines", "period_events")


def upgrade() -> None:
    from sqlmodel import SQLModel

    import marque_finance.models  # noqa: F401

    create_platform_tables(op)
    SQLModel.metadata.create_all(op.get_bind())
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
    from sqlmodel import SQLModel

    import marque_finance.models  # noqa: F401

    for table in IMMUTABLE:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
    SQLModel.metadata.drop_all(op.get_bind())
    op.execute("DROP FUNCTION IF EXISTS finance_refuse_change()")
    drop_platform_tables(op)
