"""Follow-up tasks (跟进) against the real PostgreSQL, RabbitMQ and the local notify sink:
the lead hooks, the rhythm, due and overdue lists per consultant on the controllable clock, the
due sweep (once per due time), the notifier (delivered, retried after a 500, failed on a 4xx),
birthdays and object-level access.

Stores TSK1-TSK9 and mobiles 1390071xxxx belong to this module.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select, text
from sqlmodel import col

from marque_crm import tasks_service
from marque_crm.customers_service import NewCustomer, find_or_create
from marque_crm.models import Lead, Notification, Task
from marque_crm.notify.consumer import handle_task_due
from marque_crm.notify.providers import provider_for
from marque_crm.unit_of_work import Clock, Crm
from marque_kit.envelope import wrap

Headers = Callable[..., dict[str, str]]


# --- arranging ---------------------------------------------------------------------------------


async def make_customer(
    crm: Crm, store: str, mobile: str, *, owner: str = "", birthday: date | None = None
) -> str:
    async with crm.uow() as uow:
        found = await find_or_create(
            uow.session, crm, NewCustomer(store, "王芳", mobile, source="phone", owner=owner)
        )
        customer = found.customer
        customer.owner = owner
        if birthday is not None:
            customer.birthday = birthday
        await uow.commit()
        return customer.id


async def make_lead(
    crm: Crm, store: str, customer_id: str, *, grade: str, assigned_to: str, status: str = "new"
) -> str:
    """A lead row as leads_service stores it, with the creation hook called in its transaction."""
    async with crm.uow() as uow:
        lead = Lead(
            id=str(uuid.uuid4()),
            store_id=store,
            customer_id=customer_id,
            channel="phone",
            status=status,
            grade=grade,
            assigned_to=assigned_to,
            created_at=crm.now(),
        )
        uow.session.add(lead)
        await uow.session.flush()
        await tasks_service.on_lead_created(uow.session, crm, lead)
        await uow.commit()
        return lead.id


async def change_lead(crm: Crm, lead_id: str, **changes: str) -> None:
    async with crm.uow() as uow:
        lead = await uow.session.get(Lead, lead_id, with_for_update=True)
        assert lead is not None
        previous_status, previous_grade = lead.status, lead.grade
        for name, value in changes.items():
            setattr(lead, name, value)
        lead.version += 1
        await tasks_service.on_lead_changed(uow.session, crm, lead, previous_status, previous_grade)
        await uow.commit()


async def tasks_of(crm: Crm, *, lead_id: str | None = None, customer_id: str = "") -> list[Task]:
    async with crm.db.session() as session:
        stmt = select(Task).order_by(col(Task.due_at), col(Task.kind))
        if lead_id:
            stmt = stmt.where(col(Task.lead_id) == lead_id)
        if customer_id:
            stmt = stmt.where(col(Task.customer_id) == customer_id)
        return list((await session.execute(stmt)).scalars().all())


def at_ten(crm: Crm, days_from_today: int) -> datetime:
    day = crm.today() + timedelta(days=days_from_today)
    return datetime(day.year, day.month, day.day, 10, 0, tzinfo=crm.zone)


async def manual_task(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    store: str,
    customer_id: str,
    *,
    due_at: datetime,
    title: str = "回电确认金融方案",
    assignee: str = "",
) -> dict[str, Any]:
    answer = await client.post(
        "/api/v1/crm/tasks",
        headers=headers,
        json={
            "store_id": store,
            "customer_id": customer_id,
            "title": title,
            "due_at": due_at.isoformat(),
            "assignee": assignee,
        },
    )
    assert answer.status_code == 201, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def outbox_task_due(crm: Crm, task_id: str) -> list[dict[str, Any]]:
    async with crm.db.session() as session:
        rows = await session.execute(
            text(
                "SELECT routing_key, envelope FROM outbox "
                "WHERE aggregate_id = :id AND event_type = 'marque.crm.v1.TaskDue' ORDER BY seq"
            ),
            {"id": task_id},
        )
        return [{"routing_key": r[0], "envelope": r[1]} for r in rows.all()]


async def eventually(probe: Callable[[], Any], what: str, within: float = 30.0) -> Any:
    """Poll `probe` (async) until it answers something truthy; the effect is asynchronous."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        value = await probe()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"still waiting for {what}")
        await asyncio.sleep(0.2)


