"""Alembic helpers: the platform tables for a service's first migration, and the runner."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import create_async_engine

from marque_kit.tables import OUTBOX_CHANNEL, platform_metadata


def create_platform_tables(op: Any) -> None:
    install_platform_tables(op.get_bind())


def install_platform_tables(bind: Connection) -> None:
    """The same DDL without Alembic (tests: `await conn.run_sync(install_platform_tables)`)."""
    platform_metadata.create_all(bind)
    bind.execute(
        text("CREATE INDEX IF NOT EXISTS outbox_pending ON outbox (position) WHERE sent_at IS NULL")
    )
    # Wake the relay at commit; notifications with the same payload fold into one per transaction.
    bind.execute(
        text(
            f"""
            CREATE OR REPLACE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN PERFORM pg_notify('{OUTBOX_CHANNEL}', ''); RETURN NULL; END $$;
            """
        )
    )
    bind.execute(
        text(
            "CREATE TRIGGER outbox_notify AFTER INSERT ON outbox "
            "FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify()"
        )
    )


def drop_platform_tables(op: Any) -> None:
    bind = op.get_bind()
    bind.execute(text("DROP TRIGGER IF EXISTS outbox_notify ON outbox"))
    bind.execute(text("DROP FUNCTION IF EXISTS outbox_notify()"))
    platform_metadata.drop_all(bind)


def run_alembic_env(target_metadata: Any, config: Any) -> None:
    """Body of a service's migrations/env.py: online migrations over the async engine."""
    from alembic import context

    url = config.get_main_option("sqlalchemy.url")

    def do_run(connection: Connection) -> None:
        context.configure(connection=connection, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()

    async def run() -> None:
        engine = create_async_engine(url)
        async with engine.connect() as connection:
            await connection.run_sync(do_run)
        await engine.dispose()

    if context.is_offline_mode():
        context.configure(url=url, target_metadata=target_metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
    else:
        asyncio.run(run())


def upgrade(service_dir: Path, database_url: str, revision: str = "head") -> None:
    """Run a service's Alembic migrations to `revision` (the `marque migrate` step)."""
    from alembic import command
    from alembic.config import Config

    cfg = Config(str(service_dir / "alembic.ini"))
    cfg.set_main_option("script_location", str(service_dir / "migrations"))
    cfg.set_main_option("sqlalchemy.url", database_url)
    command.upgrade(cfg, revision)


async def ensure_database(database_url: str) -> bool:
    """Create the database named in the URL if it does not exist. True when it was created."""
    from sqlalchemy.engine import make_url

    url = make_url(database_url)
    name = url.database
    admin = create_async_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            exists = await conn.scalar(
                text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
            )
            if exists:
                return False
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
            return True
    finally:
        await admin.dispose()
