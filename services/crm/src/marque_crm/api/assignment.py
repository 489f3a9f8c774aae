"""Lead assignment over HTTP: the store's roster (on duty, on leave), its CRM rules (strategy,
routes, SLA, hours, follow-up rhythm, reasons), manual reassignment, a lead's assignment history
and the store's first-contact SLA breaches.

Managers (sales_manager, store_manager) and HQ run the roster, the rules and reassignment; a
sales consultant may read the assignment history of their own leads. Another store answers 404.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated

from fastapi import APIRouter, Header, Path, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlmodel import col

from marque_crm.api.deps import CrmDep
from marque_crm.assignment_service import reassign
from marque_crm.domain.assignment import ROLES
from marque_crm.domain.leads import CHANNELS
from marque_crm.domain.store_rules import (
    DEFAULT_FOLLOW_UP_DAYS,
    DEFAULT_INVALID_REASONS,
    DEFAULT_LOST_REASONS,
    BusinessHours,
    StoreRules,
)
from marque_crm.leads_service import get_lead
from marque_crm.models import Assignment, Consultant, SlaEscalation, StoreRulesRow
from marque_crm.store_rules_service import rules_from_json, rules_to_json
from marque_kit.errors import InvalidInput, PreconditionRequired
from marque_kit.http import (
    CurrentPrincipal,
    Day,
    IdempotencyDep,
    IfMatch,
    Instant,
    Page,
    PageQuery,
    check_version,
    etag,
    paginate,
    parse_if_match,
    permission,
)

router = APIRouter(prefix="/api/v1/crm", tags=["assignment"])

ROSTER_READ = "crm.consultants:read"
ROSTER_WRITE = "crm.consultants:write"
RULES_READ = "crm.rules:read"
RULES_WRITE = "crm.rules:write"
REASSIGN = "crm.assignments:write"
BREACHES_READ = "crm.assignments:read"
# A store id as written to the roster and rules tables (VARCHAR(20)).
StorePath = Annotated[str, Path(min_length=1, max_length=20, examples=["SH01"])]


# ---- Roster -----------------------------------------------------------------------------------


class ConsultantIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200, examples=["李娜"])
    role: str = Field("consultant", description="consultant | manager", examples=["consultant"])
    on_duty: bool = True
    on_leave_from: Day | None = Field(None, description="First day away (included)")
    on_leave_until: Day | None = Field(None, description="Last day away (included)")
    max_open_leads: int | None = Field(None, ge=1, le=10_000, description="Cap; none: no cap")


class ConsultantOut(BaseModel):
    store_id: str
    subject: str
    name: str
    role: str
    on_duty: bool
    on_leave_from: date | None
    on_leave_until: date | None
    on_leave_today: bool
    max_open_leads: int | None
    updated_at: datetime | None
    updated_by: str
    version: int


def _consultant_out(row: Consultant, today: date) -> ConsultantOut:
    starts = row.on_leave_from or date.min
    ends = row.on_leave_until or date.max
    away = (row.on_leave_from is not None or row.on_leave_until is not None) and (
        starts <= today <= ends
    )
    return ConsultantOut(
        store_id=row.store_id,
        subject=row.subject,
        name=row.name,
        role=row.role,
        on_duty=row.on_duty,
        on_leave_from=row.on_leave_from,
        on_leave_until=row.on_leave_until,
        on_leave_today=away,
        max_open_leads=row.max_open_leads,
        updated_at=row.updated_at,
        updated_by=row.updated_by,
        version=row.version,
    )


@router.get(
    "/stores/{store_id}/consultants",
    response_model=Page[ConsultantOut],
    dependencies=[permission(ROSTER_READ)],
)
async def list_consultants(
    store_id: str, principal: CurrentPrincipal, crm: CrmDep, page: PageQuery
) -> Page[ConsultantOut]:
    """The store's roster: consultants and managers, on duty or not, and their leave."""
    principal.require_store(store_id, what=f"Store {store_id}")
    stmt = select(Consultant).where(col(Consultant.store_id) == store_id)
    async with crm.db.session() as session:
        rows, cursor = await paginate(session, stmt, page, order=(col(Consultant.subject),))
    today = crm.today()
    return Page(items=[_consultant_out(r, today) for r in rows], next_cursor=cursor)


