"""Each store's CRM rules (follow-ups, SLA, hours, assignment); no row: the group defaults."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from marque_crm.models.common import ts


class StoreRulesRow(SQLModel, table=True):
    __tablename__ = "store_rules"
    store_id: str = Field(primary_key=True, max_length=20)
    # The fields of domain.store_rules.StoreRules, as JSON (times as "HH:MM").
    rules: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONB, nullable=False))
    updated_at: datetime | None = ts()
    updated_by: str = ""
    version: int = 1
