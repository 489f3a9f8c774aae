"""Leads (线索): intake from every channel, the funnel, and who may see what.

Intake (`create_lead`) is the one path for a new enquiry, whether typed by a consultant, pushed by
a lead portal's API key, sent as ADF/XML or imported:

1. A partner resending its own lead (same channel and `source_ref`) gets the same lead back.
2. The customer is found or created through `customers_service.find_or_create` (one per person).
3. DUPLICATE RULE: when that customer already has an OPEN lead in the same store, the enquiry is
   attached to it (`duplicate_count` + 1, blanks filled in, a timeline note "repeat enquiry via
   <channel>") and no event is emitted: one person, one open lead, no noise. A database index
   keeps this true when two channels race.
4. Otherwise a lead is created (walk-ins start at `visited`), `LeadCreated` is emitted, the store's
   assignment rules pick an owner (`assignment_service.assign_new_lead`) and the follow-up rhythm
   starts (`tasks_service.on_lead_created`).

Each status move is checked by `domain.leads` (the funnel rules), recorded as a `LeadTransition`,
put on the customer's timeline and emitted as `LeadStatusChanged`.

Object-level access: HQ sees every lead, managers (sales_manager, store_manager) their stores'
leads, anyone else (a sales consultant) only the leads assigned to them. Everything else is 404.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime
from itertools import pairwise
from typing import Any, Literal

from sqlalchemy import ColumnElement, and_, case, func, select, true
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from marque.crm.v1 import crm_pb2
from marque.crm.v1 import events_pb2 as cev
from marque_crm import tasks_service, timeline_service
from marque_crm.customers_service import NewCustomer, find_or_create
from marque_crm.domain.leads import (
    CLOSED,
    FUNNEL,
    OPEN,
    PARTNER_CHANNELS,
    STATUSES,
    WON,
    Funnel,
    LeadDetails,
    Transition,
    check_channel,
    check_status,
    trade_in_of,
)
from marque_crm.events import outgoing, timestamp
from marque_crm.models import Lead, LeadTransition
from marque_crm.models.customers import lineage_ids
from marque_crm.store_rules_service import rules_of
from marque_crm.unit_of_work import Crm
from marque_kit.auth import Principal
from marque_kit.db import OutgoingEvent, write_outbox
from marque_kit.errors import Conflict, InvalidInput, NotFound
from marque_kit.http import check_version
from marque_kit.metrics import business_events
from marque_kit.permissions import MANAGER_ROLES

SOURCE = "marque/crm"
READ = "crm.leads:read"
CREATE = "crm.leads:create"
WRITE = "crm.leads:write"

# ---- Intake -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewLead:
    store_id: str
    channel: str
    name: str
    mobile: str
    details: LeadDetails = field(default_factory=LeadDetails)
    kind: str = "person"
    national_id: str = ""
    source_ref: str = ""  # the partner's own lead id
    actor: str = ""  # who took it in (principal label)


@dataclass(frozen=True)
class Intake:
    """What happened to an enquiry: a new lead, attached to the customer's open lead, or a
    partner's resend of a lead it had already sent."""

    lead: Lead
    outcome: Literal["created", "attached", "resent"]
    customer_created: bool = False

    @property
    def duplicate_of(self) -> str | None:
        return self.lead.id if self.outcome == "attached" else None


def check_partner_lead(principal: Principal, channel: str, source_ref: str) -> None:
    """A lead portal's key pushes its own portal's leads, each with the portal's lead id."""
    if principal.kind != "partner":
        return
    if channel not in PARTNER_CHANNELS:
        raise InvalidInput(
            f"A partner key pushes leads of a lead portal: channel must be one of "
            f"{', '.join(PARTNER_CHANNELS)} (got {channel!r}).",
            errors=[{"field": "channel", "rule": "partner_channel"}],
        )
    if not source_ref:
        raise InvalidInput(
            "A partner lead needs source_ref, your own id for the lead, so that a resend "
            "finds the same lead instead of making another.",
            errors=[{"field": "source_ref", "rule": "required"}],
        )


