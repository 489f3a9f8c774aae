"""Leads (线索) and their append-only status history.

A lead is one buying enquiry of one customer at one store: what they want (model/trim, budget,
timeframe, payment intention, trade-in), how hot they are (intent grade 意向级别 H/A/B/C/N), where
they stand in the funnel (new → contacted → invited → visited 到店 → test_drive → quoted → won /
lost / invalid) and who owns them (`assigned_to`, a consultant's principal subject).

Invariants kept by the database, so that racing intakes cannot break them:
- one OPEN lead per customer per store (`leads_one_open_per_customer`): a repeat enquiry attaches
  to it (`duplicate_count`) instead of making noise;
- one lead per partner reference (`leads_one_per_source_ref`): a partner resending its lead gets
  the same one back.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Column, Index, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from marque_crm.models.common import created, ts

# Statuses in which a lead is finished; kept here (as SQL) for the partial unique index.
CLOSED_STATUSES_SQL = "('won', 'lost', 'invalid')"


class Lead(SQLModel, table=True):
    __tablename__ = "leads"
    __table_args__ = (
        Index(
            "leads_one_open_per_customer",
            "store_id",
            "customer_id",
            unique=True,
            postgresql_where=text(f"status NOT IN {CLOSED_STATUSES_SQL}"),
        ),
        Index(
            "leads_one_per_source_ref",
            "channel",
            "source_ref",
            unique=True,
            postgresql_where=text("source_ref <> ''"),
        ),
        Index("leads_store_status", "store_id", "status"),
        Index("leads_store_created", "store_id", "created_at"),
    )
    id: str = Field(primary_key=True, max_length=40)
    store_id: str = Field(max_length=20)
    customer_id: str = Field(max_length=40, index=True)
    # walk_in | phone | website | autohome | yiche | dongchedi | referral | campaign | event
    channel: str = Field(max_length=20)
    status: str = Field(default="new", max_length=20)
    grade: str = Field(default="B", max_length=1)  # H | A | B | C | N
    model_code: str = Field(default="", max_length=60)
    trim_code: str = Field(default="", max_length=60)
    budget_min_fen: int | None = Field(default=None, sa_type=BigInteger)
    budget_max_fen: int | None = Field(default=None, sa_type=BigInteger)
    # within_7_days | within_15_days | within_30_days | within_90_days | over_90_days | unknown
    timeframe: str = Field(default="unknown", max_length=20)
    payment_intention: str = Field(default="", max_length=10)  # cash | loan | lease | "" unknown
    # {"brand", "model", "year", "mileage_km"} or null
    trade_in: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONB, nullable=True))
    comments: str = Field(default="", max_length=2000)
    # Consultant (principal subject) who owns the lead; "" until assigned.
    assigned_to: str = Field(default="", max_length=120, index=True)
    assigned_at: datetime | None = ts()
    first_contacted_at: datetime | None = ts()
    first_response_business_minutes: int | None = None
    # The lead arrived outside the store's business hours.
    first_response_after_hours: bool = False
    closed_at: datetime | None = ts()
    closed_reason: str = Field(default="", max_length=60)
    # The partner's own id for the lead (汽车之家/易车/懂车帝 lead id, ADF <id>); "" if none.
    source_ref: str = Field(default="", max_length=120)
    duplicate_count: int = 0
    last_enquiry_at: datetime | None = ts()
    created_by: str = Field(default="", max_length=120)
    created_at: datetime | None = created()
    updated_at: datetime | None = ts()
    version: int = 1


class LeadTransition(SQLModel, table=True):
    """One move of a lead through the funnel; append-only (never updated, never deleted)."""

    __tablename__ = "lead_transitions"
    id: int | None = Field(default=None, primary_key=True)
    lead_id: str = Field(max_length=40, index=True)
    store_id: str = Field(max_length=20)
    from_status: str = Field(default="", max_length=20)  # "" for the lead's creation
    to_status: str = Field(max_length=20)
    at: datetime | None = ts(nullable=False)
    actor: str = Field(default="", max_length=120)
    reason: str = Field(default="", max_length=200)
