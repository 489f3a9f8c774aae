"""Complaints intake (投诉) against the real PostgreSQL: routing by category, the time to respond in
store business hours (09:00-18:00 Shanghai by default), the overdue list against the controllable
clock, store scoping, If-Match, the timeline line and the outbox event for aftersales.

Stores CPL1..CPL3 are this module's own; mobiles are 139 0066 xxxx.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import select

from marque.crm.v1 import events_pb2
from marque_crm.unit_of_work import Clock, Crm
from marque_kit.envelope import Envelope
from marque_kit.tables import outbox

Headers = Callable[..., dict[str, str]]
COMPLAINTS = "/api/v1/crm/complaints"
SHANGHAI = ZoneInfo("Asia/Shanghai")


@contextmanager
def clock_at(clock: Clock, local: datetime) -> Iterator[None]:
    """CRM's "now" at this Shanghai wall time for the block (plus the block's own running time)."""
    delta = local.astimezone(SHANGHAI) - clock.now()
    clock.shift(delta)
    try:
        yield
    finally:
        clock.shift(-delta)


def a_coming_day(hour: int, minute: int = 0) -> datetime:
    """A wall time in Shanghai a few days ahead, so that the whole test lies in CRM's future."""
    day = date.today() + timedelta(days=3)
    return datetime.combine(day, time(hour, minute), tzinfo=SHANGHAI)


async def customer(client: httpx.AsyncClient, as_hq: dict[str, str], store: str, n: int) -> str:
    answer = await client.post(
        "/api/v1/crm/customers",
        headers=as_hq,
        json={"store_id": store, "name": "黄先生", "mobile": f"+86139006{n:05d}"},
    )
    assert answer.status_code in (200, 201), answer.text
    return str(answer.json()["id"])


def complaint_body(store: str, customer_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "store_id": store,
        "customer_id": customer_id,
        "category": "repair_quality",
        "severity": "high",
        "summary": "保养后发动机异响 engine noise after service",
        "details": "客户2月27日做了2万公里保养，次日起冷车启动有异响。",
        "channel": "hotline_400",
        "repair_order": "RO-CPL1-20260227-0042",
        "vin": "LGXCE4CB5R0123456",
        **extra,
    }