async def create_lead(session: AsyncSession, crm: Crm, new: NewLead) -> Intake:
    """Take in one enquiry (see the module docstring); the caller commits."""
    check_channel(new.channel)
    details = new.details.checked(crm.today())
    source_ref = new.source_ref.strip()
    if len(source_ref) > 120:
        raise InvalidInput(
            "source_ref is at most 120 characters.",
            errors=[{"field": "source_ref", "rule": "length"}],
        )
    if source_ref and (resent := await _by_source_ref(session, new.channel, source_ref)):
        return Intake(resent, "resent")
    found = await find_or_create(
        session,
        crm,
        NewCustomer(
            store_id=new.store_id,
            name=new.name,
            mobile=new.mobile,
            kind=new.kind,
            national_id=new.national_id,
            source=new.channel,
        ),
    )
    customer_id = found.customer.id
    if (open_lead := await open_lead_of(session, new.store_id, customer_id)) is not None:
        await _attach(session, crm, open_lead, new, details)
        return Intake(open_lead, "attached", found.created)
    rules = await rules_of(session, new.store_id)
    now = crm.now()
    funnel = Funnel.start(new.channel, now, new.actor, rules.hours, crm.zone)
    lead_id = str(uuid.uuid4())
    inserted = await session.execute(
        pg_insert(Lead)
        .values(
            id=lead_id,
            store_id=new.store_id,
            customer_id=customer_id,
            channel=new.channel,
            status=funnel.status,
            grade=details.grade,
            model_code=details.model_code,
            trim_code=details.trim_code,
            budget_min_fen=details.budget_min_fen,
            budget_max_fen=details.budget_max_fen,
            timeframe=details.timeframe,
            payment_intention=details.payment_intention,
            trade_in=details.trade_in.as_json() if details.trade_in else None,
            comments=details.comments,
            first_contacted_at=funnel.first_contacted_at,
            first_response_business_minutes=funnel.first_response_business_minutes,
            first_response_after_hours=funnel.after_hours,
            source_ref=source_ref,
            last_enquiry_at=now,
            created_by=new.actor,
            created_at=now,
            updated_at=now,
            version=1,
        )
        .on_conflict_do_nothing()
        .returning(col(Lead.id))
    )
    if inserted.first() is None:
        # Another request took in this customer (or this partner lead) a moment ago.
        if source_ref and (resent := await _by_source_ref(session, new.channel, source_ref)):
            return Intake(resent, "resent")
        open_lead = await open_lead_of(session, new.store_id, customer_id)
        if open_lead is None:
            raise Conflict("The lead is being taken in by another request; try again.")
        await _attach(session, crm, open_lead, new, details)
        return Intake(open_lead, "attached")
    lead = await session.get(Lead, lead_id)
    assert lead is not None
    _add_transitions(session, lead, funnel.transitions)
    await write_outbox(session, [lead_created_event(lead, now)], source=SOURCE)
    await _timeline(
        session,
        crm,
        lead,
        f"New lead via {lead.channel}"
        + (f" for {lead.model_code}" if lead.model_code else "")
        + f" (grade {lead.grade}, {lead.status})",
        new.actor,
    )
    await _assign(session, crm, lead)
    await _on_created(session, crm, lead)
    business_events.labels("crm", "lead_created").inc()
    return Intake(lead, "created", found.created)


async def _by_source_ref(session: AsyncSession, channel: str, source_ref: str) -> Lead | None:
    rows = await session.execute(
        select(Lead).where(col(Lead.channel) == channel, col(Lead.source_ref) == source_ref)
    )
    return rows.scalars().first()


async def open_lead_of(session: AsyncSession, store_id: str, customer_id: str) -> Lead | None:
    """The customer's open lead in the store (locked for update), if any — including one opened
    under a record since merged into this customer."""
    rows = await session.execute(
        select(Lead)
        .where(
            col(Lead.store_id) == store_id,
            col(Lead.customer_id).in_(lineage_ids(customer_id)),
            col(Lead.status).in_(OPEN),
        )
        .with_for_update()
    )
    return rows.scalars().first()


