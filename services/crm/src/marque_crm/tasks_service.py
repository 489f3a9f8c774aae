"""Follow-up tasks (跟进): the rules of `domain.tasks` applied to the database.

Hooks (called inside the caller's transaction, with its session; they never commit):

- `on_lead_created(session, crm, lead)` and `on_lead_changed(session, crm, lead, previous_status,
  previous_grade)`: leads_service calls them, so a lead's follow-ups always follow its grade,
  status and owner;
- `on_lead_reassigned(session, crm, lead)`: for assignment (by hand or after a missed SLA), so
  the lead's open tasks move to the new owner;
- `on_delivery(...)`: for sales, once it exists (交车 → care calls on day 3 and day 30);
- `on_maintenance_due(...)`: for aftersales, once it exists (保养到期).

Every task carries a unique `dedupe_key`, and every insert is `ON CONFLICT DO NOTHING`, so a hook
called twice (at-least-once delivery) creates one task.

Jobs: `sweep_due` emits TaskDue (crm.task.due) through the outbox for each open, assigned task whose
due time has come, once per due time (`notified_at`; rows taken `FOR UPDATE SKIP LOCKED`, so
replicas can sweep together); `sweep_birthdays` creates the yearly birthday calls a week ahead.
`task_sweeper(crm)` runs both on `settings.task_sweep_seconds`.

People act on tasks with `create_manual`, `complete`, `snooze` and `cancel` (If-Match). A
consultant sees only the tasks assigned to them; managers see their stores; HQ everything.
Anything else answers 404.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import ColumnElement, and_, extract, false, select, true, tuple_
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from marque.crm.v1 import events_pb2 as cev
from marque_crm.domain import tasks as rules
from marque_crm.domain.tasks import Planned, TaskKind, TaskStatus
from marque_crm.events import outgoing, timestamp
from marque_crm.models import Customer, Lead, Task
from marque_crm.store_rules_service import rules_of
from marque_crm.unit_of_work import Crm
from marque_kit.auth import Principal
from marque_kit.db import OutgoingEvent
from marque_kit.errors import Forbidden, InvalidInput, NotFound
from marque_kit.http import check_version
from marque_kit.permissions import MANAGER_ROLES

log = logging.getLogger("marque.crm.tasks")

SOURCE = "marque/crm"
READ = "crm.tasks:read"
WRITE = "crm.tasks:write"
ROUTING_KEY_DUE = "crm.task.due"
SWEEP_BATCH = 200
# Birthday calls are created this many days ahead, so they show in the consultant's open list.
BIRTHDAY_LOOKAHEAD_DAYS = 7


# --- creating tasks ------------------------------------------------------------------------------


async def _insert(
    session: AsyncSession,
    crm: Crm,
    planned: Planned,
    *,
    store_id: str,
    customer_id: str,
    assignee: str,
    lead_id: str | None = None,
    created_by: str = "system",
    note: str = "",
) -> Task | None:
    """Insert the planned task unless its dedupe key exists; the new task, or None."""
    task_id = str(uuid.uuid4())
    now = crm.now()
    inserted = await session.execute(
        pg_insert(Task)
        .values(
            id=task_id,
            store_id=store_id,
            customer_id=customer_id,
            lead_id=lead_id,
            assignee=assignee,
            kind=planned.kind.value,
            title=planned.title,
            note=note,
            due_at=planned.due_at,
            status=TaskStatus.OPEN.value,
            dedupe_key=planned.dedupe_key,
            created_by=created_by,
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(col(Task.id))
    )
    if inserted.first() is None:
        return None
    return await session.get(Task, task_id)


def _close(task: Task, status: TaskStatus, now: datetime, actor: str, outcome: str) -> None:
    task.status = status.value
    task.completed_at = now
    task.completed_by = actor
    task.outcome = outcome
    task.updated_at = now
    task.version += 1
    if task.dedupe_key == rules.grade_open_key(task.lead_id or ""):
        # Free the lead's "open grade follow-up" slot for the next one in the rhythm.
        task.dedupe_key = rules.closed_key(task.dedupe_key, task.id)


async def _open_lead_tasks(session: AsyncSession, lead_id: str) -> list[Task]:
    rows = await session.execute(
        select(Task)
        .where(col(Task.lead_id) == lead_id, col(Task.status) == TaskStatus.OPEN.value)
        .order_by(col(Task.due_at), col(Task.id))
        .with_for_update()
    )
    return list(rows.scalars().all())


async def _grade_follow_up(session: AsyncSession, crm: Crm, lead: Lead, since: datetime) -> None:
    store = await rules_of(session, lead.store_id)
    planned = rules.grade_follow_up(lead.id, lead.grade, since, crm.zone, store.follow_up_days)
    if planned is not None:
        await _insert(
            session,
            crm,
            planned,
            store_id=lead.store_id,
            customer_id=lead.customer_id,
            assignee=lead.assigned_to,
            lead_id=lead.id,
        )


async def _status_follow_up(session: AsyncSession, crm: Crm, lead: Lead) -> None:
    planned = rules.status_follow_up(lead.id, lead.status, crm.now(), crm.zone)
    if planned is not None:
        await _insert(
            session,
            crm,
            planned,
            store_id=lead.store_id,
            customer_id=lead.customer_id,
            assignee=lead.assigned_to,
            lead_id=lead.id,
        )


async def on_lead_created(session: AsyncSession, crm: Crm, lead: Lead) -> None:
    """A new lead: its first follow-up by grade (H 1 day, A 3, B 7, C 15; N none), plus the
    test-drive or quote follow-up if it arrives already that far along (imports)."""
    if rules.closes_lead_tasks(lead.status):
        return
    await _grade_follow_up(session, crm, lead, lead.created_at or crm.now())
    await _status_follow_up(session, crm, lead)


async def on_lead_changed(
    session: AsyncSession, crm: Crm, lead: Lead, previous_status: str, previous_grade: str
) -> None:
    """Keep the lead's follow-ups in step after any change (status, grade or owner).

    - closed (won / lost / invalid): every open task of the lead is cancelled;
    - reopened: the grade rhythm starts again from now;
    - test drive → call tomorrow; quoted → in 2 days;
    - grade changed → the open grade follow-up moves to now + the new interval (cancelled for N);
    - reassigned → the open tasks follow the lead to its new owner.
    """
    now = crm.now()
    open_tasks = await _open_lead_tasks(session, lead.id)
    if rules.closes_lead_tasks(lead.status):
        for task in open_tasks:
            _close(task, TaskStatus.CANCELLED, now, "system", f"lead {lead.status}")
        await session.flush()
        return
    for task in open_tasks:
        if task.assignee != lead.assigned_to:
            task.assignee = lead.assigned_to
            task.updated_at = now
            task.version += 1
    if rules.closes_lead_tasks(previous_status):
        await session.flush()
        await _grade_follow_up(session, crm, lead, now)
    elif lead.grade.upper() != (previous_grade or "").upper():
        grade_task = next(
            (t for t in open_tasks if t.dedupe_key == rules.grade_open_key(lead.id)), None
        )
        store = await rules_of(session, lead.store_id)
        planned = rules.grade_follow_up(lead.id, lead.grade, now, crm.zone, store.follow_up_days)
        if grade_task is None:
            await session.flush()
            await _grade_follow_up(session, crm, lead, now)
        elif planned is None:
            _close(grade_task, TaskStatus.CANCELLED, now, "system", f"graded {lead.grade}")
        else:
            grade_task.due_at = planned.due_at
            grade_task.title = planned.title
            grade_task.notified_at = None
            grade_task.updated_at = now
            grade_task.version += 1
    await session.flush()
    if lead.status != previous_status:
        await _status_follow_up(session, crm, lead)


async def on_lead_reassigned(session: AsyncSession, crm: Crm, lead: Lead) -> None:
    """A lead changed hands (by hand, or after a missed SLA): its open tasks go with it."""
    await on_lead_changed(session, crm, lead, lead.status, lead.grade)


async def on_delivery(
    session: AsyncSession,
    crm: Crm,
    customer_id: str,
    store_id: str,
    delivered_on: date,
    assignee: str,
) -> list[Task]:
    """For sales (once it exists): a car delivered (交车) → care calls on day 3 and day 30.

    Idempotent per customer and delivery date; returns the tasks created now."""
    created = []
    for planned in rules.delivery_care(customer_id, delivered_on, crm.zone):
        task = await _insert(
            session, crm, planned, store_id=store_id, customer_id=customer_id, assignee=assignee
        )
        if task is not None:
            created.append(task)
    return created


async def on_maintenance_due(
    session: AsyncSession,
    crm: Crm,
    customer_id: str,
    store_id: str,
    due_on: date,
    assignee: str,
    vin: str = "",
) -> Task | None:
    """For aftersales (once it exists): maintenance falls due on `due_on` → a call a week before
    (or today, when that week has begun). Idempotent per customer, VIN and due date."""
    planned = rules.maintenance_reminder(customer_id, due_on, crm.today(), crm.zone, vin)
    return await _insert(
        session,
        crm,
        planned,
        store_id=store_id,
        customer_id=customer_id,
        assignee=assignee,
        note=f"VIN {vin}" if vin else "",
    )


# --- sweeps --------------------------------------------------------------------------------------


def task_due_event(task: Task, at: datetime) -> OutgoingEvent:
    message = cev.TaskDue(
        occurred_at=timestamp(at),
        task_id=task.id,
        store_id=task.store_id,
        customer_id=task.customer_id,
        lead_id=task.lead_id or "",
        assignee=task.assignee,
        kind=task.kind,
        due_at=timestamp(task.due_at),
        title=task.title,
    )
    return outgoing(message, ROUTING_KEY_DUE, task.id, task.store_id, task.version)


async def sweep_due(crm: Crm, now: datetime | None = None) -> int:
    """Emit TaskDue for every open, assigned task due by `now` and not yet notified; how many.

    One batch per transaction; rows locked by another sweeper are skipped, and `notified_at`
    is set in the same transaction as the outbox row, so each due time is announced once."""
    at = now or crm.now()
    total = 0
    while True:
        async with crm.uow() as uow:
            rows = await uow.session.execute(
                select(Task)
                .where(
                    col(Task.status) == TaskStatus.OPEN.value,
                    col(Task.notified_at).is_(None),
                    col(Task.due_at) <= at,
                    col(Task.assignee) != "",
                )
                .order_by(col(Task.due_at), col(Task.id))
                .limit(SWEEP_BATCH)
                .with_for_update(skip_locked=True)
            )
            batch = list(rows.scalars().all())
            for task in batch:
                task.notified_at = at
                uow.record(task_due_event(task, at))
            await uow.commit()
        total += len(batch)
        if len(batch) < SWEEP_BATCH:
            return total


async def sweep_birthdays(crm: Crm, today: date | None = None) -> int:
    """Create the birthday calls whose day (the eve of the birthday) falls within the coming
    week, for customers with a birthday and an owning consultant; how many were created."""
    start = today or crm.today()
    wanted = rules.birthday_window(start, BIRTHDAY_LOOKAHEAD_DAYS)
    created = 0
    async with crm.uow() as uow:
        month = extract("month", col(Customer.birthday))
        day = extract("day", col(Customer.birthday))
        rows = await uow.session.execute(
            select(Customer).where(
                col(Customer.merged_into).is_(None),
                col(Customer.birthday).is_not(None),
                col(Customer.owner) != "",
                tuple_(month, day).in_(list(wanted)),
            )
        )
        for customer in rows.scalars().all():
            assert customer.birthday is not None
            year = wanted[(customer.birthday.month, customer.birthday.day)]
            planned = rules.birthday_call(customer.id, customer.birthday, year, crm.zone)
            task = await _insert(
                uow.session,
                crm,
                planned,
                store_id=customer.store_id,
                customer_id=customer.id,
                assignee=customer.owner,
            )
            created += task is not None
        await uow.commit()
    return created


def task_sweeper(crm: Crm) -> Callable[[], Awaitable[None]]:
    """The background job: due tasks every `task_sweep_seconds`, birthdays once per business
    day (and at start-up)."""

    async def run() -> None:
        birthdays_done: date | None = None
        while True:
            try:
                await sweep_due(crm)
                if birthdays_done != crm.today():
                    await sweep_birthdays(crm)
                    birthdays_done = crm.today()
            except Exception:
                log.exception("task sweep failed; trying again next round")
            await asyncio.sleep(crm.settings.task_sweep_seconds)

    return run


# --- who sees what -------------------------------------------------------------------------------


def sees_whole_store(principal: Principal, store_id: str) -> bool:
    """HQ and the store's managers see every task of the store; others only their own."""
    return principal.is_hq or principal.is_manager_of(store_id)


