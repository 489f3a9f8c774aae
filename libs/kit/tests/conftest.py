"""Fixtures for the kit's messaging tests: a fresh database with the platform tables plus a
`ledger` table that test handlers write to, and a broker connection in this run's namespace."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest
from messaging_helpers import unique
from sqlalchemy import text

from marque_kit.broker import Broker
from marque_kit.db import Database
from marque_kit.migrations import install_platform_tables


@pytest.fixture
def db_url(make_database: Callable[[str], str]) -> str:
    return make_database(unique("kit_"))


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Database]:
    database = Database(db_url, pool_size=5)
    async with database.engine.begin() as conn:
        await conn.run_sync(install_platform_tables)
        # No unique key on purpose: a duplicate effect must show up as a second row.
        await conn.execute(
            text("CREATE TABLE ledger (event_id text NOT NULL, amount bigint NOT NULL)")
        )
    yield database
    await database.dispose()


@pytest.fixture
async def broker(marque_amqp_url: str, amqp_namespace: str) -> AsyncIterator[Broker]:
    b = Broker(marque_amqp_url, amqp_namespace, retry_delays=[0.2, 0.5], delivery_limit=5)
    await b.connect()
    yield b
    await b.close()
