"""CRM's journey through the gateway: a lead portal's key pushes leads, they are assigned by the
store's rules, and a consultant follows up.

1. The Shanghai store manager (sh.manager) puts the consultant sh.consultant on the roster, on
   duty, and a colleague on leave.
2. 汽车之家 pushes leads with the demo partner key (`crm.leads:create`, SH01 and HZ01); a resend
   of the same portal lead gets the same lead back.
3. Each SH01 lead is assigned round-robin to the one consultant on duty (the manager sees
   `assigned_to`, the history says why; `LeadCreated` and `LeadAssigned` are published); the
   colleague on leave gets none.
4. The consultant sees their leads (not Hangzhou's: 404), moves one to contacted with If-Match (a
   stale version is 412), logs the call, completes the follow-up task (the next one in the grade's
   rhythm appears), and a task they set for now reaches them as a WeChat Work message through the
   notifier and the provider (the recording sink).
5. The customer 360 shows the contacted lead, the timeline and the masked mobile to the
   consultant, the full mobile to the manager (pii:read).
"""

from __future__ import annotations

import asyncio
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import grpc
import httpx
import pytest
from e2e_support import Caller, EventTap, ServiceProcess, sign_in
from grpc_health.v1 import health_pb2, health_pb2_grpc

pytestmark = pytest.mark.e2e

DEMO_PASSWORD = "marque-demo-2026"
# The demo partner key from `marque seed gateway` (README; refused in production).
DEMO_PARTNER_KEY = "mq_demo-autohome_LocalDemoOnlyNotForProduction026"
STORE = "SH01"
SHANGHAI = ZoneInfo("Asia/Shanghai")


def new_mobile() -> str:
    return "136" + "".join(secrets.choice("0123456789") for _ in range(8))


def idem() -> dict[str, str]:
    return {"Idempotency-Key": uuid.uuid4().hex}


def if_match(version: int) -> dict[str, str]:
    return {"If-Match": f'"{version}"'}


async def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, (response.request.url, response.text)
    return response.json()