@router.put(
    "/stores/{store_id}/consultants/{subject}",
    response_model=ConsultantOut,
    dependencies=[permission(ROSTER_WRITE)],
)
async def put_consultant(
    store_id: StorePath,
    subject: str,
    body: ConsultantIn,
    principal: CurrentPrincipal,
    crm: CrmDep,
    response: Response,
    if_match: Annotated[str | None, Header()] = None,
) -> ConsultantOut:
    """Add someone to the roster, or change them (on duty, leave): an existing entry needs
    If-Match with the version you read."""
    principal.require_store(store_id, what=f"Store {store_id}")
    subject = subject.strip()
    if not subject or len(subject) > 120:
        raise InvalidInput(
            "The consultant's subject (their user id) is 1 to 120 characters.",
            errors=[{"field": "subject", "location": "path", "rule": "length"}],
        )
    if body.role not in ROLES:
        raise InvalidInput(
            f"Role {body.role!r} is not one of {', '.join(ROLES)}.",
            errors=[{"field": "role", "rule": "enum"}],
        )
    if body.on_leave_from and body.on_leave_until and body.on_leave_until < body.on_leave_from:
        raise InvalidInput(
            f"Leave ends ({body.on_leave_until}) before it starts ({body.on_leave_from}).",
            errors=[{"field": "on_leave_until", "rule": "after_on_leave_from"}],
        )
    now = crm.now()
    values = {
        "name": body.name.strip(),
        "role": body.role,
        "on_duty": body.on_duty,
        "on_leave_from": body.on_leave_from,
        "on_leave_until": body.on_leave_until,
        "max_open_leads": body.max_open_leads,
        "updated_at": now,
        "updated_by": principal.subject,
    }
    async with crm.uow() as uow:
        session = uow.session
        row = (
            (
                await session.execute(
                    select(Consultant)
                    .where(col(Consultant.store_id) == store_id, col(Consultant.subject) == subject)
                    .with_for_update()
                )
            )
            .scalars()
            .first()
        )
        if row is None:
            inserted = await session.execute(
                pg_insert(Consultant)
                .values(store_id=store_id, subject=subject, version=1, **values)
                .on_conflict_do_nothing()
                .returning(col(Consultant.subject))
            )
            if inserted.first() is None:
                raise PreconditionRequired(
                    f"{subject} was just added to store {store_id} by someone else; GET the "
                    "roster and send your change with If-Match naming the version you read."
                )
            response.status_code = 201
            row = await session.get(Consultant, (store_id, subject))
            assert row is not None
        else:
            check_version(row.version, parse_if_match(if_match))
            for key, value in values.items():
                setattr(row, key, value)
            row.version += 1
            session.add(row)
        await session.flush()
        out = _consultant_out(row, crm.today())
        await uow.commit()
    response.headers["ETag"] = etag(out.version)
    return out


# ---- Store rules ------------------------------------------------------------------------------


class HoursIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    opens: str = Field("09:00", examples=["09:00"], description="HH:MM, local time")
    closes: str = Field("18:00", examples=["18:00"])
    weekdays: list[int] = Field(
        default_factory=lambda: [1, 2, 3, 4, 5, 6, 7], description="ISO 1 = Monday"
    )


class RulesIn(BaseModel):
    """The store's CRM rules (full replacement; a field left out takes the group default)."""

    model_config = ConfigDict(extra="forbid")
    follow_up_days: dict[str, int] = Field(
        default_factory=lambda: dict(DEFAULT_FOLLOW_UP_DAYS), examples=[DEFAULT_FOLLOW_UP_DAYS]
    )
    sla_minutes: int = Field(30, description="First contact within N business minutes")
    reassign_on_sla_breach: bool = False
    hours: HoursIn = Field(default_factory=HoursIn)
    strategy: str = Field("round_robin", examples=["by_channel"])
    routes: dict[str, list[str]] = Field(
        default_factory=dict,
        description="by_channel: channel → subjects; by_model: model code → subjects",
        examples=[{"autohome": ["sh.li", "sh.wang"]}],
    )
    lost_reasons: list[str] = Field(default_factory=lambda: list(DEFAULT_LOST_REASONS))
    invalid_reasons: list[str] = Field(default_factory=lambda: list(DEFAULT_INVALID_REASONS))


class HoursOut(BaseModel):
    opens: str
    closes: str
    weekdays: list[int]


class RulesOut(BaseModel):
    store_id: str
    follow_up_days: dict[str, int]
    sla_minutes: int
    reassign_on_sla_breach: bool
    hours: HoursOut
    strategy: str
    routes: dict[str, list[str]]
    lost_reasons: list[str]
    invalid_reasons: list[str]
    # 0: the store runs on the group defaults (no rules saved yet).
    version: int
    updated_at: datetime | None = None
    updated_by: str = ""


def _rules_out(rules: StoreRules, row: StoreRulesRow | None) -> RulesOut:
    data = rules_to_json(rules)
    return RulesOut(
        store_id=rules.store_id,
        follow_up_days=data["follow_up_days"],
        sla_minutes=data["sla_minutes"],
        reassign_on_sla_breach=data["reassign_on_sla_breach"],
        hours=HoursOut(**data["hours"]),
        strategy=data["strategy"],
        routes=data["routes"],
        lost_reasons=data["lost_reasons"],
        invalid_reasons=data["invalid_reasons"],
        version=row.version if row else 0,
        updated_at=row.updated_at if row else None,
        updated_by=row.updated_by if row else "",
    )


