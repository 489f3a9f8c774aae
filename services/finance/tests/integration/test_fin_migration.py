"""The migrations build exactly the tables the models declare (no drift either way)."""

from __future__ import annotations

import marque_finance.models  # noqa: F401
from marque_finance.domain.accounts import TEMPLATE
from marque_finance.unit_of_work import Finance
from marque_kit.testing.schema import schema_drift


async def test_migrated_schema_matches_the_models(finance: Finance) -> None:
    async with finance.db.engine.connect() as conn:
        changes = await conn.run_sync(schema_drift, "marque_finance.")
    assert changes == []


async def test_the_chart_template_is_seeded(finance: Finance) -> None:
    async with finance.db.engine.connect() as conn:
        rows = await conn.exec_driver_sql("SELECT code FROM account_template")
        codes = {r[0] for r in rows}
    assert codes == {a.code for a in TEMPLATE}