async def test_partner_leads_are_assigned_and_a_consultant_follows_up_through_the_gateway(
    http: httpx.AsyncClient,
    gateway_service: ServiceProcess,
    sh01_manager: Caller,
    crm_events: EventTap,
    notify_sink: str,
) -> None:
    manager = sh01_manager.headers
    consultant = {"Authorization": f"Bearer {await sign_in(http, 'sh.consultant', DEMO_PASSWORD)}"}
    partner = {"X-API-Key": DEMO_PARTNER_KEY}
    me = (await ok(await http.get("/api/v1/group/me", headers=consultant)))["subject"]

    # 1. The roster: the consultant on duty, a colleague on leave (请假) around today.
    roster = f"/api/v1/crm/stores/{STORE}/consultants"
    await ok(
        await http.put(
            f"{roster}/{me}",
            json={"name": "张伟 Zhang Wei", "role": "consultant", "on_duty": True},
            headers=manager,
        ),
        201,
    )
    today = datetime.now(SHANGHAI).date()
    away = f"e2e-away-{uuid.uuid4().hex[:8]}"
    await ok(
        await http.put(
            f"{roster}/{away}",
            json={
                "name": "休假顾问 On leave",
                "on_duty": True,
                "on_leave_from": (today - timedelta(days=1)).isoformat(),
                "on_leave_until": (today + timedelta(days=14)).isoformat(),
            },
            headers=manager,
        ),
        201,
    )
    listed = {c["subject"]: c for c in (await ok(await http.get(roster, headers=manager)))["items"]}
    assert listed[away]["on_leave_today"] is True
    assert listed[me]["on_leave_today"] is False

    # 2. 汽车之家 pushes three Shanghai leads and one for Hangzhou.
    pushed: list[dict[str, Any]] = []
    for n, (model, grade) in enumerate([("BYD-HAN", "H"), ("BYD-SEAL", "A"), ("BYD-TANG", "B")]):
        body = {
            "store_id": STORE,
            "channel": "autohome",
            "name": f"汽车之家客户{n}",
            "mobile": new_mobile(),
            "model_code": model,
            "grade": grade,
            "payment_intention": "loan",
            "source_ref": f"AH-{uuid.uuid4().hex[:12]}",
        }
        lead = await ok(
            await http.post("/api/v1/crm/leads", json=body, headers={**partner, **idem()}), 201
        )
        assert lead["channel"] == "autohome" and lead["status"] == "new"
        pushed.append({**body, **lead})
    # The portal sends its first lead again (its own retry): the same lead, no new one.
    again = await ok(
        await http.post(
            "/api/v1/crm/leads",
            json={k: pushed[0][k] for k in ("store_id", "channel", "name", "mobile", "source_ref")},
            headers={**partner, **idem()},
        )
    )
    assert (again["id"], again["resent"]) == (pushed[0]["id"], True)
    hangzhou = await ok(
        await http.post(
            "/api/v1/crm/leads",
            json={
                "store_id": "HZ01",
                "channel": "autohome",
                "name": "杭州客户",
                "mobile": new_mobile(),
                "source_ref": f"AH-{uuid.uuid4().hex[:12]}",
            },
            headers={**partner, **idem()},
        ),
        201,
    )
    # A portal's key pushes leads; it does not read them back.
    assert (
        await http.get(f"/api/v1/crm/leads/{pushed[0]['id']}", headers=partner)
    ).status_code == 403

    # 3. Assigned as they arrived: the one consultant on duty, never the one on leave.
    for lead in pushed:
        seen = await ok(await http.get(f"/api/v1/crm/leads/{lead['id']}", headers=manager))
        assert seen["assigned_to"] == me, seen
        history = await ok(
            await http.get(f"/api/v1/crm/leads/{lead['id']}/assignments", headers=manager)
        )
        [first] = history["items"]
        assert (first["assignee"], first["strategy"]) == (me, "round_robin")
        events = await crm_events.wait_for_names(lead["id"], "LeadCreated", "LeadAssigned")
        assert all(e.envelope.store == STORE for e in events)
    leads_of_away = await ok(
        await http.get("/api/v1/crm/leads", params={"assigned_to": away}, headers=manager)
    )
    assert leads_of_away["items"] == []

    # 4. The consultant's own list; Hangzhou's lead is not theirs to see.
    mine = await ok(
        await http.get(
            "/api/v1/crm/leads", params={"status": "new", "limit": 100}, headers=consultant
        )
    )
    assert {lead["id"] for lead in pushed} <= {lead["id"] for lead in mine["items"]}
    assert all(lead["assigned_to"] == me for lead in mine["items"])
    assert (
        await http.get(f"/api/v1/crm/leads/{hangzhou['id']}", headers=consultant)
    ).status_code == 404

    hot = pushed[0]
    read = await http.get(f"/api/v1/crm/leads/{hot['id']}", headers=consultant)
    await ok(read)
    stale = read.headers["ETag"]
    contacted = await ok(
        await http.post(
            f"/api/v1/crm/leads/{hot['id']}/status",
            json={"status": "contacted"},
            headers={**consultant, "If-Match": stale},
        )
    )
    assert contacted["status"] == "contacted"
    assert contacted["first_contacted_at"] is not None
    assert [t["to_status"] for t in contacted["transitions"]][-1] == "contacted"
    replayed = await http.post(
        f"/api/v1/crm/leads/{hot['id']}/status",
        json={"status": "invited"},
        headers={**consultant, "If-Match": stale},
    )
    assert replayed.status_code == 412, replayed.text
    await crm_events.wait_for_names(hot["id"], "LeadStatusChanged")

    customer_id = contacted["customer_id"]
    await ok(
        await http.post(
            f"/api/v1/crm/customers/{customer_id}/timeline",
            json={"kind": "call", "summary": "首次回电: 周六到店试驾 test drive on Saturday"},
            headers={**consultant, **idem()},
        ),
        201,
    )

    # The grade follow-up (H: tomorrow) is on the consultant's list; done, the next one follows.
    tasks = await ok(
        await http.get(
            "/api/v1/crm/tasks",
            params={"assignee": "me", "lead_id": hot["id"], "status": "open"},
            headers=consultant,
        )
    )
    [follow_up] = [t for t in tasks["items"] if t["kind"] == "grade_interval"]
    assert follow_up["assignee"] == me
    done = await ok(
        await http.post(
            f"/api/v1/crm/tasks/{follow_up['id']}/complete",
            json={"outcome": "约好周六试驾"},
            headers={**consultant, **if_match(follow_up["version"])},
        )
    )
    assert (done["status"], done["completed_by"]) == ("done", me)
    after = await ok(
        await http.get(
            "/api/v1/crm/tasks",
            params={"assignee": "me", "lead_id": hot["id"], "status": "open"},
            headers=consultant,
        )
    )
    nexts = [t for t in after["items"] if t["kind"] == "grade_interval"]
    assert len(nexts) == 1 and nexts[0]["id"] != follow_up["id"]

    # A reminder the consultant sets for now reaches them through the notifier (WeChat Work).
    reminder = await ok(
        await http.post(
            "/api/v1/crm/tasks",
            json={
                "store_id": STORE,
                "customer_id": customer_id,
                "lead_id": hot["id"],
                "title": "确认试驾车辆 Confirm the test-drive car",
                "due_at": datetime.now(UTC).isoformat(),
            },
            headers={**consultant, **idem()},
        ),
        201,
    )
    messages = await sink_messages(notify_sink, f"task:{reminder['id']}")
    assert [(m["channel"], m["to"]) for m in messages] == [("wechat", me)]

    # 5. The customer 360: what the consultant sees (masked), and the manager (pii:read).
    view = await ok(
        await http.get(f"/api/v1/group/customers/{customer_id}/360", headers=consultant)
    )
    assert view["customer_id"] == customer_id
    assert view["sections"] == ["profile", "open_leads", "timeline", "vehicles"]
    [open_lead] = view["open_leads"]
    assert (open_lead["lead_id"], open_lead["status"], open_lead["channel"]) == (
        hot["id"],
        "contacted",
        "autohome",
    )
    assert open_lead["assigned_to"] == me
    summaries = [entry["summary"] for entry in view["timeline"]]
    assert any("autohome" in s for s in summaries), summaries
    assert any("周六到店试驾" in s for s in summaries), summaries
    assert any("contacted" in s for s in summaries), summaries
    mobile = hot["mobile"]
    assert view["profile"]["mobile"] == f"+86 {mobile[:3]}****{mobile[-4:]}"
    assert mobile not in str(view)
    full = await ok(await http.get(f"/api/v1/group/customers/{customer_id}/360", headers=manager))
    assert full["profile"]["mobile"] == "+86" + mobile