async def _attach(
    session: AsyncSession, crm: Crm, lead: Lead, new: NewLead, details: LeadDetails
) -> None:
    """A repeat enquiry: count it, fill in what the lead did not know yet, note it; no event."""
    lead.duplicate_count += 1
    lead.last_enquiry_at = crm.now()
    for name in ("model_code", "trim_code", "payment_intention", "comments"):
        if not getattr(lead, name) and getattr(details, name):
            setattr(lead, name, getattr(details, name))
    if lead.budget_min_fen is None and lead.budget_max_fen is None:
        lead.budget_min_fen, lead.budget_max_fen = details.budget_min_fen, details.budget_max_fen
    if lead.timeframe == "unknown" and details.timeframe != "unknown":
        lead.timeframe = details.timeframe
    if lead.trade_in is None and details.trade_in is not None:
        lead.trade_in = details.trade_in.as_json()
    lead.version += 1
    lead.updated_at = crm.now()
    session.add(lead)
    await session.flush()
    await _timeline(session, crm, lead, f"Repeat enquiry via {new.channel}", new.actor)
    business_events.labels("crm", "lead_duplicate_attached").inc()


# ---- Reading, with object-level access ---------------------------------------------------------


def is_manager(principal: Principal) -> bool:
    return principal.is_hq or bool(MANAGER_ROLES.intersection(principal.roles))


def visible_leads(principal: Principal) -> ColumnElement[bool]:
    """HQ: every lead; managers: their stores; everyone else: the leads assigned to them."""
    clauses: list[ColumnElement[bool]] = []
    stores = principal.store_filter()
    if stores is not None:
        clauses.append(col(Lead.store_id).in_(stores))
    if not is_manager(principal):
        clauses.append(col(Lead.assigned_to) == principal.subject)
    return and_(true(), *clauses)


def can_see(principal: Principal, lead: Lead) -> bool:
    if not principal.sees_store(lead.store_id):
        return False
    return is_manager(principal) or lead.assigned_to == principal.subject


async def get_lead(
    session: AsyncSession, principal: Principal, lead_id: str, *, for_update: bool = False
) -> Lead:
    """The lead if the caller may see it, else 404 (never saying whether it exists)."""
    stmt = select(Lead).where(col(Lead.id) == lead_id)
    if for_update:
        stmt = stmt.with_for_update()
    lead = (await session.execute(stmt)).scalars().first()
    if lead is None or not can_see(principal, lead):
        raise NotFound(f"Lead {lead_id} was not found among the leads you can see.")
    return lead


async def transitions_of(session: AsyncSession, lead_id: str) -> list[LeadTransition]:
    rows = await session.execute(
        select(LeadTransition)
        .where(col(LeadTransition.lead_id) == lead_id)
        .order_by(col(LeadTransition.at), col(LeadTransition.id))
    )
    return list(rows.scalars().all())


# ---- Changing a lead ---------------------------------------------------------------------------


def funnel_of(lead: Lead) -> Funnel:
    assert lead.created_at is not None
    return Funnel(
        status=lead.status,
        created_at=lead.created_at,
        first_contacted_at=lead.first_contacted_at,
        first_response_business_minutes=lead.first_response_business_minutes,
        after_hours=lead.first_response_after_hours,
        closed_at=lead.closed_at,
        closed_reason=lead.closed_reason,
    )


def _apply(lead: Lead, funnel: Funnel) -> None:
    lead.status = funnel.status
    lead.first_contacted_at = funnel.first_contacted_at
    lead.first_response_business_minutes = funnel.first_response_business_minutes
    lead.closed_at = funnel.closed_at
    lead.closed_reason = funnel.closed_reason


async def change_status(
    session: AsyncSession,
    crm: Crm,
    principal: Principal,
    lead_id: str,
    expected_version: int,
    to: str,
    reason: str = "",
) -> Lead:
    """Move a visible lead along the funnel (If-Match version); the caller commits."""
    lead = await get_lead(session, principal, lead_id, for_update=True)
    check_version(lead.version, expected_version)
    return await move_lead(
        session,
        crm,
        lead,
        to,
        actor=principal.subject,
        reason=reason,
        manager=principal.is_manager_of(lead.store_id),
    )


