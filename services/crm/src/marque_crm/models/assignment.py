"""Lead assignment: each store's roster, the assignment history, round-robin cursors, and the
first-contact SLA escalations.

- `consultants` (the roster): who works a store's sales floor, on duty or not, on leave when.
- `lead_assignments`: every owner change of every lead with its strategy, reason and actor;
  append-only (never updated, never deleted).
- `assignment_cursors`: per store (and per route) the consultant served last. Intakes lock the
  row (SELECT ... FOR UPDATE) so concurrent leads keep the rotation fair.
- `sla_escalations`: one row per (lead, assignee) whose first contact came late; the unique key
  makes the escalation happen once, whichever replica's sweep gets there first.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from marque_crm.models.common import ts


class Consultant(SQLModel, table=True):
    __tablename__ = "consultants"
    store_id: str = Field(primary_key=True, max_length=20)
    # The person's principal subject (their gateway user id).
    subject: str = Field(primary_key=True, max_length=120)
    name: str = Field(max_length=200)
    role: str = Field(default="consultant", max_length=20)  # consultant | manager
    on_duty: bool = True
    # Leave (请假/休假), both days included; null ends are open.
    on_leave_from: date | None = None
    on_leave_until: date | None = None
    # Most open leads they may hold; null: no cap.
    max_open_leads: int | None = None
    updated_at: datetime | None = ts()
    updated_by: str = Field(default="", max_length=120)
    version: int = 1


class Assignment(SQLModel, table=True):
    """One owner change of a lead; append-only."""

    __tablename__ = "lead_assignments"
    __table_args__ = (Index("lead_assignments_lead_at", "lead_id", "at"),)
    id: int | None = Field(default=None, primary_key=True)
    lead_id: str = Field(max_length=40)
    store_id: str = Field(max_length=20)
    assignee: str = Field(default="", max_length=120)  # "" when nobody could take it
    previous: str = Field(default="", max_length=120)
    # round_robin | least_open | by_channel | by_model | manual | sla_reassignment | unassigned
    strategy: str = Field(max_length=30)
    reason: str = Field(default="", max_length=500)
    actor: str = Field(default="", max_length=120)  # "system" for automatic assignments
    at: datetime | None = ts(nullable=False)


class RoundRobinCursor(SQLModel, table=True):
    __tablename__ = "assignment_cursors"
    store_id: str = Field(primary_key=True, max_length=20)
    # "" is the store's main rotation; "by_channel:autohome", "by_model:X" are routes' own.
    route_key: str = Field(default="", primary_key=True, max_length=100)
    last_subject: str = Field(default="", max_length=120)
    updated_at: datetime | None = ts()


class SlaEscalation(SQLModel, table=True):
    """A first contact that came late, told to the managers; once per lead and assignee."""

    __tablename__ = "sla_escalations"
    __table_args__ = (
        UniqueConstraint("lead_id", "assignee", name="sla_escalations_once"),
        Index("sla_escalations_store_at", "store_id", "at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    lead_id: str = Field(max_length=40)
    store_id: str = Field(max_length=20)
    assignee: str = Field(default="", max_length=120)  # who missed it ("" while unassigned)
    escalated_to: str = Field(default="", max_length=500)  # managers, comma-separated
    sla_minutes: int
    elapsed_minutes: int
    reassigned_to: str = Field(default="", max_length=120)
    at: datetime | None = ts(nullable=False)