async def notifications_of(crm: Crm, task_id: str) -> list[Notification]:
    async with crm.db.session() as session:
        rows = await session.execute(
            select(Notification).where(col(Notification.task_id) == task_id)
        )
        return list(rows.scalars().all())


# --- the lead hooks ------------------------------------------------------------------------------


async def test_a_lead_is_followed_up_by_grade_status_and_owner_until_it_closes(crm: Crm) -> None:
    customer = await make_customer(crm, "TSK1", "139 0071 0001")
    lead_id = await make_lead(crm, "TSK1", customer, grade="H", assigned_to="tsk.alice")
    [first] = await tasks_of(crm, lead_id=lead_id)
    assert (first.kind, first.status, first.assignee) == ("grade_interval", "open", "tsk.alice")
    assert first.due_at == at_ten(crm, 1)
    # The hook called again (at-least-once) makes no second task.
    async with crm.uow() as uow:
        lead = await uow.session.get(Lead, lead_id)
        assert lead is not None
        await tasks_service.on_lead_created(uow.session, crm, lead)
        await uow.commit()
    assert len(await tasks_of(crm, lead_id=lead_id)) == 1

    # Cooling down to C: the same task moves to 15 days out.
    await change_lead(crm, lead_id, grade="C")
    [moved] = await tasks_of(crm, lead_id=lead_id)
    assert moved.id == first.id and moved.due_at == at_ten(crm, 15)
    assert moved.version == first.version + 1

    # A test drive: call tomorrow; then a quote: in 2 days.
    await change_lead(crm, lead_id, status="test_drive")
    await change_lead(crm, lead_id, status="quoted")
    by_kind = {t.kind: t for t in await tasks_of(crm, lead_id=lead_id)}
    assert by_kind["test_drive"].due_at == at_ten(crm, 1)
    assert by_kind["quote_sent"].due_at == at_ten(crm, 2)

    # Reassigned: the open tasks follow the lead.
    await change_lead(crm, lead_id, assigned_to="tsk.bob")
    assert {t.assignee for t in await tasks_of(crm, lead_id=lead_id)} == {"tsk.bob"}

    # Graded N: no rhythm any more.
    await change_lead(crm, lead_id, grade="N")
    grade_task = next(t for t in await tasks_of(crm, lead_id=lead_id) if t.id == first.id)
    assert grade_task.status == "cancelled"

    # Lost: every open task of the lead is cancelled.
    await change_lead(crm, lead_id, status="lost")
    assert {t.status for t in await tasks_of(crm, lead_id=lead_id)} == {"cancelled"}


async def test_completing_a_grade_follow_up_schedules_the_next_by_the_grade_now(
    crm: Crm, client: httpx.AsyncClient, as_user: Headers
) -> None:
    alice = as_user("sales_consultant", "TSK2", sub="tsk2.alice")
    customer = await make_customer(crm, "TSK2", "139 0071 0002")
    lead_id = await make_lead(crm, "TSK2", customer, grade="A", assigned_to="tsk2.alice")
    [task] = await tasks_of(crm, lead_id=lead_id)
    assert task.due_at == at_ten(crm, 3)
    await change_lead(crm, lead_id, grade="H")

    url = f"/api/v1/crm/tasks/{task.id}"
    read = await client.get(url, headers=alice)
    assert read.status_code == 200 and read.headers["ETag"] == '"2"'
    stale = await client.post(
        f"{url}/complete", headers={**alice, "If-Match": '"1"'}, json={"outcome": "called"}
    )
    assert stale.status_code == 412, stale.text
    done = await client.post(
        f"{url}/complete",
        headers={**alice, "If-Match": read.headers["ETag"]},
        json={"outcome": "客户周六到店 coming Saturday"},
    )
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "done" and done.json()["completed_by"] == "tsk2.alice"

    tasks = await tasks_of(crm, lead_id=lead_id)
    [following] = [t for t in tasks if t.status == "open"]
    assert following.kind == "grade_interval" and following.due_at == at_ten(crm, 1)
    again = await client.post(
        f"{url}/complete", headers={**alice, "If-Match": done.headers["ETag"]}, json={}
    )
    assert again.status_code == 409 and "already done" in again.json()["detail"]


