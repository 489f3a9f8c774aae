"""Tags, customer facts, segments and campaigns (rules in domain/tags.py and domain/campaigns.py).

`customer_facts` holds what other services will tell CRM about a customer and CRM cannot work out
itself: `lifetime_spend_fen` (sales deliveries and aftersales invoices will add to it once those
services publish events; until then it is 0 unless a service function sets it), `first_purchase`
(the customer said this is their first car) and `last_service_at` (aftersales visits). The
auto-tag rules read it beside leads, vehicles and the timeline.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Column, Index, String, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlmodel import Field, SQLModel

from marque_crm.models.common import created, ts


class Tag(SQLModel, table=True):
    __tablename__ = "tags"
    __table_args__ = (
        UniqueConstraint("store_id", "name", name="tags_one_name_per_store"),
        Index("tags_one_per_rule", "rule", unique=True, postgresql_where=text("rule <> ''")),
    )
    id: str = Field(primary_key=True, max_length=40)
    # "" for a group tag (every store sees it; the auto tags are group tags).
    store_id: str = Field(default="", max_length=20, index=True)
    name: str = Field(max_length=40)
    colour: str = Field(default="", max_length=7)
    kind: str = Field(default="manual", max_length=10)  # manual | auto
    rule: str = Field(default="", max_length=30)  # the auto rule maintaining it; "" for manual
    description: str = Field(default="", max_length=200)
    created_by: str = Field(default="", max_length=120)
    created_at: datetime | None = created()
    updated_at: datetime | None = ts()
    version: int = 1


class CustomerTag(SQLModel, table=True):
    """A tag on a customer, once; `source` says whether a person or a rule put it there."""

    __tablename__ = "customer_tags"
    __table_args__ = (Index("customer_tags_by_tag", "tag_id", "customer_id"),)
    customer_id: str = Field(primary_key=True, max_length=40)
    tag_id: str = Field(primary_key=True, max_length=40)
    source: str = Field(default="manual", max_length=10)  # manual | rule
    at: datetime | None = ts(nullable=False)
    by: str = Field(default="", max_length=120)


class TagRuleConfig(SQLModel, table=True):
    """The auto-tag parameters for the whole group (one row, id "group"; none: the defaults)."""

    __tablename__ = "tag_rule_config"
    id: str = Field(default="group", primary_key=True, max_length=20)
    vip_lifetime_spend_fen: int = Field(sa_type=BigInteger)
    churn_months: int
    enabled: list[str] = Field(default_factory=list, sa_column=Column(JSONB, nullable=False))
    updated_at: datetime | None = ts()
    updated_by: str = Field(default="", max_length=120)
    version: int = 1


class CustomerFacts(SQLModel, table=True):
    __tablename__ = "customer_facts"
    customer_id: str = Field(primary_key=True, max_length=40)
    # Everything the customer has spent with the group (cars, service, parts), in fen.
    lifetime_spend_fen: int = Field(default=0, sa_type=BigInteger)
    # The customer said this will be their first car (首购); None: nobody asked.
    first_purchase: bool | None = None
    last_service_at: datetime | None = ts()
    updated_at: datetime | None = ts()


class Segment(SQLModel, table=True):
    __tablename__ = "segments"
    id: str = Field(primary_key=True, max_length=40)
    name: str = Field(max_length=100)
    # The filter's stores, kept as a column so that visibility is one indexed test.
    store_ids: list[str] = Field(
        default_factory=list, sa_column=Column(ARRAY(String(20)), nullable=False)
    )
    # domain.tags.SegmentFilter.to_json()
    spec: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONB, nullable=False))
    created_by: str = Field(default="", max_length=120)
    created_at: datetime | None = created()
    updated_at: datetime | None = ts()
    version: int = 1


class Campaign(SQLModel, table=True):
    __tablename__ = "campaigns"
    id: str = Field(primary_key=True, max_length=40)
    name: str = Field(max_length=100)
    segment_id: str = Field(max_length=40, index=True)
    store_ids: list[str] = Field(
        default_factory=list, sa_column=Column(ARRAY(String(20)), nullable=False)
    )
    channel: str = Field(max_length=10)  # sms | wechat
    template: str = Field(max_length=500)
    scheduled_at: datetime | None = ts()
    cap_max_messages: int = 2
    cap_per_days: int = 7
    status: str = Field(default="draft", max_length=12)  # draft|scheduled|sending|sent
    created_by: str = Field(default="", max_length=120)
    created_at: datetime | None = created()
    last_sent_at: datetime | None = ts()
    updated_at: datetime | None = ts()
    version: int = 1


class CampaignRecipient(SQLModel, table=True):
    """One customer of one campaign, once (the primary key): sending twice never doubles."""

    __tablename__ = "campaign_recipients"
    __table_args__ = (Index("campaign_recipients_status", "campaign_id", "status"),)
    campaign_id: str = Field(primary_key=True, max_length=40)
    customer_id: str = Field(primary_key=True, max_length=40)
    name: str = Field(default="", max_length=200)
    address_masked: str = Field(default="", max_length=64)
    status: str = Field(max_length=10)  # sending | sent | failed | excluded
    reason: str = Field(default="", max_length=30)  # no_consent | no_address | frequency_capped
    provider_id: str = Field(default="", max_length=120)
    error: str = Field(default="", max_length=300)
    # The provider was down (5xx, no answer): a resend tries again, with the same ref.
    retryable: bool = False
    attempts: int = 0
    decided_at: datetime | None = ts(nullable=False)
    sent_at: datetime | None = ts()


class MarketingSend(SQLModel, table=True):
    """Every marketing message a customer was sent (or is being sent), for frequency caps."""

    __tablename__ = "marketing_sends"
    __table_args__ = (
        UniqueConstraint("campaign_id", "customer_id", name="marketing_sends_once_per_campaign"),
        Index("marketing_sends_customer_at", "customer_id", "at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    customer_id: str = Field(max_length=40)
    campaign_id: str = Field(max_length=40)
    channel: str = Field(max_length=10)
    at: datetime | None = ts(nullable=False)
