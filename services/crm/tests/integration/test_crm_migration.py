"""The migrations build exactly the tables the models declare, and the timeline is append-only."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import DBAPIError

import marque_crm.models  # noqa: F401
from marque_crm.timeline_service import append
from marque_crm.unit_of_work import Crm
from marque_kit.testing.schema import schema_drift


async def test_migrated_schema_matches_the_models(crm: Crm) -> None:
    async with crm.db.engine.connect() as conn:
        changes = await conn.run_sync(schema_drift, "marque_crm.")
    assert changes == []


async def test_the_timeline_refuses_changes(crm: Crm) -> None:
    async with crm.uow() as uow:
        await append(
            uow.session,
            crm,
            customer_id="MIG-CUSTOMER",
            store_id="MIG1",
            kind="note",
            summary="called back",
            actor="user:tester",
        )
        await uow.commit()
    async with crm.db.engine.connect() as conn:
        for statement in (
            "UPDATE timeline_entries SET summary = 'rewritten' WHERE store_id = 'MIG1'",
            "DELETE FROM timeline_entries WHERE store_id = 'MIG1'",
            "TRUNCATE timeline_entries",
        ):
            with pytest.raises(DBAPIError, match="append-only"):
                await conn.exec_driver_sql(statement)
            await conn.rollback()
