"""What routers, the gRPC servicer, consumers and jobs share: the database, settings, the clock
and the PII sealer.

`crm.uow()` is one transaction per command; events recorded on it (`uow.record(OutgoingEvent)`)
reach the outbox in the same transaction. `crm.clock` is the one source of "now": tests of SLAs
and due tasks drive it forward instead of waiting.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from marque_crm.settings import CrmSettings
from marque_kit.db import Database, UnitOfWork
from marque_kit.sealing import blind_index, seal, seal_text, unseal, unseal_text

SOURCE = "marque/crm"


class Clock:
    """The wall clock; `shift(...)` moves it (tests, demos) without touching the system time."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def shift(self, delta: timedelta) -> None:
        self.offset += delta


class Pii:
    """Seals PII at rest (Fernet keyed by MARQUE_PII_KEY) and indexes it for equality lookups."""

    def __init__(self, key: str) -> None:
        self.key = key

    def seal(self, value: str, purpose: str) -> str:
        return seal_text(value, key=self.key, purpose=f"crm.{purpose}")

    def unseal(self, token: str, purpose: str) -> str:
        return unseal_text(token, key=self.key, purpose=f"crm.{purpose}")

    def seal_bytes(self, data: bytes, purpose: str) -> bytes:
        return seal(data, key=self.key, purpose=f"crm.{purpose}")

    def unseal_bytes(self, token: bytes, purpose: str) -> bytes:
        return unseal(token, key=self.key, purpose=f"crm.{purpose}")

    def index(self, value: str, purpose: str) -> str:
        return blind_index(value, key=self.key, purpose=f"crm.{purpose}")


class Crm:
    def __init__(self, db: Database, settings: CrmSettings, clock: Clock | None = None) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock or Clock()
        self.zone = ZoneInfo(settings.timezone)
        self.pii = Pii(settings.pii_key)

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.db, source=SOURCE)

    def now(self) -> datetime:
        return self.clock.now()

    def today(self) -> date:
        """Today's business date in the stores' time zone."""
        return self.now().astimezone(self.zone).date()

    def local(self, at: datetime) -> datetime:
        return at.astimezone(self.zone)
