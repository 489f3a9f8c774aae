"""`GET /api/v1/group/customers/{customer_id}/360`: everything the group knows of one customer.

The core is CRM's `GetCustomerSummary` (gRPC, within `compose_deadline_seconds`): the profile,
open leads, the recent timeline and the vehicles owned. The caller's signed principal travels in
the call's metadata, so CRM applies its own rules: a consultant sees only the customers they own
(or have a lead of), a store its customers, HQ everyone; a customer the caller may not see is 404,
never 403; the mobile and 身份证 are masked without `pii:read`.

The profile is the point of the view, so it is not a section that may go missing: when CRM is down
or too slow the answer is **503 with Retry-After**, not a 200 with nothing in it. Other services'
parts (sales orders and deliveries, aftersales visits, finance receivables) will be sections of
the usual composed kind (decision 0015: null, `partial: true` and listed under `unavailable` when
their service is down), added as those services land; `sections` names what the answer includes.
They are asked only after CRM has answered, so that no service is asked about a customer the
caller may not see, and they key on the id CRM answers (a merged customer's survivor).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from marque_gateway.api.stock_summary import UnavailableSection
from marque_gateway.clients.crm import (
    CrmClient,
    CustomerProfile,
    OpenLead,
    OwnedVehicle,
    TimelineEntry,
)
from marque_gateway.compose import Section, compose, grpc_channel
from marque_gateway.deps import GatewayDep, require
from marque_gateway.proxy import principal_signer
from marque_kit.auth import Principal
from marque_kit.errors import Unavailable
from marque_kit.http.problems import problem

router = APIRouter(prefix="/api/v1/group", tags=["group: composed views"])

PERMISSION = "crm.customers:read"
RETRY_AFTER_SECONDS = 5
# What CRM answers: always present in a 200.
CRM_SECTIONS = ["profile", "open_leads", "timeline", "vehicles"]
NOTE = (
    "Profile, open leads, timeline and vehicles owned come from CRM. Sales (orders, deliveries), "
    "aftersales (visits, repair orders) and finance (receivables) sections will be added as "
    "those services land."
)


def other_sections(customer_id: str) -> list[Section]:
    """Sections from services other than CRM, for the customer CRM answered (none yet: sales,
    aftersales and finance add theirs here, each with its own permission)."""
    return []


class Customer360Out(BaseModel):
    customer_id: str = Field(description="The customer answered: a merged id's survivor")
    merged_from: str | None = Field(
        None, description="The id asked for, when it was merged into `customer_id`"
    )
    profile: CustomerProfile
    open_leads: list[OpenLead]
    timeline: list[TimelineEntry] = Field(description="Most recent first")
    vehicles: list[OwnedVehicle]
    sections: list[str] = Field(description="The sections this answer includes")
    note: str
    partial: bool = Field(description="True when a section other than CRM's is missing")
    unavailable: list[UnavailableSection]


@router.get(
    "/customers/{customer_id}/360",
    response_model=Customer360Out,
    summary="Customer 360: profile, open leads, timeline and vehicles owned",
    responses={
        404: {"description": "No such customer, or not one the caller may see"},
        503: {"description": "CRM is not answering; retry after `Retry-After` seconds"},
    },
)
async def customer_360(
    request: Request,
    gateway: GatewayDep,
    principal: Annotated[Principal, Depends(require(PERMISSION))],
    customer_id: Annotated[str, Path(min_length=1, max_length=40)],
    timeline_limit: Annotated[
        int, Query(ge=1, le=100, description="How many recent timeline entries")
    ] = 20,
) -> Any:
    """One customer as the caller may see them. A consultant sees only their own customers;
    another's (or another store's) answers 404. Mobile and 身份证 are masked without `pii:read`.
    When CRM does not answer: 503 with Retry-After."""
    settings = gateway.settings
    asked = customer_id.strip()
    crm = CrmClient(
        grpc_channel(gateway, "crm"),
        principal_token=principal_signer(gateway).token_for(principal),
        timeout=settings.compose_deadline_seconds,
    )
    try:
        summary = await crm.customer_summary(asked, timeline_limit=timeline_limit)
    except (Unavailable, TimeoutError):
        return crm_unavailable(request)
    answered = summary.profile.customer_id
    extra = await compose(
        other_sections(answered),
        principal=principal,
        deadline_seconds=settings.compose_deadline_seconds,
    )
    return {
        "customer_id": answered,
        "merged_from": asked if asked != answered else None,
        **summary.model_dump(),
        **extra.sections,
        "sections": [*CRM_SECTIONS, *extra.sections],
        "note": NOTE,
        "partial": extra.partial,
        "unavailable": extra.unavailable,
    }


def crm_unavailable(request: Request) -> Response:
    return problem(
        status=503,
        title="Service unavailable",
        slug="unavailable",
        detail=(
            "CRM is not answering, and the customer 360 cannot be shown without the customer's "
            f"profile; try again in {RETRY_AFTER_SECONDS} seconds."
        ),
        instance=request.url.path,
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        service="crm",
    )