async def move_lead(
    session: AsyncSession,
    crm: Crm,
    lead: Lead,
    to: str,
    *,
    actor: str,
    reason: str = "",
    manager: bool = False,
) -> Lead:
    """Move `lead` (loaded for update) to `to` by the funnel rules: transition row, timeline
    entry, LeadStatusChanged, follow-up hook. For other CRM code (a logged visit, a sale)."""
    check_status(to)
    rules = await rules_of(session, lead.store_id)
    funnel = funnel_of(lead)
    previous_status, previous_grade = lead.status, lead.grade
    now = crm.now()
    transition = funnel.move(
        to, at=now, actor=actor, reason=reason, rules=rules, zone=crm.zone, manager=manager
    )
    if previous_status in CLOSED and to not in CLOSED:
        other = await open_lead_of(session, lead.store_id, lead.customer_id)
        if other is not None:
            raise Conflict(
                f"The customer already has an open lead in this store ({other.id}); "
                "follow up on that one instead of reopening this.",
            )
    _apply(lead, funnel)
    lead.version += 1
    lead.updated_at = now
    session.add(lead)
    _add_transitions(session, lead, [transition])
    try:
        await session.flush()
    except IntegrityError as exc:
        raise Conflict(
            "The customer got another open lead in this store meanwhile; reload and try again."
        ) from exc
    await write_outbox(session, [lead_status_changed_event(lead, transition)], source=SOURCE)
    summary = f"Lead {previous_status} → {to}" + (f" ({transition.reason})" if reason else "")
    await _timeline(session, crm, lead, summary, actor)
    await _on_changed(session, crm, lead, previous_status, previous_grade)
    business_events.labels("crm", f"lead_{to}").inc()
    return lead


async def record_contact(
    session: AsyncSession, crm: Crm, lead: Lead, *, at: datetime, actor: str
) -> bool:
    """A call or visit with the customer was logged: the first one is the lead's first contact
    (first-response time), and a `new` lead becomes `contacted`. True when it was the first."""
    if lead.status == "new":
        await move_lead(session, crm, lead, "contacted", actor=actor)
        return True
    if lead.first_contacted_at is not None:
        return False
    rules = await rules_of(session, lead.store_id)
    funnel = funnel_of(lead)
    funnel.contact(at, rules.hours, crm.zone)
    _apply(lead, funnel)
    lead.version += 1
    lead.updated_at = crm.now()
    session.add(lead)
    await session.flush()
    return True


EDITABLE = (
    "model_code",
    "trim_code",
    "budget_min_fen",
    "budget_max_fen",
    "timeframe",
    "payment_intention",
    "trade_in",
    "grade",
    "comments",
)


async def update_lead(
    session: AsyncSession,
    crm: Crm,
    principal: Principal,
    lead_id: str,
    expected_version: int,
    changes: dict[str, Any],
) -> Lead:
    """Change what the lead holds (model, budget, timeframe, payment, trade-in, grade, comments);
    only while it is open. The caller commits."""
    lead = await get_lead(session, principal, lead_id, for_update=True)
    check_version(lead.version, expected_version)
    unknown = sorted(set(changes) - set(EDITABLE))
    if unknown:
        raise InvalidInput(
            f"These fields cannot be changed here: {', '.join(unknown)}.",
            errors=[{"field": name, "rule": "read_only"} for name in unknown],
        )
    if lead.status in CLOSED:
        raise Conflict(f"The lead is {lead.status} and closed; its details are history now.")
    current = details_of(lead)
    wanted: dict[str, Any] = {}
    for name, value in changes.items():
        if name == "trade_in":
            value = trade_in_of(value)
        elif name in ("model_code", "trim_code", "payment_intention", "comments", "timeframe"):
            value = value or ("unknown" if name == "timeframe" else "")
        elif name == "grade" and not value:
            raise InvalidInput(
                "The intent grade cannot be emptied; give one of H, A, B, C, N.",
                errors=[{"field": "grade", "rule": "required"}],
            )
        wanted[name] = value
    details = replace(current, **wanted).checked(crm.today())
    previous_status, previous_grade = lead.status, lead.grade
    lead.model_code, lead.trim_code = details.model_code, details.trim_code
    lead.budget_min_fen, lead.budget_max_fen = details.budget_min_fen, details.budget_max_fen
    lead.timeframe, lead.payment_intention = details.timeframe, details.payment_intention
    lead.trade_in = details.trade_in.as_json() if details.trade_in else None
    lead.grade, lead.comments = details.grade, details.comments
    lead.version += 1
    lead.updated_at = crm.now()
    session.add(lead)
    await session.flush()
    if lead.grade != previous_grade:
        await _timeline(
            session,
            crm,
            lead,
            f"Intent grade {previous_grade} → {lead.grade}",
            principal.subject,
        )
    await _on_changed(session, crm, lead, previous_status, previous_grade)
    return lead


