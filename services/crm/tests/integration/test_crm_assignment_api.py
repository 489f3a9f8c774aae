"""Lead assignment against the real database: 1,000 concurrent intakes shared fairly with nobody on
leave getting any, routing by channel, the roster and rules APIs (managers only, 422s, If-Match),
manual reassignment, and the first-contact SLA escalating on time (business minutes) once per
assignee, with reassignment when the store says so.

Stores ASG1..ASG6 and mobiles 1370931xxxx belong to this module.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from datetime import datetime, time, timedelta
from typing import Any

import httpx
from sqlalchemy import func, select, text, update
from sqlmodel import col

from marque_crm.assignment_service import sweep_sla
from marque_crm.domain.business_time import add_business_minutes
from marque_crm.domain.leads import LeadDetails
from marque_crm.domain.store_rules import BusinessHours
from marque_crm.leads_service import NewLead, create_lead
from marque_crm.models import Assignment, Lead, SlaEscalation
from marque_crm.unit_of_work import Clock, Crm

Headers = Callable[..., dict[str, str]]
API = "/api/v1/crm"
_counter = iter(range(10000))


def mobile() -> str:
    return f"1370931{next(_counter):04d}"


async def new_lead(crm: Crm, store: str, channel: str = "website", model: str = "") -> Lead:
    async with crm.uow() as uow:
        intake = await create_lead(
            uow.session,
            crm,
            NewLead(
                store_id=store,
                channel=channel,
                name="赵敏",
                mobile=mobile(),
                details=LeadDetails(model_code=model),
                actor="test",
            ),
        )
        await uow.commit()
    assert intake.outcome == "created"
    return intake.lead


async def roster(
    client: httpx.AsyncClient, manager: dict[str, str], store: str, *people: dict[str, Any]
) -> None:
    for person in people:
        body = {k: v for k, v in person.items() if k != "subject"}
        body.setdefault("name", person["subject"])
        r = await client.put(
            f"{API}/stores/{store}/consultants/{person['subject']}", json=body, headers=manager
        )
        assert r.status_code == 201, r.text


async def set_rules(
    client: httpx.AsyncClient, manager: dict[str, str], store: str, **rules: Any
) -> dict[str, Any]:
    current = await client.get(f"{API}/stores/{store}/rules", headers=manager)
    assert current.status_code == 200, current.text
    r = await client.put(
        f"{API}/stores/{store}/rules",
        json=rules,
        headers={**manager, "If-Match": current.headers["ETag"]},
    )
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def outbox(crm: Crm, lead_id: str, routing_key: str) -> list[dict[str, Any]]:
    async with crm.db.session() as session:
        rows = await session.execute(
            text(
                "SELECT envelope FROM outbox WHERE aggregate_id = :id AND routing_key = :key "
                "ORDER BY position"
            ),
            {"id": lead_id, "key": routing_key},
        )
        return [r[0] for r in rows]


async def reload(crm: Crm, lead_id: str) -> Lead:
    async with crm.db.session() as session:
        lead = await session.get(Lead, lead_id)
    assert lead is not None
    return lead


async def escalations(crm: Crm, lead_id: str) -> list[SlaEscalation]:
    async with crm.db.session() as session:
        rows = await session.execute(
            select(SlaEscalation)
            .where(col(SlaEscalation.lead_id) == lead_id)
            .order_by(col(SlaEscalation.id))
        )
        return list(rows.scalars().all())


# ---- Round robin over 1,000 concurrent intakes ------------------------------------------------


async def test_round_robin_is_fair_over_1000_concurrent_leads_and_leave_gets_none(
    crm: Crm, client: httpx.AsyncClient, as_user: Headers
) -> None:
    store = "ASG1"
    manager = as_user("store_manager", store, sub="asg1.boss")
    today = crm.today()
    on_duty = [f"asg1.c{i}" for i in range(1, 8)]
    await roster(
        client,
        manager,
        store,
        *({"subject": s} for s in on_duty),
        {
            "subject": "asg1.away",
            "on_leave_from": str(today - timedelta(days=1)),
            "on_leave_until": str(today + timedelta(days=30)),
        },
        {"subject": "asg1.off", "on_duty": False},
        {"subject": "asg1.boss", "role": "manager"},
    )
    # Keep these leads out of other modules' clock-shifting tests' way: the longest SLA.
    await set_rules(client, manager, store, sla_minutes=7 * 24 * 60)

    leads: list[Lead] = []
    for _ in range(1000 // 20):
        leads.extend(await asyncio.gather(*(new_lead(crm, store) for _ in range(20))))

    async with crm.db.session() as session:
        rows = await session.execute(
            select(col(Lead.assigned_to), func.count())
            .where(col(Lead.store_id) == store)
            .group_by(col(Lead.assigned_to))
        )
        counts = {subject: int(n) for subject, n in rows.all()}
        history = await session.execute(
            select(col(Assignment.strategy), func.count())
            .where(col(Assignment.store_id) == store)
            .group_by(col(Assignment.strategy))
        )
        strategies = dict(history.all())
    assert sum(counts.values()) == 1000
    assert set(counts) == set(on_duty), counts  # nobody on leave, off duty or managing got one
    assert max(counts.values()) - min(counts.values()) <= 1, counts
    assert strategies == {"round_robin": 1000}
    # Every assignment told the world, with the consultant in the snapshot.
    sample = leads[137]
    (assigned,) = await outbox(crm, sample.id, "crm.lead.assigned")
    assert assigned["data"]["lead"]["assignedTo"] == sample.assigned_to
    assert assigned["data"]["strategy"] == "round_robin"


# ---- Routing, nobody on duty ------------------------------------------------------------------


async def test_by_channel_routes_and_falls_back_and_nobody_on_duty_waits(
    crm: Crm, client: httpx.AsyncClient, as_user: Headers
) -> None:
    store = "ASG2"
    manager = as_user("sales_manager", store, sub="asg2.boss")
    # Nobody on the roster yet: the lead waits unassigned, and the history says why.
    waiting = await new_lead(crm, store, "phone")
    assert waiting.assigned_to == ""
    async with crm.db.session() as session:
        (row,) = (
            (await session.execute(select(Assignment).where(col(Assignment.lead_id) == waiting.id)))
            .scalars()
            .all()
        )
    assert row.strategy == "unassigned" and "Nobody is on duty" in row.reason

    await roster(
        client,
        manager,
        store,
        {"subject": "asg2.web1"},
        {"subject": "asg2.web2"},
        {"subject": "asg2.floor"},
    )
    body = await set_rules(
        client,
        manager,
        store,
        strategy="by_channel",
        routes={"autohome": ["asg2.web1", "asg2.web2"]},
        sla_minutes=7 * 24 * 60,
    )
    assert body["routes"] == {"autohome": ["asg2.web1", "asg2.web2"]}
    # The sweep gives the waiting lead to someone now on duty.
    await sweep_sla(crm, crm.now(), stores=[store])
    assert (await reload(crm, waiting.id)).assigned_to in {"asg2.web1", "asg2.web2", "asg2.floor"}

    routed = [await new_lead(crm, store, "autohome") for _ in range(6)]
    assert Counter(lead.assigned_to for lead in routed) == {"asg2.web1": 3, "asg2.web2": 3}
    fallback = [await new_lead(crm, store, "phone") for _ in range(6)]
    got = Counter(lead.assigned_to for lead in fallback)
    assert sum(got.values()) == 6 and set(got) == {"asg2.web1", "asg2.web2", "asg2.floor"}
    assert max(got.values()) - min(got.values()) <= 1
    history = await client.get(f"{API}/leads/{fallback[0].id}/assignments", headers=manager)
    assert history.status_code == 200
    (entry,) = history.json()["items"]
    assert entry["strategy"] == "by_channel" and "No route for channel 'phone'" in entry["reason"]


async def test_least_open_fills_the_lightest_load_and_by_model_routes(
    crm: Crm, client: httpx.AsyncClient, as_user: Headers
) -> None:
    store = "ASG8"
    manager = as_user("store_manager", store, sub="asg8.boss")
    await roster(client, manager, store, {"subject": "asg8.a"})
    await set_rules(client, manager, store, strategy="least_open", sla_minutes=7 * 24 * 60)
    early = [await new_lead(crm, store) for _ in range(3)]
    assert {lead.assigned_to for lead in early} == {"asg8.a"}
    await roster(client, manager, store, {"subject": "asg8.b"})
    later = [await new_lead(crm, store) for _ in range(5)]
    # b starts with none open: b takes leads until level, then they alternate.
    assert [lead.assigned_to for lead in later][:3] == ["asg8.b"] * 3
    assert Counter(lead.assigned_to for lead in later) == {"asg8.b": 4, "asg8.a": 1}

    await roster(client, manager, store, {"subject": "asg8.ev"})
    await set_rules(
        client,
        manager,
        store,
        strategy="by_model",
        routes={"HAN": ["asg8.ev"]},
        sla_minutes=7 * 24 * 60,
    )
    han = [await new_lead(crm, store, "website", "HAN") for _ in range(3)]
    assert {lead.assigned_to for lead in han} == {"asg8.ev"}
    history = await client.get(f"{API}/leads/{han[0].id}/assignments", headers=manager)
    assert history.json()["items"][0]["strategy"] == "by_model"


# ---- Roster and rules APIs ------------------------------------------------------------------


async def test_roster_and_rules_are_for_managers_with_if_match_and_clear_422s(
    client: httpx.AsyncClient, as_user: Headers
) -> None:
    store = "ASG3"
    manager = as_user("sales_manager", store, sub="asg3.boss")
    consultant = as_user("sales_consultant", store, sub="asg3.c1")
    url = f"{API}/stores/{store}/consultants/asg3.c1"
    assert (await client.put(url, json={"name": "我"}, headers=consultant)).status_code == 403
    assert (
        await client.get(f"{API}/stores/{store}/consultants", headers=consultant)
    ).status_code == 403
    other = as_user("sales_manager", "ASG9", sub="asg9.boss")
    assert (await client.put(url, json={"name": "x"}, headers=other)).status_code == 404

    created = await client.put(url, json={"name": "陈静"}, headers=manager)
    assert created.status_code == 201 and created.headers["ETag"] == '"1"'
    # Changing an existing entry needs the version read.
    leave = {"name": "陈静", "on_leave_from": "2026-05-01", "on_leave_until": "2026-05-07"}
    assert (await client.put(url, json=leave, headers=manager)).status_code == 428
    stale = await client.put(url, json=leave, headers={**manager, "If-Match": '"7"'})
    assert stale.status_code == 412
    ok = await client.put(url, json=leave, headers={**manager, "If-Match": '"1"'})
    assert ok.status_code == 200 and ok.json()["on_leave_until"] == "2026-05-07"
    backwards = {"name": "陈静", "on_leave_from": "2026-05-07", "on_leave_until": "2026-05-01"}
    bad = await client.put(url, json=backwards, headers={**manager, "If-Match": '"2"'})
    assert bad.status_code == 422 and "before it starts" in bad.json()["detail"]
    bad_role = await client.put(
        f"{API}/stores/{store}/consultants/asg3.c2",
        json={"name": "x", "role": "ceo"},
        headers=manager,
    )
    assert bad_role.status_code == 422 and "consultant, manager" in bad_role.json()["detail"]
    listed = await client.get(f"{API}/stores/{store}/consultants", headers=manager)
    assert [c["subject"] for c in listed.json()["items"]] == ["asg3.c1"]

    rules_url = f"{API}/stores/{store}/rules"
    first = await client.get(rules_url, headers=manager)
    assert first.status_code == 200 and first.headers["ETag"] == '"0"'
    assert first.json()["strategy"] == "round_robin" and first.json()["sla_minutes"] == 30
    assert (await client.put(rules_url, json={}, headers=consultant)).status_code == 403
    assert (await client.put(rules_url, json={}, headers=manager)).status_code == 428

    async def put(body: dict[str, Any], version: str = '"0"') -> httpx.Response:
        return await client.put(rules_url, json=body, headers={**manager, "If-Match": version})

    refusals: list[tuple[dict[str, Any], str]] = [
        ({"strategy": "lottery"}, "not one of round_robin"),
        ({"sla_minutes": 0}, "1 minute to 7 days"),
        ({"hours": {"opens": "19:00", "closes": "09:00"}}, "open before they close"),
        ({"hours": {"opens": "9am"}}, "HH:MM"),
        ({"hours": {"weekdays": [0, 8]}}, "ISO weekdays"),
        ({"follow_up_days": {"H": 0}}, "1-365 days"),
        ({"strategy": "by_channel", "routes": {"tiktok": ["asg3.c1"]}}, "not a lead channel"),
        ({"routes": {"autohome": ["asg3.ghost"]}}, "not on store ASG3's roster"),
        ({"lost_reasons": []}, "at least one reason"),
    ]
    for body, says in refusals:
        r = await put(body)
        assert r.status_code == 422, (body, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert says in r.json()["detail"], (body, r.json()["detail"])

    saved = await put(
        {
            "strategy": "least_open",
            "sla_minutes": 45,
            "reassign_on_sla_breach": True,
            "hours": {"opens": "08:30", "closes": "20:00", "weekdays": [1, 2, 3, 4, 5, 6]},
            "follow_up_days": {"H": 2, "A": 4, "B": 8, "C": 20},
        }
    )
    assert saved.status_code == 200, saved.text
    assert saved.headers["ETag"] == '"1"'
    assert saved.json()["hours"] == {
        "opens": "08:30",
        "closes": "20:00",
        "weekdays": [1, 2, 3, 4, 5, 6],
    }
    assert (await put({"sla_minutes": 60})).status_code == 412  # still says version 0
    again = await client.get(rules_url, headers=manager)
    assert again.json()["strategy"] == "least_open" and again.json()["version"] == 1


# ---- Manual reassignment -----------------------------------------------------------------------


async def test_manual_reassignment_by_a_manager_with_a_reason(
    crm: Crm, client: httpx.AsyncClient, as_user: Headers
) -> None:
    store = "ASG4"
    manager = as_user("sales_manager", store, sub="asg4.boss")
    today = crm.today()
    await roster(
        client,
        manager,
        store,
        {"subject": "asg4.a"},
        {"subject": "asg4.b", "on_duty": False},
        {"subject": "asg4.away", "on_leave_from": str(today), "on_leave_until": str(today)},
    )
    await set_rules(client, manager, store, sla_minutes=7 * 24 * 60)
    lead = await new_lead(crm, store)
    assert lead.assigned_to == "asg4.a"
    url = f"{API}/leads/{lead.id}/reassign"

    consultant = as_user("sales_consultant", store, sub="asg4.a")
    r = await client.post(url, json={"to": "asg4.b", "reason": "swap"}, headers=consultant)
    assert r.status_code == 403
    elsewhere = as_user("sales_manager", "ASG9", sub="asg9.boss")
    r = await client.post(url, json={"to": "asg4.b", "reason": "x"}, headers=elsewhere)
    assert r.status_code == 404
    for body, says in [
        ({"to": "asg4.stranger", "reason": "x"}, "not on this store's roster"),
        ({"to": "asg4.away", "reason": "x"}, "on leave"),
        ({"to": "asg4.a", "reason": "x"}, "already assigned"),
        ({"to": "asg4.b", "reason": "   "}, "Say why"),
    ]:
        r = await client.post(url, json=body, headers=manager)
        assert r.status_code == 422, (body, r.text)
        assert says in r.json()["detail"]

    # Off duty is the manager's call: allowed by hand.
    r = await client.post(
        url,
        json={"to": "asg4.b", "reason": "客户要求更换顾问 customer asked"},
        headers={**manager, "Idempotency-Key": f"reassign-{lead.id}"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["assigned_to"] == "asg4.b" and r.json()["version"] == lead.version + 1
    replay = await client.post(
        url,
        json={"to": "asg4.b", "reason": "客户要求更换顾问 customer asked"},
        headers={**manager, "Idempotency-Key": f"reassign-{lead.id}"},
    )
    assert replay.status_code == 200 and replay.headers.get("Idempotent-Replayed") == "true"

    history = await client.get(f"{API}/leads/{lead.id}/assignments", headers=manager)
    items = history.json()["items"]
    assert [(i["strategy"], i["assignee"], i["previous"]) for i in items] == [
        ("round_robin", "asg4.a", ""),
        ("manual", "asg4.b", "asg4.a"),
    ]
    assert items[1]["actor"] == "asg4.boss" and items[1]["reason"].startswith("客户要求")
    # The old owner no longer sees the lead's history; the new one does.
    assert (
        await client.get(f"{API}/leads/{lead.id}/assignments", headers=consultant)
    ).status_code == 404
    new_owner = as_user("sales_consultant", store, sub="asg4.b")
    assert (
        await client.get(f"{API}/leads/{lead.id}/assignments", headers=new_owner)
    ).status_code == 200
    events = await outbox(crm, lead.id, "crm.lead.assigned")
    assert [e["data"]["strategy"] for e in events] == ["round_robin", "manual"]
    assert events[1]["data"]["previousAssignee"] == "asg4.a"
    assert events[1]["data"]["actor"] == "asg4.boss"


# ---- First-contact SLA ------------------------------------------------------------------------


def far_future_morning(crm: Crm, days: int) -> datetime:
    """10:00 local on a day far ahead: no other test's clock reaches these leads."""
    day = crm.today() + timedelta(days=days)
    return datetime.combine(day, time(10, 0), tzinfo=crm.zone)