async def test_delivery_and_maintenance_hooks_are_idempotent(crm: Crm) -> None:
    customer = await make_customer(crm, "TSK3", "139 0071 0003")
    delivered = crm.today()
    for _ in range(2):
        async with crm.uow() as uow:
            await tasks_service.on_delivery(
                uow.session, crm, customer, "TSK3", delivered, "tsk3.carol"
            )
            await tasks_service.on_maintenance_due(
                uow.session, crm, customer, "TSK3", delivered + timedelta(days=180), "tsk3.sa", "V1"
            )
            await uow.commit()
    tasks = await tasks_of(crm, customer_id=customer)
    assert [(t.kind, t.due_at) for t in tasks] == [
        ("delivery_care", at_ten(crm, 3)),
        ("delivery_care", at_ten(crm, 30)),
        ("maintenance_due", at_ten(crm, 173)),
    ]


# --- lists and access ----------------------------------------------------------------------------


async def test_due_and_overdue_lists_per_consultant_follow_the_clock(
    crm: Crm, clock: Clock, client: httpx.AsyncClient, as_user: Headers
) -> None:
    carol = as_user("sales_consultant", "TSK4", sub="tsk4.carol")
    dave = as_user("sales_consultant", "TSK4", sub="tsk4.dave")
    manager = as_user("sales_manager", "TSK4", sub="tsk4.boss")
    other_store = as_user("sales_manager", "TSK5", sub="tsk5.boss")
    c1 = await make_customer(crm, "TSK4", "139 0071 0004")
    c2 = await make_customer(crm, "TSK4", "139 0071 0005")
    carol_lead = await make_lead(crm, "TSK4", c1, grade="H", assigned_to="tsk4.carol")
    dave_lead = await make_lead(crm, "TSK4", c2, grade="A", assigned_to="tsk4.dave")
    [carols] = await tasks_of(crm, lead_id=carol_lead)
    [daves] = await tasks_of(crm, lead_id=dave_lead)

    async def ids(headers: dict[str, str], status: str, **params: str) -> set[str]:
        answer = await client.get(
            "/api/v1/crm/tasks", headers=headers, params={"status": status, **params}
        )
        assert answer.status_code == 200, answer.text
        return {t["id"] for t in answer.json()["items"]}

    assert await ids(carol, "open", assignee="me") == {carols.id}
    assert await ids(carol, "due") == set()
    clock.shift(timedelta(days=1))
    try:
        assert await ids(carol, "due") == {carols.id}
        assert await ids(carol, "overdue") == set()
        clock.shift(timedelta(days=1))
        assert await ids(carol, "due") == set()
        assert await ids(carol, "overdue") == {carols.id}
        listed = await client.get("/api/v1/crm/tasks?status=overdue", headers=carol)
        assert listed.json()["items"][0]["status"] == "overdue"
        # Dave's A lead is due on day 3: not yet on anyone's due list.
        assert await ids(dave, "due") == set()
        assert await ids(manager, "open", store_id="TSK4") == {carols.id, daves.id}
        assert await ids(manager, "overdue", assignee="tsk4.carol") == {carols.id}
        assert await ids(other_store, "open") & {carols.id, daves.id} == set()
    finally:
        clock.shift(timedelta(days=-2))

    # A consultant cannot see, complete or list a colleague's task; another store not at all.
    assert (await client.get(f"/api/v1/crm/tasks/{daves.id}", headers=carol)).status_code == 404
    cancel = await client.post(
        f"/api/v1/crm/tasks/{daves.id}/cancel", headers={**carol, "If-Match": '"1"'}, json={}
    )
    assert cancel.status_code == 404
    peek = await client.get("/api/v1/crm/tasks", headers=carol, params={"assignee": "tsk4.dave"})
    assert peek.status_code == 403
    assert (
        await client.get(f"/api/v1/crm/tasks/{daves.id}", headers=other_store)
    ).status_code == 404
    assert (await client.get(f"/api/v1/crm/tasks/{daves.id}", headers=manager)).status_code == 200


