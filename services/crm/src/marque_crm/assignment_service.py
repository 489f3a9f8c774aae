"""Lead assignment and the first-contact SLA, against the database (rules: domain/assignment.py).

- `assign_new_lead(session, crm, lead)`: called inside the lead-creation transaction. Picks the
  consultant by the store's strategy, sets `lead.assigned_to/assigned_at`, records the assignment
  and writes LeadAssigned to the outbox in the same transaction. The store's rotation row is locked
  (SELECT ... FOR UPDATE) for the rest of that transaction, so concurrent intakes of one store take
  turns and the rotation stays fair.
- `reassign(...)`: a manager hands a lead to someone else, with a reason.
- `sweep_sla(crm, now)`: assigns leads that arrived while nobody was on duty, then escalates
  every lead whose first contact is late (business minutes) to the store's managers — once per
  assignee — and reassigns it when the store says so. Idempotent; safe on several replicas.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, exists, func, select, tuple_
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from marque.crm.v1 import events_pb2 as cev
from marque_crm.domain.assignment import (
    CLOSED_STATUSES,
    MANUAL,
    SLA_REASSIGNMENT,
    UNASSIGNED,
    Pick,
    RosterEntry,
    check_reassignment_target,
    check_sla,
    choose,
    managers_to_tell,
    rotations_needed,
    sla_clock_start,
)
from marque_crm.domain.store_rules import StoreRules
from marque_crm.events import outgoing, timestamp
from marque_crm.leads_service import lead_snapshot
from marque_crm.models import Assignment, Consultant, Lead, RoundRobinCursor, SlaEscalation
from marque_crm.store_rules_service import rules_of
from marque_crm.unit_of_work import SOURCE, Crm
from marque_kit.db import OutgoingEvent, write_outbox
from marque_kit.errors import Conflict, InvalidInput, NotFound
from marque_kit.metrics import business_events

log = logging.getLogger("marque.crm.assignment")

SYSTEM = "system"
SWEEP_BATCH = 500


# ---- Roster and rotation ----------------------------------------------------------------------


def roster_entry(row: Consultant) -> RosterEntry:
    return RosterEntry(
        subject=row.subject,
        role=row.role,
        on_duty=row.on_duty,
        on_leave_from=row.on_leave_from,
        on_leave_until=row.on_leave_until,
        max_open_leads=row.max_open_leads,
    )


async def roster_of(session: AsyncSession, store_id: str) -> list[RosterEntry]:
    rows = await session.execute(
        select(Consultant)
        .where(col(Consultant.store_id) == store_id)
        .order_by(col(Consultant.subject))
    )
    return [roster_entry(r) for r in rows.scalars().all()]


async def open_lead_counts(session: AsyncSession, store_id: str) -> dict[str, int]:
    """Open leads held by each consultant of the store."""
    rows = await session.execute(
        select(col(Lead.assigned_to), func.count())
        .where(
            col(Lead.store_id) == store_id,
            col(Lead.assigned_to) != "",
            col(Lead.status).not_in(CLOSED_STATUSES),
        )
        .group_by(col(Lead.assigned_to))
    )
    return {subject: int(n) for subject, n in rows.all()}


async def _lock_rotations(
    session: AsyncSession, store_id: str, keys: Sequence[str]
) -> dict[str, RoundRobinCursor]:
    """Lock the store's rotation rows, creating them on first use.

    Rows are locked in key order (the main rotation "" first) so that intakes never deadlock.
    """

    async def locked() -> dict[str, RoundRobinCursor]:
        rows = await session.execute(
            select(RoundRobinCursor)
            .where(
                col(RoundRobinCursor.store_id) == store_id,
                col(RoundRobinCursor.route_key).in_(keys),
            )
            .order_by(col(RoundRobinCursor.route_key))
            .with_for_update()
        )
        return {c.route_key: c for c in rows.scalars().all()}

    cursors = await locked()
    if len(cursors) < len(set(keys)):
        await session.execute(
            pg_insert(RoundRobinCursor)
            .values([{"store_id": store_id, "route_key": k, "last_subject": ""} for k in keys])
            .on_conflict_do_nothing()
        )
        cursors = await locked()
    return cursors


async def _pick(
    session: AsyncSession,
    crm: Crm,
    lead: Lead,
    rules: StoreRules,
    *,
    now: datetime,
    exclude: Iterable[str] = (),
) -> Pick:
    keys = rotations_needed(rules, lead.channel, lead.model_code)
    locked = await _lock_rotations(session, lead.store_id, keys)
    roster = await roster_of(session, lead.store_id)
    needs_counts = rules.strategy == "least_open" or any(
        e.max_open_leads is not None for e in roster
    )
    counts = await open_lead_counts(session, lead.store_id) if needs_counts else {}
    pick = choose(
        rules,
        roster,
        today=crm.local(now).date(),
        channel=lead.channel,
        model_code=lead.model_code,
        cursors={key: c.last_subject for key, c in locked.items()},
        open_leads=counts,
        exclude=exclude,
    )
    if pick.assignee is not None:
        for key in pick.rotations:
            locked[key].last_subject = pick.assignee
            locked[key].updated_at = now
            session.add(locked[key])
    return pick


# ---- Events -----------------------------------------------------------------------------------


def lead_assigned_event(
    lead: Lead, *, previous: str, strategy: str, reason: str, actor: str, at: datetime
) -> OutgoingEvent:
    return outgoing(
        cev.LeadAssigned(
            occurred_at=timestamp(at),
            lead=lead_snapshot(lead),
            previous_assignee=previous,
            strategy=strategy,
            reason=reason,
            actor=actor,
        ),
        "crm.lead.assigned",
        subject=lead.id,
        store_id=lead.store_id,
        seq=lead.version,
    )


def lead_sla_breached_event(
    lead: Lead,
    *,
    sla_minutes: int,
    elapsed_minutes: int,
    escalated_to: Sequence[str],
    reassigned: bool,
    at: datetime,
) -> OutgoingEvent:
    """`escalated_to` are the managers told (none when the roster has none)."""
    return outgoing(
        cev.LeadSlaBreached(
            occurred_at=timestamp(at),
            lead=lead_snapshot(lead),
            sla_minutes=sla_minutes,
            elapsed_minutes=elapsed_minutes,
            escalated_to=",".join(escalated_to),
            escalated_to_ids=list(escalated_to),
            reassigned=reassigned,
        ),
        "crm.lead.sla_breached",
        subject=lead.id,
        store_id=lead.store_id,
        seq=lead.version,
    )


# ---- Assigning --------------------------------------------------------------------------------


async def _give(
    session: AsyncSession,
    lead: Lead,
    to: str,
    *,
    strategy: str,
    reason: str,
    actor: str,
    now: datetime,
    bump: bool,
    crm: Crm | None = None,
) -> None:
    """Hand the lead to `to`: the row, the history and LeadAssigned, in the caller's transaction.
    A lead changing hands (`crm` given) takes its open follow-up tasks with it."""
    previous = lead.assigned_to
    lead.assigned_to = to
    lead.assigned_at = now
    if bump:
        lead.version += 1
        lead.updated_at = now
    session.add(lead)
    session.add(
        Assignment(
            lead_id=lead.id,
            store_id=lead.store_id,
            assignee=to,
            previous=previous,
            strategy=strategy,
            reason=reason[:500],
            actor=actor,
            at=now,
        )
    )
    await session.flush()
    event = lead_assigned_event(
        lead, previous=previous, strategy=strategy, reason=reason, actor=actor, at=now
    )
    await write_outbox(session, [event], source=SOURCE)
    business_events.labels("crm", f"lead_assigned_{strategy}").inc()
    if crm is not None:
        from marque_crm.tasks_service import on_lead_reassigned

        await on_lead_reassigned(session, crm, lead)


async def assign_new_lead(session: AsyncSession, crm: Crm, lead: Lead) -> str | None:
    """Give a new lead its consultant by the store's strategy; None when nobody is on duty.

    Runs in the lead-creation transaction and does not bump the lead's version (the assignment is
    part of its creation). Without anyone available the lead stays unassigned: the history says
    so, the manager sees it in logs and metrics, and the SLA sweep assigns it as soon as someone
    is on duty.
    """
    now = crm.now()
    rules = await rules_of(session, lead.store_id)
    pick = await _pick(session, crm, lead, rules, now=now)
    if pick.assignee is None:
        session.add(
            Assignment(
                lead_id=lead.id,
                store_id=lead.store_id,
                assignee="",
                previous=lead.assigned_to,
                strategy=UNASSIGNED,
                reason=pick.reason,
                actor=SYSTEM,
                at=now,
            )
        )
        await session.flush()
        business_events.labels("crm", "lead_unassigned").inc()
        log.warning(
            "lead left unassigned: nobody on duty; the store manager should act",
            extra={"lead_id": lead.id, "store_id": lead.store_id},
        )
        return None
    await _give(
        session,
        lead,
        pick.assignee,
        strategy=pick.strategy,
        reason=pick.reason,
        actor=SYSTEM,
        now=now,
        bump=False,
    )
    return pick.assignee


async def lead_for_update(session: AsyncSession, lead_id: str) -> Lead:
    row = await session.execute(select(Lead).where(col(Lead.id) == lead_id).with_for_update())
    lead = row.scalars().first()
    if lead is None:
        raise NotFound(f"Lead {lead_id} was not found in your stores.")
    return lead


async def reassign(
    session: AsyncSession, crm: Crm, lead_id: str, to: str, reason: str, actor: str
) -> Lead:
    """A manager hands an open lead to another consultant of its store, saying why.

    The caller has checked that the actor may act in the lead's store.
    """
    lead = await lead_for_update(session, lead_id)
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(
            "Say why the lead is reassigned (reason), e.g. 'customer asked for someone else'.",
            errors=[{"field": "reason", "rule": "required"}],
        )
    if lead.status in CLOSED_STATUSES:
        raise Conflict(
            f"Lead {lead.id} is closed ({lead.status}); reopen it before handing it to someone."
        )
    roster = await roster_of(session, lead.store_id)
    try:
        check_reassignment_target(roster, to, today=crm.today(), current=lead.assigned_to)
    except ValueError as exc:
        raise InvalidInput(
            f"{exc} Choose a consultant of store {lead.store_id} "
            f"(GET /api/v1/crm/stores/{lead.store_id}/consultants).",
            errors=[{"field": "to", "rule": "consultant_of_store"}],
        ) from exc
    await _give(
        session,
        lead,
        to,
        strategy=MANUAL,
        reason=reason,
        actor=actor,
        now=crm.now(),
        bump=True,
        crm=crm,
    )
    return lead


# ---- The SLA sweep ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Candidate:
    lead_id: str
    store_id: str
    started_at: datetime


async def _assign_backlog(crm: Crm, now: datetime, stores: Sequence[str] | None) -> int:
    """Assign open leads that arrived while nobody was on duty, in stores where someone now is."""
    waiting = (
        col(Lead.status).not_in(CLOSED_STATUSES),
        col(Lead.assigned_to) == "",
    )
    async with crm.db.session() as session:
        stmt = select(col(Lead.store_id)).where(*waiting).distinct()
        if stores is not None:
            stmt = stmt.where(col(Lead.store_id).in_(stores))
        store_ids = list((await session.execute(stmt)).scalars().all())
        today = crm.local(now).date()
        staffed = []
        for store_id in store_ids:
            if any(e.available(today) for e in await roster_of(session, store_id)):
                staffed.append(store_id)
        ids: list[str] = []
        if staffed:
            found = await session.execute(
                select(col(Lead.id))
                .where(*waiting, col(Lead.store_id).in_(staffed))
                .order_by(col(Lead.created_at))
                .limit(SWEEP_BATCH)
            )
            ids = list(found.scalars().all())
    assigned = 0
    for lead_id in ids:
        async with crm.uow() as uow:
            row = await uow.session.execute(
                select(Lead)
                .where(col(Lead.id) == lead_id, *waiting)
                .with_for_update(skip_locked=True)
            )
            lead = row.scalars().first()
            if lead is None:
                continue
            rules = await rules_of(uow.session, lead.store_id)
            pick = await _pick(uow.session, crm, lead, rules, now=now)
            if pick.assignee is None:
                continue
            await _give(
                uow.session,
                lead,
                pick.assignee,
                strategy=pick.strategy,
                reason=f"{pick.reason} (nobody was on duty when the lead arrived)",
                actor=SYSTEM,
                now=now,
                bump=True,
                crm=crm,
            )
            await uow.commit()
            assigned += 1
    if assigned:
        log.info("assigned leads that were waiting for someone on duty", extra={"count": assigned})
    return assigned


async def _candidates(
    session: AsyncSession,
    now: datetime,
    stores: Sequence[str] | None,
    after: tuple[datetime, str] | None,
) -> list[_Candidate]:
    """New, uncontacted leads not yet escalated for their current assignee, oldest clock first."""
    started = func.coalesce(col(Lead.assigned_at), col(Lead.created_at))
    escalated = exists().where(
        and_(
            col(SlaEscalation.lead_id) == col(Lead.id),
            col(SlaEscalation.assignee) == col(Lead.assigned_to),
        )
    )
    stmt = (
        select(col(Lead.id), col(Lead.store_id), started.label("started"))
        .where(
            col(Lead.status) == "new",
            col(Lead.first_contacted_at).is_(None),
            started <= now - timedelta(minutes=1),
            ~escalated,
        )
        .order_by(started, col(Lead.id))
        .limit(SWEEP_BATCH)
    )
    if stores is not None:
        stmt = stmt.where(col(Lead.store_id).in_(stores))
    if after is not None:
        stmt = stmt.where(tuple_(started, col(Lead.id)) > tuple_(*after))
    rows = await session.execute(stmt)
    return [_Candidate(i, s, t) for i, s, t in rows.all()]


async def _escalate(crm: Crm, lead_id: str, now: datetime) -> bool:
    """Escalate one lead if it is (still) breached; False when someone else did or it is not."""
    async with crm.uow() as uow:
        session = uow.session
        row = await session.execute(
            select(Lead).where(col(Lead.id) == lead_id).with_for_update(skip_locked=True)
        )
        lead = row.scalars().first()
        if lead is None or lead.created_at is None:
            return False
        rules = await rules_of(session, lead.store_id)
        check = check_sla(
            status=lead.status,
            first_contacted_at=lead.first_contacted_at,
            started_at=sla_clock_start(lead.created_at, lead.assigned_at),
            now=now,
            rules=rules,
            zone=crm.zone,
        )
        if not check.breached:
            return False
        roster = await roster_of(session, lead.store_id)
        managers = managers_to_tell(roster, crm.local(now).date())
        missed_by = lead.assigned_to
        inserted = await session.execute(
            pg_insert(SlaEscalation)
            .values(
                lead_id=lead.id,
                store_id=lead.store_id,
                assignee=missed_by,
                escalated_to=",".join(managers)[:500],
                sla_minutes=rules.sla_minutes,
                elapsed_minutes=check.elapsed_minutes,
                at=now,
            )
            .on_conflict_do_nothing(constraint="sla_escalations_once")
            .returning(col(SlaEscalation.id))
        )
        escalation_id = inserted.scalar()
        if escalation_id is None:
            return False  # escalated already for this assignee
        pick: Pick | None = None
        if rules.reassign_on_sla_breach and missed_by:
            pick = await _pick(session, crm, lead, rules, now=now, exclude=(missed_by,))
        reassigned = pick is not None and pick.assignee is not None
        # The breach as it stood: the snapshot still names who missed the first contact.
        uow.record(
            lead_sla_breached_event(
                lead,
                sla_minutes=rules.sla_minutes,
                elapsed_minutes=check.elapsed_minutes,
                escalated_to=managers,
                reassigned=reassigned,
                at=now,
            )
        )
        await uow.flush_events()
        if pick is not None and pick.assignee is not None:
            await _give(
                session,
                lead,
                pick.assignee,
                strategy=SLA_REASSIGNMENT,
                reason=(
                    f"{missed_by} missed the {rules.sla_minutes}-minute first-contact SLA "
                    f"({check.elapsed_minutes} business minutes). {pick.reason}"
                ),
                actor=SYSTEM,
                now=now,
                bump=True,
                crm=crm,
            )
            escalation = await session.get(SlaEscalation, escalation_id)
            if escalation is not None:
                escalation.reassigned_to = pick.assignee
                session.add(escalation)
        await uow.commit()
    business_events.labels("crm", "lead_sla_breached").inc()
    log.warning(
        "first-contact SLA missed; escalated to the store's managers",
        extra={
            "lead_id": lead_id,
            "store_id": lead.store_id,
            "assignee": missed_by,
            "escalated_to": ",".join(managers),
            "reassigned_to": pick.assignee if pick is not None else None,
        },
    )
    if not managers:
        log.error(
            "store has no manager on its CRM roster to escalate to",
            extra={"store_id": lead.store_id},
        )
    return True


async def sweep_sla(crm: Crm, now: datetime, *, stores: Sequence[str] | None = None) -> int:
    """Assign the unassigned backlog, then escalate every breached lead; the escalations made.

    `stores` limits the sweep (tests, a single store's re-run); None sweeps every store.
    Running it twice, or on two replicas at once, escalates nothing twice.
    """
    await _assign_backlog(crm, now, stores)
    escalated = 0
    rules_cache: dict[str, StoreRules] = {}
    after: tuple[datetime, str] | None = None
    while True:
        async with crm.db.session() as session:
            batch = await _candidates(session, now, stores, after)
            due: list[str] = []
            for c in batch:
                if c.store_id not in rules_cache:
                    rules_cache[c.store_id] = await rules_of(session, c.store_id)
                rules = rules_cache[c.store_id]
                check = check_sla(
                    status="new",
                    first_contacted_at=None,
                    started_at=c.started_at,
                    now=now,
                    rules=rules,
                    zone=crm.zone,
                )
                if check.breached:
                    due.append(c.lead_id)
        for lead_id in due:
            if await _escalate(crm, lead_id, now):
                escalated += 1
        if len(batch) < SWEEP_BATCH:
            return escalated
        after = (batch[-1].started_at, batch[-1].lead_id)


def sla_job(crm: Crm) -> Callable[[], Awaitable[None]]:
    """The background loop (runtime.add_job): a sweep every `sla_sweep_seconds` at `crm.now()`."""

    async def loop() -> None:
        while True:
            try:
                await sweep_sla(crm, crm.now())
            except Exception:
                log.exception("SLA sweep failed; retrying at the next tick")
            await asyncio.sleep(crm.settings.sla_sweep_seconds)

    return loop