def is_manager(principal: Principal) -> bool:
    return principal.is_hq or bool(MANAGER_ROLES.intersection(principal.roles))


def visible_clause(principal: Principal) -> ColumnElement[bool]:
    """SQL for "tasks this caller may see"."""
    if principal.is_hq:
        return true()
    stores = principal.store_filter() or ()
    if not stores:
        return false()
    in_stores = col(Task.store_id).in_(stores)
    if is_manager(principal):
        return in_stores
    return and_(in_stores, col(Task.assignee) == principal.subject)


def _can_see(principal: Principal, task: Task) -> bool:
    if not principal.sees_store(task.store_id):
        return False
    return sees_whole_store(principal, task.store_id) or task.assignee == principal.subject


async def get_visible(
    session: AsyncSession, principal: Principal, task_id: str, *, lock: bool = False
) -> Task:
    stmt = select(Task).where(col(Task.id) == task_id)
    if lock:
        stmt = stmt.with_for_update()
    task = (await session.execute(stmt)).scalars().first()
    if task is None or not _can_see(principal, task):
        raise NotFound("That task was not found among the tasks you can see.")
    return task


def list_filter(
    principal: Principal,
    *,
    assignee: str | None,
    status: str,
    store_id: str | None,
    now: datetime,
    crm: Crm,
) -> list[ColumnElement[bool]]:
    """The WHERE clauses of a task list (`status`: due | overdue | open | done | cancelled)."""
    clauses = [visible_clause(principal)]
    if assignee == "me":
        assignee = principal.subject
    if assignee:
        if assignee != principal.subject and not is_manager(principal):
            raise Forbidden(
                "A sales consultant sees only their own tasks; ask your sales manager for "
                "a colleague's list."
            )
        clauses.append(col(Task.assignee) == assignee)
    if store_id:
        principal.require_store(store_id, what="That store")
        clauses.append(col(Task.store_id) == store_id)
    today = crm.local(now).date()
    start_today = datetime.combine(today, time(0), tzinfo=crm.zone)
    start_tomorrow = datetime.combine(today + timedelta(days=1), time(0), tzinfo=crm.zone)
    is_open = col(Task.status) == TaskStatus.OPEN.value
    if status == "due":
        clauses += [is_open, col(Task.due_at) >= start_today, col(Task.due_at) < start_tomorrow]
    elif status == "overdue":
        clauses += [is_open, col(Task.due_at) < start_today]
    elif status in ("open", "done", "cancelled"):
        clauses.append(col(Task.status) == status)
    else:
        raise InvalidInput(
            f"status {status!r} is not one of due, overdue, open, done, cancelled.",
            errors=[{"field": "status", "location": "query", "rule": "enum"}],
        )
    return clauses