async def test_manual_tasks_are_checked_and_idempotent(
    crm: Crm, client: httpx.AsyncClient, as_user: Headers
) -> None:
    erin = as_user("sales_consultant", "TSK6", sub="tsk6.erin")
    manager = as_user("sales_manager", "TSK6", sub="tsk6.boss")
    customer = await make_customer(crm, "TSK6", "139 0071 0006")
    due = crm.now() + timedelta(hours=3)
    body = {
        "store_id": "TSK6",
        "customer_id": customer,
        "title": "送资料",
        "due_at": due.isoformat(),
    }

    first = await client.post(
        "/api/v1/crm/tasks", headers={**erin, "Idempotency-Key": "tsk6-1"}, json=body
    )
    replay = await client.post(
        "/api/v1/crm/tasks", headers={**erin, "Idempotency-Key": "tsk6-1"}, json=body
    )
    assert first.status_code == replay.status_code == 201
    assert first.json()["id"] == replay.json()["id"]
    assert first.json()["assignee"] == "tsk6.erin" and first.json()["kind"] == "manual"

    for_colleague = await client.post(
        "/api/v1/crm/tasks", headers=erin, json={**body, "assignee": "tsk6.frank"}
    )
    assert for_colleague.status_code == 403
    assigned = await client.post(
        "/api/v1/crm/tasks", headers=manager, json={**body, "assignee": "tsk6.frank"}
    )
    assert assigned.status_code == 201 and assigned.json()["assignee"] == "tsk6.frank"

    past = await client.post(
        "/api/v1/crm/tasks",
        headers=erin,
        json={**body, "due_at": (crm.now() - timedelta(days=3)).isoformat()},
    )
    assert past.status_code == 422 and "between yesterday" in past.json()["detail"]
    nobody = await client.post(
        "/api/v1/crm/tasks", headers=erin, json={**body, "customer_id": str(uuid.uuid4())}
    )
    assert nobody.status_code == 404
    elsewhere = await client.post(
        "/api/v1/crm/tasks", headers=erin, json={**body, "store_id": "X9"}
    )
    assert elsewhere.status_code == 404

    task_id = first.json()["id"]
    too_far = await client.post(
        f"/api/v1/crm/tasks/{task_id}/snooze",
        headers={**erin, "If-Match": '"1"'},
        json={"until": (crm.now() + timedelta(days=120)).isoformat()},
    )
    assert too_far.status_code == 422
    snoozed = await client.post(
        f"/api/v1/crm/tasks/{task_id}/snooze",
        headers={**erin, "If-Match": '"1"'},
        json={"until": at_ten(crm, 2).isoformat()},
    )
    assert snoozed.status_code == 200, snoozed.text
    assert datetime.fromisoformat(snoozed.json()["due_at"]) == at_ten(crm, 2)
    cancelled = await client.post(
        f"/api/v1/crm/tasks/{task_id}/cancel",
        headers={**erin, "If-Match": snoozed.headers["ETag"]},
        json={"reason": "客户已到店"},
    )
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"


# --- the due sweep and the notifier --------------------------------------------------------------


