"""CRM's first schema.

INTERIM (during development): the tables are created from the SQLModel metadata; this file is
regenerated with `alembic revision --autogenerate` before the issue closes.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

from alembic import op

from marque_kit.migrations import create_platform_tables, drop_platform_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    from sqlmodel import SQLModel

    import marque_crm.models  # noqa: F401

    create_platform_tables(op)
    SQLModel.metadata.create_all(op.get_bind())


def downgrade() -> None:
    from sqlmodel import SQLModel

    import marque_crm.models  # noqa: F401

    SQLModel.metadata.drop_all(op.get_bind())
    drop_platform_tables(op)