async def sink_messages(sink: str, ref: str, within: float = 30.0) -> list[dict[str, Any]]:
    """What the provider received about `ref`, once something has arrived (or fail)."""
    async with httpx.AsyncClient(base_url=sink, timeout=5) as client:
        deadline = asyncio.get_running_loop().time() + within
        while True:
            got = await client.get("/messages", params={"ref": ref})
            assert got.status_code == 200, got.text
            items: list[dict[str, Any]] = got.json()["items"]
            if items:
                return items
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"the provider never received a message about {ref}")
            await asyncio.sleep(0.2)


async def test_crm_is_in_the_merged_openapi_document_with_its_permissions(
    http: httpx.AsyncClient,
) -> None:
    document = await ok(await http.get("/openapi.json"))
    assert "crm" not in document["x-marque-unavailable"]
    intake = document["paths"]["/api/v1/crm/leads"]["post"]
    assert intake["tags"] == ["crm"]
    assert intake["x-marque-permission"] == "crm.leads:create"
    view = document["paths"]["/api/v1/group/customers/{customer_id}/360"]["get"]
    assert view["x-marque-permission"] == "crm.customers:read"


async def test_crm_grpc_answers_the_standard_health_service(
    crm_channel: grpc.aio.Channel,
) -> None:
    """What the Kubernetes startup probe asks (`grpc:` on 50051) before crm gets traffic."""
    health = health_pb2_grpc.HealthStub(crm_channel)
    for service in ("", "marque.crm.v1.CrmService"):
        reply = await health.Check(health_pb2.HealthCheckRequest(service=service))
        assert reply.status == health_pb2.HealthCheckResponse.SERVING, service
