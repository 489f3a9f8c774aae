"""The migrations build exactly the tables the models declare (no drift either way)."""

from __future__ import annotations

from fastapi import FastAPI

import marque_inventory.models  # noqa: F401
from marque_kit.testing.schema import schema_drift


async def test_migrated_schema_matches_the_models(inventory_app: FastAPI) -> None:
    async with inventory_app.state.inventory.db.engine.connect() as conn:
        changes = await conn.run_sync(schema_drift, "marque_inventory.")
    assert changes == []