async def test_the_sweep_announces_a_due_task_once_and_again_after_a_snooze(
    crm: Crm, client: httpx.AsyncClient, as_user: Headers
) -> None:
    gina = as_user("sales_consultant", "TSK7", sub="tsk7.gina")
    customer = await make_customer(crm, "TSK7", "139 0071 0007")
    task = await manual_task(
        client, gina, "TSK7", customer, due_at=crm.now() - timedelta(minutes=5)
    )
    await tasks_service.sweep_due(crm)
    await tasks_service.sweep_due(crm)
    [announced] = await outbox_task_due(crm, task["id"])
    assert announced["routing_key"] == "crm.task.due"
    envelope = announced["envelope"]
    assert envelope["type"] == "marque.crm.v1.TaskDue"
    assert envelope["subject"] == task["id"] and envelope["marquestore"] == "TSK7"
    assert envelope["data"]["assignee"] == "tsk7.gina" and envelope["data"]["kind"] == "manual"
    [row] = [t for t in await tasks_of(crm, customer_id=customer) if t.id == task["id"]]
    assert row.notified_at is not None

    # Snoozed a few minutes: announced again once the new time has come, and only then.
    until = crm.now() + timedelta(minutes=10)
    snoozed = await client.post(
        f"/api/v1/crm/tasks/{task['id']}/snooze",
        headers={**gina, "If-Match": f'"{row.version}"'},
        json={"until": until.isoformat()},
    )
    assert snoozed.status_code == 200, snoozed.text
    await tasks_service.sweep_due(crm)
    assert len(await outbox_task_due(crm, task["id"])) == 1
    await tasks_service.sweep_due(crm, crm.now() + timedelta(minutes=11))
    await tasks_service.sweep_due(crm, crm.now() + timedelta(minutes=11))
    assert len(await outbox_task_due(crm, task["id"])) == 2


async def test_the_notifier_reminds_the_consultant_through_the_sink(
    crm: Crm, client: httpx.AsyncClient, as_user: Headers, notify_sink: str
) -> None:
    manager = as_user("sales_manager", "TSK8", sub="tsk8.boss")
    customer = await make_customer(crm, "TSK8", "139 0071 0008")
    async with httpx.AsyncClient(base_url=notify_sink) as sink:
        # The provider will be down once for tsk8.retry and refuse tsk8.refuse's message.
        await sink.post("/fail", json={"count": 1, "status": 500, "match": "tsk8.retry"})
        await sink.post("/fail", json={"count": 1, "status": 400, "match": "tsk8.refuse"})
        due = crm.now() - timedelta(minutes=1)
        delivered, retried, refused = [
            await manual_task(
                client, manager, "TSK8", customer, due_at=due, title=title, assignee=who
            )
            for title, who in (
                ("回访试驾", "tsk8.hank"),
                ("报价跟进", "tsk8.retry"),
                ("送生日礼", "tsk8.refuse"),
            )
        ]
        await tasks_service.sweep_due(crm)

        async def received(task_id: str) -> list[dict[str, Any]]:
            answer = await sink.get("/messages", params={"ref": f"task:{task_id}"})
            items: list[dict[str, Any]] = answer.json()["items"]
            return items

        async def attempts(task_id: str) -> list[int]:
            answer = await sink.get("/attempts", params={"ref": f"task:{task_id}"})
            return [a["status"] for a in answer.json()["items"]]

        # Delivered: the WeChat Work message to the consultant, recorded as sent.
        [message] = await eventually(lambda: received(delivered["id"]), "the reminder")
        assert message["channel"] == "wechat" and message["to"] == "tsk8.hank"
        assert message["audience"] == "staff" and message["template"] == "crm_task_due"
        assert "回访试驾" in message["text"] and "+86 139****0008" in message["text"]
        [sent] = await eventually(lambda: notifications_of(crm, delivered["id"]), "its record")
        assert (sent.status, sent.provider_id, sent.to_masked) == (
            "sent",
            message["id"],
            "tsk8.hank",
        )

        # A 500: retried by the kit, then delivered once.
        [late] = await eventually(lambda: received(retried["id"]), "the retried reminder")
        assert await attempts(retried["id"]) == [500, 200]
        [record] = await eventually(lambda: notifications_of(crm, retried["id"]), "its record")
        assert record.status == "sent" and record.provider_id == late["id"]

        # A 400: recorded failed, not retried, nothing delivered; the worker goes on.
        [failed] = await eventually(lambda: notifications_of(crm, refused["id"]), "the failure")
        assert failed.status == "failed" and "400" in failed.error
        assert await received(refused["id"]) == []
        assert await attempts(refused["id"]) == [400]
        after = await manual_task(
            client, manager, "TSK8", customer, due_at=due, assignee="tsk8.refuse"
        )
        await tasks_service.sweep_due(crm)
        await eventually(lambda: received(after["id"]), "a reminder after the failure")


