"""Follow-up tasks (跟进) and the notifications sent about them.

`dedupe_key` is unique: every rule that creates a task names it (lead + kind + day, customer +
birthday year, ...), so hooks called twice and sweeps run by two replicas create one task. A lead's
open grade follow-up holds `lead:<id>:grade_interval`; closing it appends the task id, which frees
the key for the next one in the rhythm (at most one open grade follow-up per lead).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, DateTime, Index, text
from sqlmodel import Field, SQLModel

from marque_crm.models.common import created, ts


class Task(SQLModel, table=True):
    __tablename__ = "tasks"
    __table_args__ = (
        # Due and overdue lists per consultant.
        Index(
            "tasks_assignee_open", "assignee", "due_at", postgresql_where=text("status = 'open'")
        ),
        Index("tasks_store_due", "store_id", "due_at"),
        Index("tasks_lead", "lead_id"),
        # What the due sweep picks up.
        Index(
            "tasks_to_notify",
            "due_at",
            postgresql_where=text("status = 'open' AND notified_at IS NULL"),
        ),
    )
    id: str = Field(primary_key=True, max_length=40)
    store_id: str = Field(max_length=20)
    customer_id: str = Field(max_length=40, index=True)
    lead_id: str | None = Field(default=None, max_length=40)
    # The consultant (principal subject) who should act; empty while the lead is unassigned.
    assignee: str = Field(default="", max_length=120)
    # domain.tasks.TaskKind
    kind: str = Field(max_length=20)
    title: str = Field(max_length=200)
    note: str = Field(default="", max_length=1000)
    due_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    # open | done | cancelled (overdue is derived from due_at)
    status: str = Field(default="open", max_length=10)
    completed_at: datetime | None = ts()
    completed_by: str = Field(default="", max_length=120)
    outcome: str = Field(default="", max_length=1000)
    # When TaskDue was emitted for the current due time (a snooze clears it).
    notified_at: datetime | None = ts()
    dedupe_key: str = Field(max_length=200, unique=True)
    created_by: str = Field(default="system", max_length=120)
    created_at: datetime | None = created()
    updated_at: datetime | None = ts()
    version: int = 1


class Notification(SQLModel, table=True):
    """One message handed to a provider (SMS or WeChat) and what became of it."""

    __tablename__ = "notifications"
    id: str = Field(primary_key=True, max_length=40)
    store_id: str = Field(default="", max_length=20, index=True)
    task_id: str | None = Field(default=None, max_length=40, index=True)
    campaign_id: str | None = Field(default=None, max_length=40, index=True)
    # What the message was about (`task:<id>`, `campaign:<id>:<customer>`).
    ref: str = Field(default="", max_length=200)
    # sms | wechat
    channel: str = Field(max_length=10)
    # The recipient as shown (a masked mobile or openid; a staff subject as is).
    to_masked: str = Field(max_length=120)
    # sent | failed
    status: str = Field(max_length=10)
    provider_id: str = Field(default="", max_length=120)
    error: str = Field(default="", max_length=500)
    at: datetime | None = created()
