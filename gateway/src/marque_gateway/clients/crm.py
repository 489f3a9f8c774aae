"""The gateway's gRPC client of CRM, for the customer 360.

Every call carries the caller's signed principal (`x-marque-principal`): CRM applies its own
permission check, object-level access (a consultant sees only their own customers: anything else
is NOT_FOUND) and PII masking (mobile and 身份证 masked without `pii:read`). A failed call comes
back as the domain error CRM raised (`Unavailable` when it is down or too slow).
"""

from __future__ import annotations

from datetime import UTC, datetime

import grpc
from google.protobuf.timestamp_pb2 import Timestamp
from pydantic import BaseModel, Field

from marque.crm.v1 import crm_pb2, crm_service_pb2
from marque.crm.v1.crm_service_pb2_grpc import CrmServiceStub
from marque_kit.auth import METADATA_KEY
from marque_kit.rpc import domain_errors


def _enum_name(enum: type, value: int, prefix: str) -> str:
    """`LEAD_CHANNEL_AUTOHOME` -> `autohome`; unset -> ``."""
    name: str = enum.Name(value)  # type: ignore[attr-defined]
    return "" if name.endswith("_UNSPECIFIED") else name.removeprefix(prefix).lower()


def _when(ts: Timestamp) -> datetime:
    return ts.ToDatetime(tzinfo=UTC)


class CustomerProfile(BaseModel):
    customer_id: str
    kind: str = Field(examples=["person"], description="person | company")
    name: str
    mobile: str = Field(
        examples=["+86 138****5678"], description="E.164 with pii:read, masked otherwise"
    )
    wechat_id: str
    national_id: str = Field(
        description="身份证: in full with pii:read, masked otherwise; empty if unknown"
    )
    city: str
    store_id: str = Field(description="The preferred store")
    owner: str = Field(description="The owning consultant (principal subject); empty if none")
    tags: list[str]
    version: int


class OpenLead(BaseModel):
    lead_id: str
    store_id: str
    channel: str = Field(examples=["autohome"])
    status: str = Field(examples=["contacted"])
    grade: str = Field(examples=["H"], description="意向级别 H/A/B/C/N")
    model_code: str
    trim_code: str
    assigned_to: str = Field(description="The consultant who owns it; empty while unassigned")
    created_at: datetime | None
    version: int


class TimelineEntry(BaseModel):
    at: datetime | None
    kind: str = Field(examples=["call"], description="call, visit, wechat, note, system")
    summary: str
    actor: str
    store_id: str


class OwnedVehicle(BaseModel):
    vin: str
    plate: str
    model_code: str
    bought: str = Field(examples=["here"], description="here | elsewhere")


class CustomerSummary(BaseModel):
    profile: CustomerProfile
    open_leads: list[OpenLead]
    timeline: list[TimelineEntry] = Field(description="Most recent first")
    vehicles: list[OwnedVehicle]


def _profile(customer: crm_service_pb2.Customer) -> CustomerProfile:
    return CustomerProfile(
        customer_id=customer.customer_id,
        kind=_enum_name(crm_pb2.CustomerKind, customer.kind, "CUSTOMER_KIND_"),
        name=customer.name,
        mobile=customer.mobile,
        wechat_id=customer.wechat_id,
        national_id=customer.national_id,
        city=customer.city,
        store_id=customer.store_id,
        owner=customer.owner,
        tags=list(customer.tags),
        version=customer.version,
    )


def _lead(lead: crm_pb2.LeadSnapshot) -> OpenLead:
    return OpenLead(
        lead_id=lead.lead_id,
        store_id=lead.store_id,
        channel=_enum_name(crm_pb2.LeadChannel, lead.channel, "LEAD_CHANNEL_"),
        status=_enum_name(crm_pb2.LeadStatus, lead.status, "LEAD_STATUS_"),
        grade=_enum_name(crm_pb2.IntentGrade, lead.grade, "INTENT_GRADE_").upper(),
        model_code=lead.model_code,
        trim_code=lead.trim_code,
        assigned_to=lead.assigned_to,
        created_at=_when(lead.created_at) if lead.HasField("created_at") else None,
        version=lead.version,
    )


def _entry(entry: crm_service_pb2.TimelineEntry) -> TimelineEntry:
    return TimelineEntry(
        at=_when(entry.at) if entry.HasField("at") else None,
        kind=entry.kind,
        summary=entry.summary,
        actor=entry.actor,
        store_id=entry.store_id,
    )


class CrmClient:
    def __init__(self, channel: grpc.aio.Channel, *, principal_token: str, timeout: float) -> None:
        self.stub = CrmServiceStub(channel)
        self.metadata = ((METADATA_KEY, principal_token),)
        self.timeout = timeout

    async def customer_summary(self, customer_id: str, *, timeline_limit: int) -> CustomerSummary:
        """Profile, open leads, recent timeline and vehicles owned, as CRM lets this caller see
        them; NotFound for a customer they may not see, Unavailable when CRM does not answer."""
        with domain_errors():
            answer: crm_service_pb2.GetCustomerSummaryResponse = await self.stub.GetCustomerSummary(
                crm_service_pb2.GetCustomerSummaryRequest(
                    customer_id=customer_id, timeline_limit=timeline_limit
                ),
                metadata=self.metadata,
                timeout=self.timeout,
            )
        return CustomerSummary(
            profile=_profile(answer.customer),
            open_leads=[_lead(lead) for lead in answer.open_leads],
            timeline=[_entry(e) for e in answer.timeline],
            vehicles=[
                OwnedVehicle(vin=v.vin, plate=v.plate, model_code=v.model_code, bought=v.bought)
                for v in answer.vehicles
            ],
        )