async def test_a_reminder_for_a_task_done_or_snoozed_since_is_not_sent(
    crm: Crm, client: httpx.AsyncClient, as_user: Headers, notify_sink: str
) -> None:
    ivy = as_user("sales_consultant", "TSK8", sub="tsk8.ivy")
    customer = await make_customer(crm, "TSK8", "139 0071 0009")
    due = crm.now() + timedelta(hours=1)
    done, snoozed = [await manual_task(client, ivy, "TSK8", customer, due_at=due) for _ in "ab"]
    # The TaskDue events as the sweep emits them (not put on the bus: the running notifier must
    # not take them before the consultant acts).
    events = {}
    async with crm.db.session() as session:
        for task in (done, snoozed):
            row = await session.get(Task, task["id"])
            assert row is not None
            out = tasks_service.task_due_event(row, crm.now())
            events[row.id] = wrap(out.message, source="marque/crm", subject=row.id, store="TSK8")
    headers = {**ivy, "If-Match": '"1"'}
    answer = await client.post(f"/api/v1/crm/tasks/{done['id']}/complete", headers=headers)
    assert answer.status_code == 200, answer.text
    answer = await client.post(
        f"/api/v1/crm/tasks/{snoozed['id']}/snooze",
        headers=headers,
        json={"until": (crm.now() + timedelta(days=1)).isoformat()},
    )
    assert answer.status_code == 200, answer.text

    provider = provider_for(crm, "wechat")
    for envelope in events.values():
        async with crm.db.session() as session, session.begin():
            assert await handle_task_due(session, crm, envelope, provider) is None
    async with httpx.AsyncClient(base_url=notify_sink) as sink:
        for task_id in events:
            answer = await sink.get("/attempts", params={"ref": f"task:{task_id}"})
            assert answer.json()["items"] == []
            assert await notifications_of(crm, task_id) == []


# --- birthdays -----------------------------------------------------------------------------------


async def test_birthday_calls_are_made_once_a_year_the_day_before(crm: Crm) -> None:
    tomorrow = crm.today() + timedelta(days=1)
    born = date(1992, tomorrow.month, tomorrow.day)  # a leap year: any day of the year exists
    fan = await make_customer(crm, "TSK9", "139 0071 0010", owner="tsk9.judy", birthday=born)
    no_owner = await make_customer(crm, "TSK9", "139 0071 0011", birthday=born)
    await tasks_service.sweep_birthdays(crm)
    await tasks_service.sweep_birthdays(crm)
    [call] = await tasks_of(crm, customer_id=fan)
    assert (call.kind, call.assignee, call.store_id) == ("birthday", "tsk9.judy", "TSK9")
    assert call.due_at == at_ten(crm, 0)
    assert call.dedupe_key == f"customer:{fan}:birthday:{tomorrow.year}"
    assert await tasks_of(crm, customer_id=no_owner) == []


async def test_a_leap_day_birthday_is_called_on_27_february_in_a_common_year(crm: Crm) -> None:
    leap = await make_customer(
        crm, "TSK9", "139 0071 0012", owner="tsk9.judy", birthday=date(1996, 2, 29)
    )
    await tasks_service.sweep_birthdays(crm, date(2027, 2, 27))
    await tasks_service.sweep_birthdays(crm, date(2027, 2, 24))
    [call] = await tasks_of(crm, customer_id=leap)
    assert call.due_at == datetime(2027, 2, 27, 10, tzinfo=crm.zone)
    assert call.dedupe_key == f"customer:{leap}:birthday:2027"
    # In a leap year the call is on the 28th.
    await tasks_service.sweep_birthdays(crm, date(2028, 2, 28))
    calls = await tasks_of(crm, customer_id=leap)
    assert [c.due_at for c in calls] == [
        datetime(2027, 2, 27, 10, tzinfo=crm.zone),
        datetime(2028, 2, 28, 10, tzinfo=crm.zone),
    ]