def details_of(lead: Lead) -> LeadDetails:
    return LeadDetails(
        model_code=lead.model_code,
        trim_code=lead.trim_code,
        budget_min_fen=lead.budget_min_fen,
        budget_max_fen=lead.budget_max_fen,
        timeframe=lead.timeframe,
        payment_intention=lead.payment_intention,
        trade_in=trade_in_of(lead.trade_in),
        grade=lead.grade,
        comments=lead.comments,
    )


def _add_transitions(session: AsyncSession, lead: Lead, transitions: list[Transition]) -> None:
    for t in transitions:
        session.add(
            LeadTransition(
                lead_id=lead.id,
                store_id=lead.store_id,
                from_status=t.from_status,
                to_status=t.to_status,
                at=t.at,
                actor=t.actor,
                reason=t.reason,
            )
        )


# ---- The funnel report -------------------------------------------------------------------------


@dataclass(frozen=True)
class FunnelReport:
    total: int
    by_status: dict[str, int]
    reached: dict[str, int]
    conversion: dict[str, float | None]
    win_rate: float | None
    first_response_p50_minutes: float | None
    first_response_p90_minutes: float | None
    responded: int
    not_yet_contacted: int
    after_hours: int
    after_hours_share: float | None


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


async def funnel_report(
    session: AsyncSession,
    principal: Principal,
    *,
    store_id: str | None,
    since: datetime | None,
    until: datetime | None,
) -> FunnelReport:
    """Leads created in [since, until) that the caller can see, counted along the funnel.

    `reached[stage]` counts the leads that got at least that far (a lead that skipped a step
    passed it: a walk-in has been contacted); `conversion["a→b"]` is reached[b] / reached[a].
    First response is in business minutes; after-hours counts leads that arrived while closed.
    """
    where: list[ColumnElement[bool]] = [visible_leads(principal)]
    if store_id:
        principal.require_store(store_id, what=f"Store {store_id}")
        where.append(col(Lead.store_id) == store_id)
    if since is not None:
        where.append(col(Lead.created_at) >= since)
    if until is not None:
        where.append(col(Lead.created_at) < until)
    minutes = col(Lead.first_response_business_minutes)
    summary = (
        await session.execute(
            select(
                func.count(),
                func.percentile_cont(0.5).within_group(minutes),
                func.percentile_cont(0.9).within_group(minutes),
                func.count(minutes),
                func.count().filter(col(Lead.first_response_after_hours)),
            ).where(*where)
        )
    ).one()
    total, p50, p90, responded, after_hours = summary
    by_status = {status: 0 for status in STATUSES}
    for status, count in (
        await session.execute(
            select(col(Lead.status), func.count()).where(*where).group_by(col(Lead.status))
        )
    ).all():
        by_status[status] = count
    stages = (*FUNNEL, WON)
    stage_of = case(
        *((col(LeadTransition.to_status) == s, i) for i, s in enumerate(stages)), else_=-1
    )
    furthest = (
        select(func.max(stage_of).label("stage"))
        .select_from(LeadTransition)
        .join(Lead, col(Lead.id) == col(LeadTransition.lead_id))
        .where(*where)
        .group_by(col(LeadTransition.lead_id))
        .subquery()
    )
    at_stage: dict[int | None, int] = dict(
        (
            await session.execute(select(furthest.c.stage, func.count()).group_by(furthest.c.stage))
        ).all()
    )
    reached = {
        stage: sum(n for s, n in at_stage.items() if s is not None and s >= i)
        for i, stage in enumerate(stages)
    }
    conversion = {f"{a}→{b}": _ratio(reached[b], reached[a]) for a, b in pairwise(stages)}
    return FunnelReport(
        total=total,
        by_status=by_status,
        reached=reached,
        conversion=conversion,
        win_rate=_ratio(reached[WON], total),
        first_response_p50_minutes=None if p50 is None else float(p50),
        first_response_p90_minutes=None if p90 is None else float(p90),
        responded=responded,
        not_yet_contacted=total - responded,
        after_hours=after_hours,
        after_hours_share=_ratio(after_hours, total),
    )