async def start_sla_clock(crm: Crm, lead_id: str, at: datetime) -> None:
    """Arrange: the lead was created and assigned at `at`."""
    async with crm.uow() as uow:
        await uow.session.execute(
            update(Lead).where(col(Lead.id) == lead_id).values(created_at=at, assigned_at=at)
        )
        await uow.commit()


async def test_sla_escalates_on_time_once_per_assignee_and_reassigns(
    crm: Crm, client: httpx.AsyncClient, as_user: Headers
) -> None:
    store = "ASG5"
    manager = as_user("sales_manager", store, sub="asg5.boss")
    await roster(
        client,
        manager,
        store,
        {"subject": "asg5.a"},
        {"subject": "asg5.b"},
        {"subject": "asg5.boss", "role": "manager"},
        {"subject": "asg5.deputy", "role": "manager"},
    )
    await set_rules(
        client,
        manager,
        store,
        sla_minutes=30,
        reassign_on_sla_breach=True,
        hours={"opens": "09:00", "closes": "18:00", "weekdays": [1, 2, 3, 4, 5, 6, 7]},
    )
    lead = await new_lead(crm, store, "autohome")
    first = lead.assigned_to
    t0 = far_future_morning(crm, 3650)
    await start_sla_clock(crm, lead.id, t0)
    sweep = lambda minutes, seconds=0: sweep_sla(  # noqa: E731
        crm, t0 + timedelta(minutes=minutes, seconds=seconds), stores=[store]
    )

    assert await sweep(29, 59) == 0  # one business second short
    assert await escalations(crm, lead.id) == []
    assert await sweep(30) == 1  # exactly at the SLA: breached
    assert await sweep(30) == 0 and await sweep(31) == 0  # escalated once

    (breach,) = await escalations(crm, lead.id)
    assert (breach.assignee, breach.elapsed_minutes, breach.sla_minutes) == (first, 30, 30)
    assert breach.escalated_to == "asg5.boss,asg5.deputy"
    after = await reload(crm, lead.id)
    second = after.assigned_to
    assert second not in ("", first) and breach.reassigned_to == second
    (event,) = await outbox(crm, lead.id, "crm.lead.sla_breached")
    assert event["type"] == "marque.crm.v1.LeadSlaBreached"
    assert event["data"]["lead"]["assignedTo"] == first  # who missed it
    assert event["data"]["escalatedTo"] == "asg5.boss,asg5.deputy"
    assert event["data"]["reassigned"] is True
    assert (event["data"]["slaMinutes"], event["data"]["elapsedMinutes"]) == (30, 30)
    assigned = await outbox(crm, lead.id, "crm.lead.assigned")
    assert assigned[-1]["data"]["strategy"] == "sla_reassignment"
    assert assigned[-1]["data"]["previousAssignee"] == first

    # The new owner gets a fresh 30 business minutes, then escalates once too.
    assert await sweep(59) == 0
    assert await sweep(60) == 1
    assert (await reload(crm, lead.id)).assigned_to == first  # back round the rotation
    # Each assignee escalates once: the first one already did, so nothing more, ever.
    assert await sweep(24 * 60) == 0
    assert [e.assignee for e in await escalations(crm, lead.id)] == [first, second]

    listed = await client.get(f"{API}/stores/{store}/sla-breaches", headers=manager)
    assert listed.status_code == 200
    assert [b["assignee"] for b in listed.json()["items"]] == [second, first]  # newest first
    assert listed.json()["items"][1]["escalated_to"] == ["asg5.boss", "asg5.deputy"]
    consultant = as_user("sales_consultant", store, sub=first)
    assert (
        await client.get(f"{API}/stores/{store}/sla-breaches", headers=consultant)
    ).status_code == 403


