"""Inventory's unit of work: one transaction per command, domain events into the outbox."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from marque_inventory.domain.events import InventoryEvent
from marque_inventory.events import CatalogLookup, outgoing
from marque_kit.db import Database, UnitOfWork

SOURCE = "marque/inventory"


class InventoryUnitOfWork(UnitOfWork):
    def __init__(self, db: Database, catalog: CatalogLookup) -> None:
        super().__init__(db, source=SOURCE)
        self.catalog = catalog
        self._domain_events: list[InventoryEvent] = []

    def add(self, events: Iterable[Any]) -> None:
        self._domain_events.extend(events)

    def collect(self, *aggregates: Any) -> None:
        for aggregate in aggregates:
            self._domain_events.extend(aggregate.pull_events())

    async def flush_events(self) -> list[Any]:
        if self._domain_events:
            self.record(*(await outgoing(self.session, self.catalog, self._domain_events)))
            self._domain_events.clear()
        return await super().flush_events()


class Inventory:
    """What routers, the gRPC servicer and jobs share: the database and the catalog lookup."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.catalog = CatalogLookup()

    def uow(self) -> InventoryUnitOfWork:
        return InventoryUnitOfWork(self.db, self.catalog)
