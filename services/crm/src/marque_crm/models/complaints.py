"""Complaints (投诉): what CRM owns of them — intake, routing, the time to respond and the status
the customer is told (rules in domain/complaints.py; the split with aftersales in ADR 0023)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from marque_crm.models.common import created, ts


class Complaint(SQLModel, table=True):
    __tablename__ = "complaints"
    __table_args__ = (
        Index("complaints_store_status", "store_id", "status"),
        Index("complaints_store_respond_by", "store_id", "respond_by"),
    )
    id: str = Field(primary_key=True, max_length=40)
    store_id: str = Field(max_length=20)
    customer_id: str = Field(max_length=40, index=True)
    department: str = Field(max_length=10)  # sales | service | parts | finance | other
    category: str = Field(max_length=30)
    severity: str = Field(max_length=10)  # low | medium | high | critical
    # How it reached us: phone, walk_in, wechat, email, hotline_400, 12315, social_media, ...
    channel: str = Field(default="", max_length=20)
    summary: str = Field(max_length=200)
    details: str = Field(default="", max_length=4000)
    status: str = Field(default="received", max_length=12)
    respond_by: datetime | None = ts(nullable=False)
    responded_at: datetime | None = ts()
    assignee: str = Field(default="", max_length=120)
    # The repair order or vehicle concerned, for aftersales' side of the loop.
    repair_order: str = Field(default="", max_length=40)
    vin: str = Field(default="", max_length=17)
    resolution: str = Field(default="", max_length=2000)
    resolved_at: datetime | None = ts()
    closed_at: datetime | None = ts()
    registered_by: str = Field(default="", max_length=120)
    created_at: datetime | None = created()
    updated_at: datetime | None = ts()
    version: int = 1
