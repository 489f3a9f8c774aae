"""Customers: one row per person or company across the group, PII sealed at rest, and what hangs
off a customer: marketing consents, vehicles owned, the append-only timeline, the merge log.

The mobile and the national ID are stored sealed (Fernet, MARQUE_PII_KEY), with a blind index
(keyed HMAC) for finding a person by equality and a masked copy for display; the address is
sealed with a masked copy. A merged customer stays as a tombstone (`merged_into`, always the
final survivor) so that old references still resolve to the survivor.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, Column, Identity, Index, Select, or_, select, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel, col

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
        # Name-prefix search (`?q=王`).
        Index("customers_name_prefix", "name", postgresql_ops={"name": "text_pattern_ops"}),
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
    address_masked: str = Field(default="", max_length=40)
    # Preferred store (the store that knows them best) and owning consultant (principal subject).
    store_id: str = Field(max_length=20)
    owner: str = Field(default="", max_length=120)
    source: str = Field(default="", max_length=20)
    merged_into: str | None = Field(default=None, max_length=40, index=True)
    created_at: datetime | None = created()
    updated_at: datetime | None = ts()
    version: int = 1


def lineage_ids(customer_id: str) -> Select[str]:
    """The ids of this customer and of every record merged into it. A tombstone always points at
    the final survivor (merging a survivor re-points its tombstones), so one level is enough."""
    return select(col(Customer.id)).where(
        or_(col(Customer.id) == customer_id, col(Customer.merged_into) == customer_id)
    )


class CustomerConsent(SQLModel, table=True):
    """One marketing-consent statement (PIPL): granted or withdrawn, on one channel, with its
    source and time. Never updated: the latest statement per channel is the standing consent.
    On a merge the rows move to the survivor; `given_by` keeps the record they were made for."""

    __tablename__ = "customer_consents"
    __table_args__ = (Index("customer_consents_by_customer", "customer_id", "channel", "at"),)
    id: int | None = Field(
        default=None, sa_column=Column(BigInteger, Identity(always=False), primary_key=True)
    )
    customer_id: str = Field(max_length=40)
    given_by: str = Field(max_length=40)
    channel: str = Field(max_length=10)  # sms | wechat | phone | email
    granted: bool
    source: str = Field(max_length=120)
    at: datetime | None = ts(nullable=False)
    store_id: str = Field(default="", max_length=20)
    recorded_by: str = Field(default="", max_length=120)
    recorded_at: datetime | None = created()


class OwnedVehicle(SQLModel, table=True):
    """A vehicle a customer owns (or owned: `sold_on`), bought here or elsewhere."""

    __tablename__ = "owned_vehicles"
    __table_args__ = (
        Index("owned_vehicles_one_per_customer", "customer_id", "vin", unique=True),
        Index("owned_vehicles_vin", "vin"),
    )
    id: str = Field(primary_key=True, max_length=40)
    customer_id: str = Field(max_length=40)
    vin: str = Field(max_length=17)
    plate: str = Field(default="", max_length=16)
    model_code: str = Field(default="", max_length=60)
    bought: str = Field(max_length=10)  # here | elsewhere
    # The store that sold it (bought here), else empty.
    store_id: str = Field(default="", max_length=20)
    purchased_on: date | None = None
    sold_on: date | None = None
    # manual | sales_delivery | aftersales
    source: str = Field(default="manual", max_length=20)
    created_at: datetime | None = created()
    updated_at: datetime | None = ts()
    updated_by: str = Field(default="", max_length=120)
    version: int = 1


class TimelineEntry(SQLModel, table=True):
    """One line of a customer's history. Append-only: a trigger refuses UPDATE and DELETE."""

    __tablename__ = "timeline_entries"
    __table_args__ = (Index("timeline_by_customer", "customer_id", "at", "id"),)
    id: int | None = Field(
        default=None, sa_column=Column(BigInteger, Identity(always=False), primary_key=True)
    )
    customer_id: str = Field(max_length=40)
    store_id: str = Field(default="", max_length=20)
    kind: str = Field(max_length=10)  # call | visit | wechat | note | system
    summary: str = Field(max_length=2000)
    actor: str = Field(default="", max_length=120)
    # What a system entry is about, e.g. "quote:Q-SH01-0042", "customer:<merged id>".
    ref: str = Field(default="", max_length=200)
    at: datetime | None = ts(nullable=False)
    created_at: datetime | None = created()


class CustomerMerge(SQLModel, table=True):
    """The merge log: who merged which duplicate into which survivor, and what moved."""

    __tablename__ = "customer_merges"
    id: str = Field(primary_key=True, max_length=40)
    survivor_id: str = Field(max_length=40, index=True)
    merged_id: str = Field(max_length=40, unique=True)
    store_id: str = Field(max_length=20)
    actor: str = Field(max_length=120)
    reason: str = Field(default="", max_length=500)
    # {"vehicles_moved": n, "vehicles_collapsed": n, "consents_moved": n, "profile_filled": [...]}
    moved: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONB, nullable=False))
    at: datetime | None = ts(nullable=False)


class CrmRpcRequest(SQLModel, table=True):
    """gRPC FindOrCreateCustomer by request_id: a retried call gets the first answer back."""

    __tablename__ = "crm_rpc_requests"
    request_id: str = Field(primary_key=True, max_length=200)
    method: str = Field(max_length=60)
    request_hash: str = Field(max_length=64)
    customer_id: str | None = Field(default=None, max_length=40)
    customer_created: bool = False
    at: datetime | None = created()


def timeline_append_only_ddl() -> list[str]:
    """The trigger that keeps `timeline_entries` append-only (for the real migration:
    `for statement in timeline_append_only_ddl(): op.execute(statement)`)."""
    return [
        """
        CREATE OR REPLACE FUNCTION timeline_entries_append_only() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION USING
                MESSAGE = 'timeline_entries is append-only: ' || TG_OP || ' refused',
                ERRCODE = 'restrict_violation';
        END $$;
        """,
        "CREATE TRIGGER timeline_entries_append_only BEFORE UPDATE OR DELETE ON timeline_entries "
        "FOR EACH ROW EXECUTE FUNCTION timeline_entries_append_only()",
        "CREATE TRIGGER timeline_entries_no_truncate BEFORE TRUNCATE ON timeline_entries "
        "FOR EACH STATEMENT EXECUTE FUNCTION timeline_entries_append_only()",
    ]