def _time(value: str, name: str) -> time:
    try:
        parsed = time.fromisoformat(value)
    except ValueError as exc:
        raise InvalidInput(
            f"hours.{name} must be a time of day as HH:MM (got {value!r}).",
            errors=[{"field": f"hours.{name}", "rule": "format"}],
        ) from exc
    return parsed.replace(second=0, microsecond=0, tzinfo=None)


def _reasons(values: list[str], name: str) -> tuple[str, ...]:
    cleaned = tuple(v.strip() for v in values)
    if (
        not cleaned
        or any(not v or len(v) > 60 for v in cleaned)
        or len(set(cleaned)) != len(cleaned)
    ):
        raise InvalidInput(
            f"{name} needs at least one reason code, each 1-60 characters and none twice.",
            errors=[{"field": name, "rule": "codes"}],
        )
    return cleaned


def _check_routes(
    strategy: str, routes: dict[str, list[str]], roster: set[str], store_id: str
) -> dict[str, list[str]]:
    for key, subjects in routes.items():
        if strategy == "by_channel" and key not in CHANNELS:
            raise InvalidInput(
                f"Route {key!r} is not a lead channel; by_channel routes use "
                f"{', '.join(CHANNELS)}.",
                errors=[{"field": "routes", "rule": "channel", "key": key}],
            )
        if not key.strip() or not subjects:
            raise InvalidInput(
                f"Route {key!r} needs a key and at least one consultant.",
                errors=[{"field": "routes", "rule": "non_empty", "key": key}],
            )
        strangers = sorted(set(subjects) - roster)
        if strangers:
            raise InvalidInput(
                f"Route {key!r} names {', '.join(strangers)}, not on store {store_id}'s roster; "
                f"add them with PUT /api/v1/crm/stores/{store_id}/consultants/{{subject}} first.",
                errors=[{"field": "routes", "rule": "consultant_of_store", "key": key}],
            )
    return {k: sorted(set(v)) for k, v in routes.items()}


@router.get(
    "/stores/{store_id}/rules", response_model=RulesOut, dependencies=[permission(RULES_READ)]
)
async def get_rules(
    store_id: str, principal: CurrentPrincipal, crm: CrmDep, response: Response
) -> RulesOut:
    """The store's CRM rules (the group defaults until a manager saves some); ETag = version."""
    principal.require_store(store_id, what=f"Store {store_id}")
    async with crm.db.session() as session:
        row = await session.get(StoreRulesRow, store_id)
    rules = rules_from_json(store_id, row.rules) if row else StoreRules(store_id)
    out = _rules_out(rules, row)
    response.headers["ETag"] = etag(out.version)
    return out


@router.put(
    "/stores/{store_id}/rules", response_model=RulesOut, dependencies=[permission(RULES_WRITE)]
)
async def put_rules(
    store_id: StorePath,
    body: RulesIn,
    principal: CurrentPrincipal,
    crm: CrmDep,
    version: IfMatch,
    response: Response,
) -> RulesOut:
    """Replace the store's rules. If-Match: the version you read ("0" while on the defaults)."""
    principal.require_store(store_id, what=f"Store {store_id}")
    hours = BusinessHours(
        opens=_time(body.hours.opens, "opens"),
        closes=_time(body.hours.closes, "closes"),
        weekdays=tuple(sorted(set(body.hours.weekdays))),
    )
    async with crm.uow() as uow:
        session = uow.session
        roster = set(
            (
                await session.execute(
                    select(col(Consultant.subject)).where(col(Consultant.store_id) == store_id)
                )
            )
            .scalars()
            .all()
        )
        rules = StoreRules(
            store_id=store_id,
            follow_up_days=dict(body.follow_up_days),
            sla_minutes=body.sla_minutes,
            reassign_on_sla_breach=body.reassign_on_sla_breach,
            hours=hours,
            strategy=body.strategy,
            routes=_check_routes(body.strategy, body.routes, roster, store_id),
            lost_reasons=_reasons(body.lost_reasons, "lost_reasons"),
            invalid_reasons=_reasons(body.invalid_reasons, "invalid_reasons"),
        )
        row = (
            (
                await session.execute(
                    select(StoreRulesRow)
                    .where(col(StoreRulesRow.store_id) == store_id)
                    .with_for_update()
                )
            )
            .scalars()
            .first()
        )
        check_version(row.version if row else 0, version)
        now = crm.now()
        if row is None:
            inserted = await session.execute(
                pg_insert(StoreRulesRow)
                .values(
                    store_id=store_id,
                    rules=rules_to_json(rules),
                    updated_at=now,
                    updated_by=principal.subject,
                    version=1,
                )
                .on_conflict_do_nothing()
                .returning(col(StoreRulesRow.store_id))
            )
            if inserted.first() is None:
                check_version(1, version)  # saved by someone else a moment ago: 412
            row = await session.get(StoreRulesRow, store_id)
            assert row is not None
        else:
            row.rules = rules_to_json(rules)
            row.updated_at = now
            row.updated_by = principal.subject
            row.version += 1
            session.add(row)
        await session.flush()
        out = _rules_out(rules, row)
        await uow.commit()
    response.headers["ETag"] = etag(out.version)
    return out


