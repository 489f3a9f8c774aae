"""Complaints (投诉): register, route, track the time to respond, move the customer-facing status.

Rules in `domain/complaints.py`; the split with aftersales in
docs/decisions/0023-complaints-split-crm-aftersales.md. Registering writes the complaint, a line
on the customer's timeline and `crm.complaint.registered` (with the repair order and VIN, so that
aftersales can open the repair side) in one transaction.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from marque.crm.v1 import events_pb2 as cev
from marque_crm import timeline_service
from marque_crm.customers_service import resolve
from marque_crm.domain import complaints as rules
from marque_crm.domain.business_time import add_business_minutes
from marque_crm.events import outgoing, timestamp
from marque_crm.models import Complaint
from marque_crm.store_rules_service import rules_of
from marque_crm.unit_of_work import Crm
from marque_kit.auth import Principal
from marque_kit.db import OutgoingEvent
from marque_kit.errors import InvalidInput, NotFound
from marque_kit.http import check_version

ROUTING_KEY = "crm.complaint.registered"
READ = "crm.complaints:read"
CREATE = "crm.complaints:create"
WRITE = "crm.complaints:write"


@dataclass(frozen=True)
class NewComplaint:
    store_id: str
    customer_id: str
    category: str
    severity: str
    summary: str
    details: str = ""
    channel: str = ""
    department: str | None = None  # default: the category's department
    assignee: str = ""
    repair_order: str = ""
    vin: str = ""


def _text(value: str, name: str, limit: int, *, required: bool = False) -> str:
    value = (value or "").strip()
    if (required and not value) or len(value) > limit:
        raise InvalidInput(
            f"{name} is {'1' if required else '0'} to {limit} characters.",
            errors=[{"field": name, "rule": "length"}],
        )
    return value


def _vin(raw: str) -> str:
    vin = (raw or "").strip().upper()
    if vin and (len(vin) != 17 or any(c in "IOQ" for c in vin) or not vin.isalnum()):
        raise InvalidInput(
            f"VIN {raw!r} is not 17 letters and digits without I, O or Q.",
            errors=[{"field": "vin", "rule": "format"}],
        )
    return vin


def complaint_registered_event(complaint: Complaint) -> OutgoingEvent:
    return outgoing(
        cev.ComplaintRegistered(
            occurred_at=timestamp(complaint.created_at),
            complaint_id=complaint.id,
            store_id=complaint.store_id,
            customer_id=complaint.customer_id,
            department=complaint.department,
            category=complaint.category,
            summary=complaint.summary,
            respond_by=timestamp(complaint.respond_by),
            repair_order=complaint.repair_order,
            vin=complaint.vin,
        ),
        ROUTING_KEY,
        subject=complaint.id,
        store_id=complaint.store_id,
        seq=complaint.version,
    )


async def register(
    session: AsyncSession, crm: Crm, principal: Principal, new: NewComplaint
) -> tuple[Complaint, OutgoingEvent]:
    """Take the complaint in; returns it and the event to record on the unit of work."""
    principal.require_store(new.store_id, what=f"Store {new.store_id}")
    routing = rules.route(new.category, new.severity, new.department)
    summary = _text(new.summary, "summary", 200, required=True)
    details = _text(new.details, "details", 4000)
    channel = _text(new.channel, "channel", 20)
    assignee = _text(new.assignee, "assignee", 120)
    repair_order = _text(new.repair_order, "repair_order", 40)
    vin = _vin(new.vin)
    customer = await resolve(session, new.customer_id)
    now = crm.now()
    store_rules = await rules_of(session, new.store_id)
    respond_by = add_business_minutes(now, routing.response_minutes, store_rules.hours, crm.zone)
    complaint = Complaint(
        id=str(uuid.uuid4()),
        store_id=new.store_id,
        customer_id=customer.id,
        department=routing.department,
        category=new.category,
        severity=new.severity,
        channel=channel,
        summary=summary,
        details=details,
        status="received",
        respond_by=respond_by,
        assignee=assignee,
        repair_order=repair_order,
        vin=vin,
        registered_by=principal.subject,
        created_at=now,
        updated_at=now,
    )
    session.add(complaint)
    await session.flush()
    await timeline_service.append(
        session,
        crm,
        customer_id=customer.id,
        store_id=new.store_id,
        kind="system",
        summary=f"投诉 complaint registered ({routing.department}, {new.severity}): {summary}",
        actor=principal.subject,
        at=now,
        ref=f"complaint:{complaint.id}",
    )
    return complaint, complaint_registered_event(complaint)


def visible(principal: Principal) -> ColumnElement[bool]:
    stores = principal.store_filter()
    if stores is None:
        return true()
    return col(Complaint.store_id).in_(stores)


async def get(
    session: AsyncSession, principal: Principal, complaint_id: str, *, lock: bool = False
) -> Complaint:
    stmt = select(Complaint).where(col(Complaint.id) == complaint_id, visible(principal))
    if lock:
        stmt = stmt.with_for_update()
    complaint = (await session.execute(stmt)).scalars().first()
    if complaint is None:
        raise NotFound(f"No complaint {complaint_id} in your stores.")
    return complaint


def overdue_clause(now: datetime) -> ColumnElement[bool]:
    """Not yet answered, and the time to respond has passed."""
    return and_(col(Complaint.status) == "received", col(Complaint.respond_by) < now)


def is_overdue(complaint: Complaint, now: datetime) -> bool:
    return (
        complaint.status == "received"
        and complaint.respond_by is not None
        and complaint.respond_by < now
    )


@dataclass(frozen=True)
class ComplaintFilter:
    store_id: str | None = None
    status: str | None = None
    department: str | None = None
    severity: str | None = None
    customer_id: str | None = None
    assignee: str | None = None
    overdue: bool | None = None


def list_query(principal: Principal, f: ComplaintFilter, now: datetime) -> Select[Any]:
    stmt = select(Complaint).where(visible(principal))
    if f.store_id:
        stmt = stmt.where(col(Complaint.store_id) == f.store_id)
    for name in ("status", "department", "severity", "customer_id", "assignee"):
        value = getattr(f, name)
        if value:
            stmt = stmt.where(getattr(Complaint, name) == value)
    if f.overdue is True:
        stmt = stmt.where(overdue_clause(now))
    elif f.overdue is False:
        stmt = stmt.where(~overdue_clause(now))
    return stmt


@dataclass(frozen=True)
class ComplaintChange:
    status: str | None = None
    resolution: str | None = None
    assignee: str | None = None
    department: str | None = None
    note: str = ""


async def change(
    session: AsyncSession,
    crm: Crm,
    principal: Principal,
    complaint_id: str,
    expected_version: int,
    what: ComplaintChange,
) -> Complaint:
    """Move the status (and/or reassign, re-route, record the resolution), If-Match guarded."""
    complaint = await get(session, principal, complaint_id, lock=True)
    check_version(complaint.version, expected_version)
    now = crm.now()
    if what.resolution is not None:
        complaint.resolution = _text(what.resolution, "resolution", 2000)
    if what.assignee is not None:
        complaint.assignee = _text(what.assignee, "assignee", 120)
    if what.department is not None:
        if what.department not in rules.DEPARTMENTS:
            raise InvalidInput(
                f"Department {what.department!r} is not one of {', '.join(rules.DEPARTMENTS)}.",
                errors=[{"field": "department", "rule": "enum"}],
            )
        complaint.department = what.department
    previous = complaint.status
    if what.status is not None and what.status != previous:
        rules.check_move(previous, what.status, complaint.resolution)
        if rules.is_response(previous, what.status):
            complaint.responded_at = now
        if what.status == "resolved":
            complaint.resolved_at = now
        if what.status == "closed":
            complaint.closed_at = now
        if what.status == "in_progress":
            complaint.resolved_at = None
        complaint.status = what.status
        note = _text(what.note, "note", 500)
        await timeline_service.append(
            session,
            crm,
            customer_id=complaint.customer_id,
            store_id=complaint.store_id,
            kind="system",
            summary=f"投诉 complaint {previous} → {what.status}"
            + (f": {complaint.resolution}" if what.status == "resolved" else "")
            + (f" ({note})" if note else ""),
            actor=principal.subject,
            at=now,
            ref=f"complaint:{complaint.id}",
        )
    complaint.version += 1
    complaint.updated_at = now
    await session.flush()
    return complaint
