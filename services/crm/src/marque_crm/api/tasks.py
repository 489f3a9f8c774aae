"""Follow-up tasks (跟进): each consultant's due and overdue lists, manual tasks, and completing,
snoozing or cancelling a task (If-Match).

A consultant sees only the tasks assigned to them; managers (sales_manager, store_manager) their
stores; HQ everything. A task the caller cannot see answers 404.

`status`: `due` = open and due today (store time), `overdue` (逾期) = open and due before today,
`open` = every open task, `done`, `cancelled`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlmodel import col

from marque_crm import tasks_service
from marque_crm.api.deps import CrmDep
from marque_crm.domain.tasks import shown_status
from marque_crm.models import Task
from marque_crm.tasks_service import READ, WRITE, NewTask
from marque_crm.unit_of_work import Crm
from marque_kit.http import (
    CurrentPrincipal,
    IdempotencyDep,
    IfMatch,
    Instant,
    Page,
    PageQuery,
    etag,
    paginate,
    permission,
)

router = APIRouter(prefix="/api/v1/crm/tasks", tags=["tasks"])

ListStatus = Literal["due", "overdue", "open", "done", "cancelled"]


class TaskOut(BaseModel):
    id: str
    store_id: str
    customer_id: str
    lead_id: str | None
    assignee: str
    kind: str
    title: str
    note: str
    due_at: datetime
    # open | overdue | done | cancelled (overdue: open, and its due day has passed)
    status: str
    completed_at: datetime | None
    completed_by: str
    outcome: str
    notified_at: datetime | None
    created_by: str
    created_at: datetime | None
    version: int

    @classmethod
    def of(cls, task: Task, crm: Crm) -> TaskOut:
        return cls(
            id=task.id,
            store_id=task.store_id,
            customer_id=task.customer_id,
            lead_id=task.lead_id,
            assignee=task.assignee,
            kind=task.kind,
            title=task.title,
            note=task.note,
            due_at=task.due_at,
            status=shown_status(task.status, task.due_at, crm.now(), crm.zone).value,
            completed_at=task.completed_at,
            completed_by=task.completed_by,
            outcome=task.outcome,
            notified_at=task.notified_at,
            created_by=task.created_by,
            created_at=task.created_at,
            version=task.version,
        )


class TaskIn(BaseModel):
    store_id: str = Field(min_length=1, max_length=20, examples=["SH01"])
    customer_id: str = Field(min_length=1, max_length=40)
    lead_id: str | None = Field(None, max_length=40)
    title: str = Field(
        min_length=1, max_length=200, examples=["回电确认金融方案 Call back on the loan"]
    )
    due_at: Instant = Field(examples=["2026-03-02T10:00:00+08:00"])
    assignee: str = Field("", max_length=120, description="Default: the caller")
    note: str = Field("", max_length=1000)


class CompleteIn(BaseModel):
    outcome: str = Field("", max_length=1000, examples=["客户周六到店试驾 coming Saturday"])


class SnoozeIn(BaseModel):
    until: Instant = Field(examples=["2026-03-03T10:00:00+08:00"])


class CancelIn(BaseModel):
    reason: str = Field("", max_length=1000)


def _answer(response: Response, task: Task, crm: Crm) -> TaskOut:
    response.headers["ETag"] = etag(task.version)
    return TaskOut.of(task, crm)


@router.get("", response_model=Page[TaskOut], dependencies=[permission(READ)])
async def list_tasks(
    principal: CurrentPrincipal,
    crm: CrmDep,
    page: PageQuery,
    assignee: str | None = Query(
        None, max_length=120, description="`me`, or a consultant's subject (managers)"
    ),
    status: ListStatus = "open",
    store_id: str | None = Query(None, max_length=20),
    customer_id: str | None = Query(None, max_length=40),
    lead_id: str | None = Query(None, max_length=40),
) -> Page[TaskOut]:
    """A consultant's own tasks (managers: their stores'), soonest first; done and cancelled
    ones latest first."""
    clauses = tasks_service.list_filter(
        principal, assignee=assignee, status=status, store_id=store_id, now=crm.now(), crm=crm
    )
    stmt = select(Task).where(*clauses)
    if customer_id:
        stmt = stmt.where(col(Task.customer_id) == customer_id)
    if lead_id:
        stmt = stmt.where(col(Task.lead_id) == lead_id)
    async with crm.db.session() as session:
        rows, cursor = await paginate(
            session,
            stmt,
            page,
            order=(col(Task.due_at), col(Task.id)),
            descending=status in ("done", "cancelled"),
        )
    return Page(items=[TaskOut.of(t, crm) for t in rows], next_cursor=cursor)


@router.post("", status_code=201, response_model=TaskOut, dependencies=[permission(WRITE)])
async def create_task(
    body: TaskIn, principal: CurrentPrincipal, crm: CrmDep, idem: IdempotencyDep
) -> Response:
    """Write down a follow-up by hand (for yourself; a manager may assign it to a colleague)."""
    async with crm.uow() as uow:
        if replay := await idem.begin(uow.session, body):
            return replay
        task = await tasks_service.create_manual(
            uow.session,
            crm,
            principal,
            NewTask(
                store_id=body.store_id,
                customer_id=body.customer_id,
                lead_id=body.lead_id or None,
                title=body.title,
                due_at=body.due_at,
                assignee=body.assignee,
                note=body.note,
            ),
        )
        response = await idem.complete(
            uow.session, 201, TaskOut.of(task, crm), headers={"ETag": etag(task.version)}
        )
        await uow.commit()
    return response


@router.get("/{task_id}", response_model=TaskOut, dependencies=[permission(READ)])
async def read_task(
    task_id: str, principal: CurrentPrincipal, crm: CrmDep, response: Response
) -> TaskOut:
    async with crm.db.session() as session:
        task = await tasks_service.get_visible(session, principal, task_id)
    return _answer(response, task, crm)


@router.post("/{task_id}/complete", response_model=TaskOut, dependencies=[permission(WRITE)])
async def complete_task(
    task_id: str,
    principal: CurrentPrincipal,
    crm: CrmDep,
    version: IfMatch,
    response: Response,
    body: CompleteIn | None = None,
) -> TaskOut:
    """Done, with what came of it; a grade follow-up schedules the next one by the lead's grade."""
    task = await tasks_service.complete(
        crm, principal, task_id, body.outcome if body else "", expected_version=version
    )
    return _answer(response, task, crm)


@router.post("/{task_id}/snooze", response_model=TaskOut, dependencies=[permission(WRITE)])
async def snooze_task(
    task_id: str,
    body: SnoozeIn,
    principal: CurrentPrincipal,
    crm: CrmDep,
    version: IfMatch,
    response: Response,
) -> TaskOut:
    """Move the task later (up to 90 days); it is announced again when the new time comes."""
    task = await tasks_service.snooze(crm, principal, task_id, body.until, expected_version=version)
    return _answer(response, task, crm)


@router.post("/{task_id}/cancel", response_model=TaskOut, dependencies=[permission(WRITE)])
async def cancel_task(
    task_id: str,
    principal: CurrentPrincipal,
    crm: CrmDep,
    version: IfMatch,
    response: Response,
    body: CancelIn | None = None,
) -> TaskOut:
    """The task no longer applies."""
    task = await tasks_service.cancel(
        crm, principal, task_id, body.reason if body else "", expected_version=version
    )
    return _answer(response, task, crm)