# ---- Reassignment and history -----------------------------------------------------------------


class ReassignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    to: str = Field(min_length=1, max_length=120, description="Consultant subject")
    reason: str = Field(min_length=1, max_length=500, examples=["客户要求更换顾问"])


class AssignmentOut(BaseModel):
    id: int
    lead_id: str
    store_id: str
    assignee: str
    previous: str
    strategy: str
    reason: str
    actor: str
    at: datetime


class ReassignOut(BaseModel):
    lead_id: str
    store_id: str
    assigned_to: str
    assigned_at: datetime | None
    version: int


@router.post(
    "/leads/{lead_id}/reassign", response_model=ReassignOut, dependencies=[permission(REASSIGN)]
)
async def reassign_lead(
    lead_id: str,
    body: ReassignIn,
    principal: CurrentPrincipal,
    crm: CrmDep,
    idem: IdempotencyDep,
) -> Response:
    """A manager hands the lead to another consultant of its store, saying why."""
    async with crm.uow() as uow:
        if replay := await idem.begin(uow.session, body):
            return replay
        await get_lead(uow.session, principal, lead_id, for_update=True)
        lead = await reassign(
            uow.session, crm, lead_id, body.to.strip(), body.reason, principal.subject
        )
        out = ReassignOut(
            lead_id=lead.id,
            store_id=lead.store_id,
            assigned_to=lead.assigned_to,
            assigned_at=lead.assigned_at,
            version=lead.version,
        )
        response = await idem.complete(uow.session, 200, out, headers={"ETag": etag(out.version)})
        await uow.commit()
    return response


@router.get(
    "/leads/{lead_id}/assignments",
    response_model=Page[AssignmentOut],
    dependencies=[permission("crm.leads:read")],
)
async def lead_assignments(
    lead_id: str, principal: CurrentPrincipal, crm: CrmDep, page: PageQuery
) -> Page[AssignmentOut]:
    """Every owner change of the lead, oldest first, with strategy, reason and who did it."""
    async with crm.db.session() as session:
        await get_lead(session, principal, lead_id)
        stmt = select(Assignment).where(col(Assignment.lead_id) == lead_id)
        rows, cursor = await paginate(
            session, stmt, page, order=(col(Assignment.at), col(Assignment.id))
        )
    return Page(
        items=[AssignmentOut.model_validate(r.model_dump()) for r in rows], next_cursor=cursor
    )


class SlaBreachOut(BaseModel):
    id: int
    lead_id: str
    store_id: str
    assignee: str
    escalated_to: list[str]
    sla_minutes: int
    elapsed_minutes: int
    reassigned_to: str
    at: datetime


@router.get(
    "/stores/{store_id}/sla-breaches",
    response_model=Page[SlaBreachOut],
    dependencies=[permission(BREACHES_READ)],
)
async def sla_breaches(
    store_id: str,
    principal: CurrentPrincipal,
    crm: CrmDep,
    page: PageQuery,
    since: Instant | None = None,
) -> Page[SlaBreachOut]:
    """First contacts that came late in the store, newest first; `since` narrows the list."""
    principal.require_store(store_id, what=f"Store {store_id}")
    stmt = select(SlaEscalation).where(col(SlaEscalation.store_id) == store_id)
    if since is not None:
        if since.tzinfo is None:
            raise InvalidInput(
                "since needs a time zone, e.g. 2026-03-04T09:00:00+08:00.",
                errors=[{"field": "since", "location": "query", "rule": "timezone"}],
            )
        stmt = stmt.where(col(SlaEscalation.at) >= since)
    async with crm.db.session() as session:
        rows, cursor = await paginate(
            session,
            stmt,
            page,
            order=(col(SlaEscalation.at), col(SlaEscalation.id)),
            descending=True,
        )
    items = [
        SlaBreachOut(
            id=r.id or 0,
            lead_id=r.lead_id,
            store_id=r.store_id,
            assignee=r.assignee,
            escalated_to=[s for s in r.escalated_to.split(",") if s],
            sla_minutes=r.sla_minutes,
            elapsed_minutes=r.elapsed_minutes,
            reassigned_to=r.reassigned_to,
            at=r.at or crm.now(),
        )
        for r in rows
    ]
    return Page(items=items, next_cursor=cursor)