# ---- Events -----------------------------------------------------------------------------------


def _enum(enum: Any, prefix: str, value: str) -> int:
    name = f"{prefix}_{value.upper()}"
    return int(enum.Value(name)) if name in enum.keys() else 0  # noqa: SIM118


def lead_snapshot(lead: Lead) -> crm_pb2.LeadSnapshot:
    """The lead as events carry it (no PII: the customer is referred to by id)."""
    snapshot = crm_pb2.LeadSnapshot(
        lead_id=lead.id,
        store_id=lead.store_id,
        customer_id=lead.customer_id,
        channel=_enum(crm_pb2.LeadChannel, "LEAD_CHANNEL", lead.channel),  # type: ignore[arg-type]
        status=_enum(crm_pb2.LeadStatus, "LEAD_STATUS", lead.status),  # type: ignore[arg-type]
        grade=_enum(crm_pb2.IntentGrade, "INTENT_GRADE", lead.grade),  # type: ignore[arg-type]
        model_code=lead.model_code,
        trim_code=lead.trim_code,
        assigned_to=lead.assigned_to,
        version=lead.version,
    )
    if lead.created_at is not None:
        snapshot.created_at.CopyFrom(timestamp(lead.created_at))
    return snapshot


def lead_created_event(lead: Lead, at: datetime) -> OutgoingEvent:
    return outgoing(
        cev.LeadCreated(occurred_at=timestamp(at), lead=lead_snapshot(lead)),
        "crm.lead.created",
        subject=lead.id,
        store_id=lead.store_id,
        seq=lead.version,
    )


def lead_status_changed_event(lead: Lead, transition: Transition) -> OutgoingEvent:
    return outgoing(
        cev.LeadStatusChanged(
            occurred_at=timestamp(transition.at),
            lead=lead_snapshot(lead),
            previous_status=_enum(  # type: ignore[arg-type]
                crm_pb2.LeadStatus, "LEAD_STATUS", transition.from_status
            ),
            reason=transition.reason,
            actor=transition.actor,
        ),
        "crm.lead.status_changed",
        subject=lead.id,
        store_id=lead.store_id,
        seq=lead.version,
    )


# ---- Hooks into the other CRM areas -------------------------------------------------------------


async def _timeline(session: AsyncSession, crm: Crm, lead: Lead, summary: str, actor: str) -> None:
    await timeline_service.append(
        session,
        crm,
        customer_id=lead.customer_id,
        store_id=lead.store_id,
        kind="system",
        summary=summary,
        actor=actor,
        ref=f"lead:{lead.id}",
    )


async def _assign(session: AsyncSession, crm: Crm, lead: Lead) -> None:
    # Imported here: assignment_service builds its events with this module's lead_snapshot.
    from marque_crm.assignment_service import assign_new_lead

    await assign_new_lead(session, crm, lead)


async def _on_created(session: AsyncSession, crm: Crm, lead: Lead) -> None:
    await tasks_service.on_lead_created(session, crm, lead)


async def _on_changed(
    session: AsyncSession, crm: Crm, lead: Lead, previous_status: str, previous_grade: str
) -> None:
    await tasks_service.on_lead_changed(session, crm, lead, previous_status, previous_grade)
