"""What routers, the gRPC servicer, consumers and jobs share: the database and the settings.

`finance.uow()` is one transaction per command; events recorded on it (`uow.record(OutgoingEvent)`)
reach the outbox in the same transaction. `books.post` writes its own `finance.journal.posted`.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from marque_finance.events import SOURCE
from marque_finance.settings import FinanceSettings
from marque_kit.db import Database, UnitOfWork


class Finance:
    def __init__(self, db: Database, settings: FinanceSettings) -> None:
        self.db = db
        self.settings = settings
        self.zone = ZoneInfo(settings.timezone)

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.db, source=SOURCE)

    def today(self) -> date:
        """Today's business date in the stores' time zone."""
        return datetime.now(self.zone).date()

    def business_date(self, at: datetime) -> date:
        return at.astimezone(self.zone).date()
