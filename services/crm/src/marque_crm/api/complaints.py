"""Complaints intake (投诉受理): register a complaint against a customer, routed to the department
that answers for its category, with a time to respond counted in the store's business hours.

- `POST /api/v1/crm/complaints`: register (emits `crm.complaint.registered`, carrying the repair
  order and VIN so that aftersales can take up the repair side).
- `GET /api/v1/crm/complaints`: the store's complaints; `overdue=true` lists those not answered
  by `respond_by`.
- `PATCH /api/v1/crm/complaints/{id}` (If-Match): move the status (received → acknowledged →
  in_progress → resolved → closed), reassign, re-route, record the resolution.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import col

from marque_crm import complaints_service as svc
from marque_crm.api.deps import CrmDep
from marque_crm.domain.complaints import CATEGORIES, DEPARTMENTS, RESPONSE_SLA_MINUTES
from marque_crm.models import Complaint
from marque_crm.unit_of_work import Crm
from marque_kit.http import (
    CurrentPrincipal,
    IdempotencyDep,
    IfMatch,
    Page,
    PageQuery,
    etag,
    paginate,
    permission,
)

router = APIRouter(prefix="/api/v1/crm/complaints", tags=["complaints"])

Status = Literal["received", "acknowledged", "in_progress", "resolved", "closed"]
Severity = Literal["low", "medium", "high", "critical"]
Department = Literal["sales", "service", "parts", "finance", "other"]


class ComplaintIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    store_id: str = Field(min_length=1, max_length=20, examples=["SH01"])
    customer_id: str = Field(min_length=1, max_length=40)
    category: str = Field(
        min_length=1,
        max_length=30,
        examples=["repair_quality"],
        description="One of: " + ", ".join(CATEGORIES),
    )
    severity: Severity = Field(
        description="Time to respond (business minutes): "
        + ", ".join(f"{k} {v}" for k, v in RESPONSE_SLA_MINUTES.items())
    )
    summary: str = Field(
        min_length=1, max_length=200, examples=["保养后发动机异响 engine noise after service"]
    )
    details: str = Field("", max_length=4000)
    channel: str = Field(
        "", max_length=20, examples=["hotline_400"], description="how it reached us"
    )
    department: Department | None = Field(
        None, description="Default: the category's department (" + ", ".join(DEPARTMENTS) + ")"
    )
    assignee: str = Field("", max_length=120)
    repair_order: str = Field("", max_length=40, examples=["RO-SH01-20260302-0042"])
    vin: str = Field("", max_length=17, examples=["LGXCE4CB5R0123456"])


class ComplaintPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: Status | None = None
    resolution: str | None = Field(None, max_length=2000)
    assignee: str | None = Field(None, max_length=120)
    department: Department | None = None
    note: str = Field("", max_length=500, description="why, for the customer's timeline")


class ComplaintOut(BaseModel):
    id: str
    store_id: str
    customer_id: str
    department: str
    category: str
    severity: str
    channel: str
    summary: str
    details: str
    status: str
    respond_by: datetime | None
    responded_at: datetime | None
    overdue: bool = Field(description="not answered and respond_by has passed")
    assignee: str
    repair_order: str
    vin: str
    resolution: str
    resolved_at: datetime | None
    closed_at: datetime | None
    registered_by: str
    created_at: datetime | None
    version: int

    @classmethod
    def of(cls, c: Complaint, crm: Crm) -> ComplaintOut:
        return cls(
            id=c.id,
            store_id=c.store_id,
            customer_id=c.customer_id,
            department=c.department,
            category=c.category,
            severity=c.severity,
            channel=c.channel,
            summary=c.summary,
            details=c.details,
            status=c.status,
            respond_by=c.respond_by,
            responded_at=c.responded_at,
            overdue=svc.is_overdue(c, crm.now()),
            assignee=c.assignee,
            repair_order=c.repair_order,
            vin=c.vin,
            resolution=c.resolution,
            resolved_at=c.resolved_at,
            closed_at=c.closed_at,
            registered_by=c.registered_by,
            created_at=c.created_at,
            version=c.version,
        )


@router.post(
    "", status_code=201, response_model=ComplaintOut, dependencies=[permission(svc.CREATE)]
)
async def register(
    body: ComplaintIn, principal: CurrentPrincipal, crm: CrmDep, idem: IdempotencyDep
) -> Response:
    """Register a complaint: routed by category, `respond_by` from severity and store hours."""
    async with crm.uow() as uow:
        if replay := await idem.begin(uow.session, body):
            return replay
        complaint, event = await svc.register(
            uow.session,
            crm,
            principal,
            svc.NewComplaint(
                store_id=body.store_id,
                customer_id=body.customer_id,
                category=body.category,
                severity=body.severity,
                summary=body.summary,
                details=body.details,
                channel=body.channel,
                department=body.department,
                assignee=body.assignee,
                repair_order=body.repair_order,
                vin=body.vin,
            ),
        )
        uow.record(event)
        response = await idem.complete(
            uow.session,
            201,
            ComplaintOut.of(complaint, crm),
            headers={"ETag": etag(complaint.version)},
        )
        await uow.commit()
    return response


@router.get("", response_model=Page[ComplaintOut], dependencies=[permission(svc.READ)])
async def list_complaints(
    principal: CurrentPrincipal,
    crm: CrmDep,
    page: PageQuery,
    store_id: str | None = None,
    status: Status | None = None,
    department: Department | None = None,
    severity: Severity | None = None,
    customer_id: str | None = None,
    assignee: str | None = None,
    overdue: bool | None = None,
) -> Page[ComplaintOut]:
    """Complaints in the caller's stores, newest first; `overdue=true`: past `respond_by` with
    no response yet."""
    if store_id:
        principal.require_store(store_id, what=f"Store {store_id}")
    stmt = svc.list_query(
        principal,
        svc.ComplaintFilter(
            store_id=store_id,
            status=status,
            department=department,
            severity=severity,
            customer_id=customer_id,
            assignee=assignee,
            overdue=overdue,
        ),
        crm.now(),
    )
    async with crm.db.session() as session:
        rows, cursor = await paginate(
            session,
            stmt,
            page,
            order=(col(Complaint.created_at), col(Complaint.id)),
            descending=True,
        )
    return Page(items=[ComplaintOut.of(c, crm) for c in rows], next_cursor=cursor)


@router.get("/{complaint_id}", response_model=ComplaintOut, dependencies=[permission(svc.READ)])
async def get_complaint(
    complaint_id: str, principal: CurrentPrincipal, crm: CrmDep, response: Response
) -> ComplaintOut:
    async with crm.db.session() as session:
        complaint = await svc.get(session, principal, complaint_id)
    response.headers["ETag"] = etag(complaint.version)
    return ComplaintOut.of(complaint, crm)


@router.patch("/{complaint_id}", response_model=ComplaintOut, dependencies=[permission(svc.WRITE)])
async def change_complaint(
    complaint_id: str,
    body: ComplaintPatch,
    expected: IfMatch,
    principal: CurrentPrincipal,
    crm: CrmDep,
    response: Response,
) -> ComplaintOut:
    """Move the status, reassign, re-route or record the resolution (If-Match; 412 if stale,
    409 for an impossible move, 422 when resolving without a resolution)."""
    async with crm.uow() as uow:
        complaint = await svc.change(
            uow.session,
            crm,
            principal,
            complaint_id,
            expected,
            svc.ComplaintChange(
                status=body.status,
                resolution=body.resolution,
                assignee=body.assignee,
                department=body.department,
                note=body.note,
            ),
        )
        await uow.commit()
    response.headers["ETag"] = etag(complaint.version)
    return ComplaintOut.of(complaint, crm)