# --- people acting on tasks ----------------------------------------------------------------------


@dataclass(frozen=True)
class NewTask:
    store_id: str
    customer_id: str
    title: str
    due_at: datetime
    lead_id: str | None = None
    assignee: str = ""
    note: str = ""


async def create_manual(
    session: AsyncSession, crm: Crm, principal: Principal, new: NewTask
) -> Task:
    """A task someone writes down by hand; a consultant assigns it to themself, a manager to
    anyone in the store."""
    principal.require(WRITE)
    principal.require_store(new.store_id, what="That store")
    assignee = new.assignee.strip() or principal.subject
    if assignee != principal.subject and not sees_whole_store(principal, new.store_id):
        raise Forbidden(
            "A sales consultant can only create tasks for themself; ask your sales manager to "
            "assign one to a colleague."
        )
    title = new.title.strip()
    if not title:
        raise InvalidInput(
            "A task needs a title saying what to do.",
            errors=[{"field": "title", "rule": "required"}],
        )
    due_at = rules.check_manual_due(new.due_at, crm.now())
    customer = await session.get(Customer, new.customer_id)
    if customer is None:
        raise NotFound(
            f"Customer {new.customer_id} was not found.",
            errors=[{"field": "customer_id", "rule": "exists"}],
        )
    if customer.merged_into:
        raise InvalidInput(
            f"Customer {customer.id} was merged into {customer.merged_into}; "
            "create the task for that customer.",
            errors=[{"field": "customer_id", "rule": "merged"}],
        )
    if new.lead_id:
        lead = await session.get(Lead, new.lead_id)
        if lead is None or lead.store_id != new.store_id or lead.customer_id != customer.id:
            raise NotFound(
                f"Lead {new.lead_id} was not found for that customer in store {new.store_id}.",
                errors=[{"field": "lead_id", "rule": "exists"}],
            )
    task_id = str(uuid.uuid4())
    planned = Planned(TaskKind.MANUAL, due_at, title, f"manual:{task_id}")
    task = await _insert(
        session,
        crm,
        planned,
        store_id=new.store_id,
        customer_id=customer.id,
        assignee=assignee,
        lead_id=new.lead_id,
        created_by=principal.subject,
        note=new.note.strip(),
    )
    assert task is not None  # a fresh uuid key cannot collide
    return task