async def test_a_complaint_is_routed_with_a_deadline_and_shows_overdue_when_missed(
    client: httpx.AsyncClient, as_hq: dict[str, str], as_user: Headers, clock: Clock, crm: Crm
) -> None:
    manager = as_user("store_manager", "CPL1", sub="cpl1.manager")
    customer_id = await customer(client, as_hq, "CPL1", 1)
    # Registered at 16:00: 2 business hours left today, 2 more from 09:00 tomorrow.
    registered_at = a_coming_day(16)
    with clock_at(clock, registered_at):
        answer = await client.post(
            COMPLAINTS, headers=manager, json=complaint_body("CPL1", customer_id)
        )
    assert answer.status_code == 201, answer.text
    complaint = answer.json()
    assert complaint["department"] == "service"
    assert complaint["status"] == "received" and complaint["overdue"] is False
    respond_by = datetime.fromisoformat(complaint["respond_by"]).astimezone(SHANGHAI)
    assert respond_by.date() == registered_at.date() + timedelta(days=1)
    assert (respond_by.hour, respond_by.minute) == (11, 0)
    assert answer.headers["ETag"] == '"1"'

    # A billing complaint goes to finance; the caller may route it elsewhere by hand.
    with clock_at(clock, registered_at):
        billing = await client.post(
            COMPLAINTS,
            headers=manager,
            json=complaint_body(
                "CPL1", customer_id, category="billing", severity="low", repair_order="", vin=""
            ),
        )
        rerouted = await client.post(
            COMPLAINTS,
            headers=manager,
            json=complaint_body("CPL1", customer_id, category="pricing", department="other"),
        )
    assert billing.json()["department"] == "finance"
    assert rerouted.json()["department"] == "other"

    async def overdue_ids() -> set[str]:
        listed = await client.get(
            COMPLAINTS, headers=manager, params={"store_id": "CPL1", "overdue": "true"}
        )
        assert listed.status_code == 200, listed.text
        return {c["id"] for c in listed.json()["items"]}

    with clock_at(clock, respond_by - timedelta(minutes=5)):
        assert complaint["id"] not in await overdue_ids()
    with clock_at(clock, respond_by + timedelta(minutes=5)):
        assert complaint["id"] in await overdue_ids()
        shown = await client.get(f"{COMPLAINTS}/{complaint['id']}", headers=manager)
        assert shown.json()["overdue"] is True
        # Answering the customer takes it off the overdue list.
        answer = await client.patch(
            f"{COMPLAINTS}/{complaint['id']}",
            headers={**manager, "If-Match": '"1"'},
            json={"status": "acknowledged", "assignee": "cpl1.service", "note": "已致电客户"},
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["responded_at"] is not None
        assert answer.headers["ETag"] == '"2"'
        assert complaint["id"] not in await overdue_ids()

    # The timeline shows it, and aftersales gets the event with the repair order and VIN.
    timeline = await client.get(f"/api/v1/crm/customers/{customer_id}/timeline", headers=manager)
    refs = [e["ref"] for e in timeline.json()["items"]]
    assert refs.count(f"complaint:{complaint['id']}") == 2
    async with crm.db.session() as session:
        rows = (
            await session.execute(
                select(outbox.c.routing_key, outbox.c.envelope).where(
                    outbox.c.aggregate_id == complaint["id"]
                )
            )
        ).all()
    assert [r.routing_key for r in rows] == ["crm.complaint.registered"]
    event: Any = Envelope.from_dict(rows[0].envelope).parse(events_pb2.ComplaintRegistered)
    assert (event.repair_order, event.vin) == ("RO-CPL1-20260227-0042", "LGXCE4CB5R0123456")
    assert event.department == "service" and event.customer_id == customer_id


async def test_status_moves_need_the_current_version_and_a_resolution(
    client: httpx.AsyncClient, as_hq: dict[str, str], as_user: Headers
) -> None:
    manager = as_user("sales_manager", "CPL2", sub="cpl2.manager")
    customer_id = await customer(client, as_hq, "CPL2", 2)
    created = await client.post(
        COMPLAINTS,
        headers=manager,
        json=complaint_body("CPL2", customer_id, category="delivery", severity="medium"),
    )
    assert created.status_code == 201, created.text
    path = f"{COMPLAINTS}/{created.json()['id']}"

    moved = await client.patch(
        path, headers={**manager, "If-Match": '"1"'}, json={"status": "in_progress"}
    )
    assert moved.status_code == 200
    stale = await client.patch(
        path, headers={**manager, "If-Match": '"1"'}, json={"status": "resolved"}
    )
    assert stale.status_code == 412
    assert "version 2" in stale.json()["detail"]
    no_resolution = await client.patch(
        path, headers={**manager, "If-Match": '"2"'}, json={"status": "resolved"}
    )
    assert no_resolution.status_code == 422
    assert "resolution" in no_resolution.json()["detail"]
    impossible = await client.patch(
        path, headers={**manager, "If-Match": '"2"'}, json={"status": "closed"}
    )
    assert impossible.status_code == 409
    resolved = await client.patch(
        path,
        headers={**manager, "If-Match": '"2"'},
        json={"status": "resolved", "resolution": "交车日期重新确认并赠送一次保养"},
    )
    assert resolved.status_code == 200
    assert resolved.json()["resolved_at"] is not None
    closed = await client.patch(
        path, headers={**manager, "If-Match": '"3"'}, json={"status": "closed"}
    )
    assert closed.json()["status"] == "closed" and closed.json()["version"] == 4
    missing = await client.patch(path, headers=manager, json={"status": "closed"})
    assert missing.status_code == 428


async def test_another_stores_complaints_do_not_exist_for_you(
    client: httpx.AsyncClient, as_hq: dict[str, str], as_user: Headers
) -> None:
    owner = as_user("store_manager", "CPL3", sub="cpl3.manager")
    customer_id = await customer(client, as_hq, "CPL3", 3)
    created = await client.post(COMPLAINTS, headers=owner, json=complaint_body("CPL3", customer_id))
    complaint_id = created.json()["id"]

    stranger = as_user("store_manager", "CPL1", sub="cpl1.other")
    assert (await client.get(f"{COMPLAINTS}/{complaint_id}", headers=stranger)).status_code == 404
    patched = await client.patch(
        f"{COMPLAINTS}/{complaint_id}",
        headers={**stranger, "If-Match": '"1"'},
        json={"status": "acknowledged"},
    )
    assert patched.status_code == 404
    listed = await client.get(COMPLAINTS, headers=stranger)
    assert complaint_id not in {c["id"] for c in listed.json()["items"]}
    assert (
        await client.get(COMPLAINTS, headers=stranger, params={"store_id": "CPL3"})
    ).status_code == 404
    # Registering in a store that is not yours: 404 as well.
    answer = await client.post(
        COMPLAINTS, headers=stranger, json=complaint_body("CPL3", customer_id)
    )
    assert answer.status_code == 404
    # HQ sees it.
    assert (await client.get(f"{COMPLAINTS}/{complaint_id}", headers=as_hq)).status_code == 200
    # A consultant holds no complaints permission.
    consultant = as_user("sales_consultant", "CPL3", sub="cpl3.consultant")
    assert (await client.get(COMPLAINTS, headers=consultant)).status_code == 403


async def test_bad_complaints_are_refused_with_reasons(
    client: httpx.AsyncClient, as_hq: dict[str, str], as_user: Headers
) -> None:
    manager = as_user("store_manager", "CPL3", sub="cpl3.manager")
    customer_id = await customer(client, as_hq, "CPL3", 4)
    answer = await client.post(
        COMPLAINTS, headers=manager, json=complaint_body("CPL3", customer_id, category="noise")
    )
    assert answer.status_code == 422
    assert "repair_quality" in answer.json()["detail"]  # says which categories exist
    answer = await client.post(
        COMPLAINTS,
        headers=manager,
        json=complaint_body("CPL3", customer_id, vin="LGXCE4CB5R012345O"),
    )
    assert answer.status_code == 422 and "VIN" in answer.json()["detail"]
    answer = await client.post(
        COMPLAINTS, headers=manager, json=complaint_body("CPL3", "no-such-customer")
    )
    assert answer.status_code == 404