async def test_sla_counts_business_minutes_across_the_night_and_spares_contacted_leads(
    crm: Crm, client: httpx.AsyncClient, as_user: Headers
) -> None:
    store = "ASG6"
    manager = as_user("sales_manager", store, sub="asg6.boss")
    await roster(
        client, manager, store, {"subject": "asg6.a"}, {"subject": "asg6.boss", "role": "manager"}
    )
    await set_rules(
        client,
        manager,
        store,
        sla_minutes=30,
        hours={"opens": "09:00", "closes": "18:00", "weekdays": [1, 2, 3, 4, 5, 6, 7]},
    )
    evening = far_future_morning(crm, 3700).replace(hour=17, minute=50)
    late = await new_lead(crm, store)
    called = await new_lead(crm, store)
    for lead in (late, called):
        await start_sla_clock(crm, lead.id, evening)
    async with crm.uow() as uow:  # the consultant called this one at 17:55
        await uow.session.execute(
            update(Lead)
            .where(col(Lead.id) == called.id)
            .values(status="contacted", first_contacted_at=evening + timedelta(minutes=5))
        )
        await uow.commit()
    next_morning = evening + timedelta(hours=15, minutes=10)  # 09:00 local
    assert await sweep_sla(crm, next_morning + timedelta(minutes=19), stores=[store]) == 0
    assert await sweep_sla(crm, next_morning + timedelta(minutes=20), stores=[store]) == 1
    assert [e.lead_id for e in await escalations(crm, late.id)] == [late.id]
    assert await escalations(crm, called.id) == []
    (breach,) = await escalations(crm, late.id)
    assert breach.reassigned_to == ""  # this store does not reassign
    assert (await reload(crm, late.id)).assigned_to == "asg6.a"
    (event,) = await outbox(crm, late.id, "crm.lead.sla_breached")
    assert event["data"]["lead"]["assignedTo"] == "asg6.a"
    assert event["data"].get("reassigned", False) is False  # proto3 JSON leaves false out


