"""Expense claims (报销): one row per claim, its approval route and approvals as JSON."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Column, Index
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from marque_finance.models.common import created, fen, ts


class ExpenseClaimRow(SQLModel, table=True):
    __tablename__ = "expense_claims"
    __table_args__ = (
        # An approver's queue: submitted claims waiting on a step, per store.
        Index("expense_claims_queue", "status", "next_step", "store_id"),
        Index("expense_claims_store_created", "store_id", "created_at"),
        Index("expense_claims_claimant", "claimant", "created_at"),
    )
    id: str = Field(primary_key=True, max_length=40)
    store_id: str = Field(max_length=20)
    claimant: str = Field(max_length=120)
    category: str = Field(max_length=20)
    amount_fen: int = fen()
    description: str
    incurred_on: date
    receipt_number: str = Field(default="", max_length=60)
    status: str = Field(default="draft", max_length=10)
    # The steps still to pass, in order (["store_manager", "hq_finance"]); next_step is the first
    # of them ("" when none), kept as a column so that queues are a plain indexed query.
    pending_steps: list[str] = Field(
        default_factory=list, sa_column=Column(JSONB, nullable=False, server_default="[]")
    )
    next_step: str = Field(default="", max_length=20)
    # [{"step": "store_manager", "actor": "sh.manager", "at": "2026-11-03T02:00:00+00:00"}]
    approvals: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSONB, nullable=False, server_default="[]")
    )
    submitted_at: datetime | None = ts()
    approved_on: date | None = None
    rejection_reason: str = ""
    rejected_by: str = Field(default="", max_length=120)
    paid_on: date | None = None
    paid_by: str = Field(default="", max_length=120)
    payment_method: str = Field(default="", max_length=20)
    bank_reference: str = Field(default="", max_length=80)
    # The rejected claim this draft was copied from.
    copied_from: str = Field(default="", max_length=40)
    version: int = 1
    created_at: datetime | None = created()
    updated_at: datetime | None = created()
