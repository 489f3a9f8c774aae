"""The migrations build exactly the tables the models declare (no drift either way)."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, MetaData
from sqlmodel import SQLModel

import marque_finance.models  # noqa: F401
from marque_finance.domain.accounts import TEMPLATE
from marque_finance.unit_of_work import Finance
from marque_kit.tables import platform_metadata

PLATFORM = set(platform_metadata.tables)


def finance_metadata() -> MetaData:
    """Finance's tables only (in a whole-repo test run, other services' models share SQLModel's)."""
    ours = MetaData()
    for model in _models(SQLModel):
        if model.__module__.startswith("marque_finance.") and hasattr(model, "__table__"):
            model.__table__.to_metadata(ours)
    return ours


def _models(base: type) -> list[type]:
    found = []
    for sub in base.__subclasses__():
        found.append(sub)
        found.extend(_models(sub))
    return found


def _diff(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection)
    changes = compare_metadata(context, finance_metadata())
    return [c for c in changes if not _is_platform(c)]


def _is_platform(change: Any) -> bool:
    _kind, *rest = change if isinstance(change, tuple) else change[0]
    target = rest[0]
    table = getattr(target, "table", target)
    return getattr(table, "name", None) in PLATFORM


async def test_migrated_schema_matches_the_models(finance: Finance) -> None:
    async with finance.db.engine.connect() as conn:
        changes = await conn.run_sync(_diff)
    assert changes == []


async def test_the_chart_template_is_seeded(finance: Finance) -> None:
    async with finance.db.engine.connect() as conn:
        rows = await conn.exec_driver_sql("SELECT code FROM account_template")
        codes = {r[0] for r in rows}
    assert codes == {a.code for a in TEMPLATE}