async def test_the_running_clock_drives_the_escalation(
    crm: Crm, clock: Clock, client: httpx.AsyncClient, as_user: Headers
) -> None:
    """The app's own clock (what the background sweep reads) moved to just before and exactly at
    the deadline; whoever sweeps (this test or the background job), the lead escalates on time."""
    store = "ASG7"
    manager = as_user("sales_manager", store, sub="asg7.boss")
    await roster(
        client, manager, store, {"subject": "asg7.a"}, {"subject": "asg7.boss", "role": "manager"}
    )
    await set_rules(
        client,
        manager,
        store,
        sla_minutes=20,
        hours={"opens": "08:00", "closes": "21:00", "weekdays": [1, 2, 3, 4, 5, 6, 7]},
    )
    lead = await new_lead(crm, store)
    assert lead.assigned_at is not None
    hours = BusinessHours(opens=time(8), closes=time(21))
    deadline = add_business_minutes(lead.assigned_at, 20, hours, crm.zone)
    shifted = timedelta()
    try:
        step = deadline - timedelta(minutes=1) - crm.now()
        clock.shift(step)
        shifted += step
        await sweep_sla(crm, crm.now(), stores=[store])
        assert await escalations(crm, lead.id) == []
        step = deadline - crm.now()
        clock.shift(step)
        shifted += step
        await sweep_sla(crm, crm.now(), stores=[store])
        (breach,) = await escalations(crm, lead.id)
        assert breach.elapsed_minutes == 20 and breach.escalated_to == "asg7.boss"
        assert breach.at is not None and breach.at >= deadline
    finally:
        clock.shift(-shifted)
