"""Migration drift: do a service's migrations build exactly the tables its models declare?

`await conn.run_sync(schema_drift, "marque_finance.")` lists alembic's differences between the
migrated database and the SQLModel tables defined in that package (the kit's platform tables are
left out: the migrations install them). In a whole-repo test run every service's models share
SQLModel's metadata, hence the package prefix.
"""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, MetaData
from sqlmodel import SQLModel

from marque_kit.tables import platform_metadata

PLATFORM = set(platform_metadata.tables)


def service_metadata(module_prefix: str) -> MetaData:
    """The tables of the SQLModel models defined under `module_prefix`, in their own MetaData."""
    ours = MetaData()
    for model in _models(SQLModel):
        if model.__module__.startswith(module_prefix) and hasattr(model, "__table__"):
            model.__table__.to_metadata(ours)
    return ours


def schema_drift(connection: Connection, module_prefix: str) -> list[Any]:
    context = MigrationContext.configure(connection)
    changes = compare_metadata(context, service_metadata(module_prefix))
    return [c for c in changes if not _is_platform(c)]


def _models(base: type) -> list[type]:
    found: list[type] = []
    subclasses: list[type] = base.__subclasses__()
    for sub in subclasses:
        found.append(sub)
        found.extend(_models(sub))
    return found


def _is_platform(change: Any) -> bool:
    _kind, *rest = change if isinstance(change, tuple) else change[0]
    target = rest[0]
    table = getattr(target, "table", target)
    return getattr(table, "name", None) in PLATFORM
