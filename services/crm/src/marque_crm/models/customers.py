"""Customers: one row per person or company across the group, PII sealed at rest.

The mobile and the national ID are stored sealed (Fernet, MARQUE_PII_KEY), with a blind index
(keyed HMAC) for finding a person by equality and a masked copy for display. A merged customer
stays as a tombstone (`merged_into`) so that old references still resolve to the survivor.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Index, text
from sqlmodel import Field, SQLModel

from marque_crm.models.common import created, ts


class Customer(SQLModel, table=True):
    __tablename__ = "customers"
    __table_args__ = (
        # One live record per mobile and per ID number, however many channels race to create it.
        Index(
            "customers_one_per_mobile",
            "mobile_index",
            unique=True,
            postgresql_where=text("merged_into IS NULL"),
        ),
        Index(
            "customers_one_per_national_id",
            "national_id_index",
            unique=True,
            postgresql_where=text("merged_into IS NULL AND national_id_index IS NOT NULL"),
        ),
        Index("customers_store_owner", "store_id", "owner"),
    )
    id: str = Field(primary_key=True, max_length=40)
    kind: str = Field(default="person", max_length=10)
    name: str = Field(max_length=200)
    mobile_sealed: str
    mobile_index: str = Field(max_length=64)
    mobile_masked: str = Field(max_length=32)
    national_id_sealed: str | None = None
    national_id_index: str | None = Field(default=None, max_length=64)
    national_id_masked: str | None = Field(default=None, max_length=32)
    wechat_id: str = Field(default="", max_length=64)
    gender: str = Field(default="", max_length=10)
    birthday: date | None = None
    city: str = Field(default="", max_length=60)
    address_sealed: str | None = None
    # Preferred store (the store that knows them best) and owning consultant (principal subject).
    store_id: str = Field(max_length=20)
    owner: str = Field(default="", max_length=120)
    source: str = Field(default="", max_length=20)
    merged_into: str | None = Field(default=None, max_length=40, index=True)
    created_at: datetime | None = created()
    updated_at: datetime | None = ts()
    version: int = 1