async def complete(
    crm: Crm, principal: Principal, task_id: str, outcome: str, expected_version: int
) -> Task:
    """Mark the task done with what came of it; a grade follow-up schedules the next one by the
    lead's grade now (the rhythm), unless the lead is closed or graded N."""
    principal.require(WRITE)
    async with crm.uow() as uow:
        task = await get_visible(uow.session, principal, task_id, lock=True)
        check_version(task.version, expected_version)
        rules.require_open(task.status, "completed")
        now = crm.now()
        _close(task, TaskStatus.DONE, now, principal.subject, outcome.strip())
        await uow.session.flush()
        if task.kind == TaskKind.GRADE_INTERVAL and task.lead_id:
            lead = await uow.session.get(Lead, task.lead_id)
            if lead is not None and not rules.closes_lead_tasks(lead.status):
                await _grade_follow_up(uow.session, crm, lead, now)
        await uow.commit()
    return task


async def snooze(
    crm: Crm, principal: Principal, task_id: str, until: datetime, expected_version: int
) -> Task:
    """Move the task later (within 90 days); it is announced again when the new time comes."""
    principal.require(WRITE)
    async with crm.uow() as uow:
        task = await get_visible(uow.session, principal, task_id, lock=True)
        check_version(task.version, expected_version)
        rules.require_open(task.status, "snoozed")
        now = crm.now()
        task.due_at = rules.check_snooze(until, now)
        task.notified_at = None
        task.updated_at = now
        task.version += 1
        await uow.commit()
    return task


async def cancel(
    crm: Crm, principal: Principal, task_id: str, reason: str, expected_version: int
) -> Task:
    """The task no longer applies. A cancelled grade follow-up ends the rhythm until the lead's
    grade changes or a follow-up is completed."""
    principal.require(WRITE)
    async with crm.uow() as uow:
        task = await get_visible(uow.session, principal, task_id, lock=True)
        check_version(task.version, expected_version)
        rules.require_open(task.status, "cancelled")
        _close(task, TaskStatus.CANCELLED, crm.now(), principal.subject, reason.strip())
        await uow.commit()
    return task
