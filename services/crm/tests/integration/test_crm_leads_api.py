"""Leads over HTTP against the real database: intake (staff, partner keys, ADF/XML), the duplicate
rule, object-level access, funnel moves with If-Match, bad input, and the funnel report.

Stores LDS1 / LDS2 and mobiles 1391001xxxx belong to this module.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

import httpx
from sqlalchemy import func, select, text, update
from sqlmodel import col

from marque_crm.leads_service import NewLead, create_lead
from marque_crm.models import Lead
from marque_crm.settings import CrmSettings
from marque_crm.unit_of_work import Crm
from marque_kit.auth import Principal, sign_principal

URL = "/api/v1/crm/leads"
STORE = "LDS1"
OTHER_STORE = "LDS2"
_counter = iter(range(1000, 9999))


def mobile() -> str:
    return f"1391001{next(_counter):04d}"


def partner(
    settings: CrmSettings,
    scopes: tuple[str, ...] = ("crm.leads:create",),
    stores: tuple[str, ...] = (STORE,),
) -> dict[str, str]:
    token = sign_principal(
        Principal(subject="autohome-key", kind="partner", scopes=scopes, stores=stores),
        settings.internal_secret,
    )
    return {"X-Marque-Principal": token}


def lead_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "store_id": STORE,
        "channel": "phone",
        "name": "王伟",
        "mobile": mobile(),
        "model_code": "ID4",
        "budget_min_fen": 18_000_000,
        "budget_max_fen": 22_000_000,
        "timeframe": "within_30_days",
        "payment_intention": "loan",
        "trade_in": {"brand": "Toyota", "model": "Corolla", "year": 2018, "mileage_km": 86000},
    }
    body.update(overrides)
    return body


async def events_for(crm: Crm, lead_id: str) -> list[str]:
    async with crm.db.session() as session:
        rows = await session.execute(
            text("SELECT event_type FROM outbox WHERE aggregate_id = :id ORDER BY position"),
            {"id": lead_id},
        )
        return [r[0] for r in rows]


async def assign(crm: Crm, lead_id: str, consultant: str) -> None:
    """Arrange: give the lead to a consultant (assignment itself is tested elsewhere)."""
    async with crm.uow() as uow:
        await uow.session.execute(
            update(Lead).where(col(Lead.id) == lead_id).values(assigned_to=consultant)
        )
        await uow.commit()


async def test_create_makes_a_new_lead_with_its_customer(
    client: httpx.AsyncClient, as_user: Callable[..., dict[str, str]], crm: Crm
) -> None:
    headers = as_user("sales_consultant", STORE, sub="lds1.li")
    r = await client.post(URL, json=lead_body(), headers=headers)
    assert r.status_code == 201, r.text
    lead = r.json()
    assert lead["status"] == "new" and lead["channel"] == "phone"
    assert lead["grade"] == "B"  # from within_30_days
    assert lead["customer"]["name"] == "王伟"
    assert lead["customer"]["mobile_masked"].startswith("+86 139****")
    assert lead["trade_in"] == {
        "brand": "Toyota",
        "model": "Corolla",
        "year": 2018,
        "mileage_km": 86000,
    }
    assert lead["duplicate_of"] is None and lead["duplicate_count"] == 0
    assert r.headers["ETag"] == f'"{lead["version"]}"'
    assert "marque.crm.v1.LeadCreated" in await events_for(crm, lead["id"])


async def test_the_same_mobile_through_another_channel_attaches_to_the_open_lead(
    client: httpx.AsyncClient, as_hq: dict[str, str], crm: Crm
) -> None:
    number = mobile()
    first = await client.post(URL, json=lead_body(mobile=number, model_code=""), headers=as_hq)
    assert first.status_code == 201, first.text
    lead_id = first.json()["id"]
    again = await client.post(
        URL,
        json=lead_body(mobile=f"+86 {number}", channel="website", model_code="Q5L"),
        headers=as_hq,
    )
    assert again.status_code == 200, again.text
    body = again.json()
    assert body["id"] == body["duplicate_of"] == lead_id
    assert body["duplicate_count"] == 1
    assert body["model_code"] == "Q5L"  # a blank filled in by the repeat enquiry
    async with crm.db.session() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(Lead)
            .where(col(Lead.customer_id) == body["customer_id"], col(Lead.store_id) == STORE)
        )
    assert count == 1
    assert (await events_for(crm, lead_id)).count("marque.crm.v1.LeadCreated") == 1
    async with crm.db.session() as session:
        notes = await session.execute(
            text("SELECT summary FROM timeline_entries WHERE ref = :ref ORDER BY id"),
            {"ref": f"lead:{lead_id}"},
        )
    assert [n[0] for n in notes][-1] == "Repeat enquiry via website"
    # In another store the same customer is a new lead.
    elsewhere = await client.post(
        URL, json=lead_body(mobile=number, store_id=OTHER_STORE), headers=as_hq
    )
    assert elsewhere.status_code == 201
    assert elsewhere.json()["customer_id"] == body["customer_id"]


async def test_two_channels_racing_with_one_mobile_make_one_open_lead(crm: Crm) -> None:
    number = mobile()

    async def take_in(channel: str) -> tuple[str, str]:
        async with crm.uow() as uow:
            intake = await create_lead(
                uow.session,
                crm,
                NewLead(store_id=STORE, channel=channel, name="李雷", mobile=number),
            )
            await uow.commit()
            return intake.lead.id, intake.outcome

    results = await asyncio.gather(*(take_in(c) for c in ("phone", "website", "yiche") * 3))
    assert len({lead_id for lead_id, _ in results}) == 1
    assert sorted(outcome for _, outcome in results) == ["attached"] * 8 + ["created"]


async def test_a_partner_key_pushes_leads_and_a_resend_is_the_same_lead(
    client: httpx.AsyncClient, crm_settings: CrmSettings
) -> None:
    headers = partner(crm_settings)
    ref = f"AH-{uuid.uuid4().hex[:10]}"
    body = lead_body(channel="autohome", source_ref=ref)
    r = await client.post(URL, json=body, headers=headers)
    assert r.status_code == 201, r.text
    assert r.json()["source_ref"] == ref and r.json()["channel"] == "autohome"
    again = await client.post(URL, json=body, headers=headers)
    assert again.status_code == 200
    assert again.json()["id"] == r.json()["id"] and again.json()["resent"] is True
    assert again.json()["duplicate_count"] == 0


async def test_partner_keys_are_held_to_their_scope_stores_and_channels(
    client: httpx.AsyncClient, crm_settings: CrmSettings
) -> None:
    body = lead_body(channel="yiche", source_ref="YC-1")
    no_scope = await client.post(
        URL, json=body, headers=partner(crm_settings, scopes=("inventory.vehicles:read",))
    )
    assert no_scope.status_code == 403
    assert "crm.leads:create" in no_scope.json()["detail"]
    other_store = await client.post(
        URL, json=body | {"store_id": OTHER_STORE}, headers=partner(crm_settings)
    )
    assert other_store.status_code == 404
    walk_in = await client.post(
        URL, json=body | {"channel": "walk_in"}, headers=partner(crm_settings)
    )
    assert walk_in.status_code == 422
    assert walk_in.json()["errors"][0]["field"] == "channel"
    no_ref = await client.post(URL, json=body | {"source_ref": ""}, headers=partner(crm_settings))
    assert no_ref.status_code == 422
    assert "source_ref" in no_ref.json()["detail"]


async def test_a_consultant_sees_only_their_own_leads(
    client: httpx.AsyncClient,
    as_user: Callable[..., dict[str, str]],
    as_hq: dict[str, str],
    crm: Crm,
) -> None:
    mine = (await client.post(URL, json=lead_body(), headers=as_hq)).json()["id"]
    theirs = (await client.post(URL, json=lead_body(), headers=as_hq)).json()["id"]
    await assign(crm, mine, "lds1.zhao")
    await assign(crm, theirs, "lds1.qian")
    zhao = as_user("sales_consultant", STORE, sub="lds1.zhao")
    listed = await client.get(URL, params={"store_id": STORE, "limit": 200}, headers=zhao)
    assert listed.status_code == 200
    ids = {item["id"] for item in listed.json()["items"]}
    assert mine in ids and theirs not in ids
    assert {item["assigned_to"] for item in listed.json()["items"]} == {"lds1.zhao"}
    assert (await client.get(f"{URL}/{mine}", headers=zhao)).status_code == 200
    hidden = await client.get(f"{URL}/{theirs}", headers=zhao)
    assert hidden.status_code == 404
    moved = await client.post(
        f"{URL}/{theirs}/status",
        json={"status": "contacted"},
        headers=zhao | {"If-Match": '"1"'},
    )
    assert moved.status_code == 404
    manager = as_user("sales_manager", STORE, sub="lds1.boss")
    listed = await client.get(URL, params={"limit": 200}, headers=manager)
    ids = {item["id"] for item in listed.json()["items"]}
    assert {mine, theirs} <= ids
    assert {item["store_id"] for item in listed.json()["items"]} == {STORE}
    stranger = as_user("sales_manager", OTHER_STORE, sub="lds2.boss")
    assert (await client.get(f"{URL}/{mine}", headers=stranger)).status_code == 404


async def test_status_moves_take_if_match_and_reasons(
    client: httpx.AsyncClient, as_user: Callable[..., dict[str, str]], crm: Crm
) -> None:
    manager = as_user("sales_manager", STORE, sub="lds1.boss")
    lead = (await client.post(URL, json=lead_body(), headers=manager)).json()
    status_url = f"{URL}/{lead['id']}/status"
    version = lead["version"]
    missing = await client.post(status_url, json={"status": "contacted"}, headers=manager)
    assert missing.status_code == 428
    r = await client.post(
        status_url, json={"status": "contacted"}, headers=manager | {"If-Match": f'"{version}"'}
    )
    assert r.status_code == 200, r.text
    assert r.headers["ETag"] == f'"{version + 1}"'
    contacted = r.json()
    assert contacted["first_contacted_at"] is not None
    assert contacted["first_response_business_minutes"] is not None
    stale = await client.post(
        status_url, json={"status": "visited"}, headers=manager | {"If-Match": f'"{version}"'}
    )
    assert stale.status_code == 412
    current = {"If-Match": f'"{version + 1}"'}
    backwards = await client.post(status_url, json={"status": "new"}, headers=manager | current)
    assert backwards.status_code == 409
    no_reason = await client.post(status_url, json={"status": "lost"}, headers=manager | current)
    assert no_reason.status_code == 422
    assert "needs a reason" in no_reason.json()["detail"]
    unlisted = await client.post(
        status_url, json={"status": "lost", "reason": "mood"}, headers=manager | current
    )
    assert unlisted.status_code == 422
    lost = await client.post(
        status_url, json={"status": "lost", "reason": "price"}, headers=manager | current
    )
    assert lost.status_code == 200, lost.text
    assert lost.json()["closed_reason"] == "price" and lost.json()["closed_at"] is not None
    assert [(t["from_status"], t["to_status"]) for t in lost.json()["transitions"]] == [
        ("", "new"),
        ("new", "contacted"),
        ("contacted", "lost"),
    ]
    await assign(crm, lead["id"], "lds1.sun")
    consultant = as_user("sales_consultant", STORE, sub="lds1.sun")
    reopen = {"status": "contacted", "reason": "customer called back"}
    refused = await client.post(
        status_url, json=reopen, headers=consultant | {"If-Match": f'"{version + 2}"'}
    )
    assert refused.status_code == 403
    reopened = await client.post(
        status_url, json=reopen, headers=manager | {"If-Match": f'"{version + 2}"'}
    )
    assert reopened.status_code == 200 and reopened.json()["status"] == "contacted"
    events = await events_for(crm, lead["id"])
    assert events.count("marque.crm.v1.LeadStatusChanged") == 3


async def test_patch_changes_details_with_if_match(
    client: httpx.AsyncClient, as_hq: dict[str, str]
) -> None:
    lead = (await client.post(URL, json=lead_body(), headers=as_hq)).json()
    url, match = f"{URL}/{lead['id']}", {"If-Match": f'"{lead["version"]}"'}
    bad = await client.patch(
        url, json={"budget_min_fen": 30_000_000}, headers=as_hq | match
    )  # above the max of 22,000,000
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "budget_min_fen"
    r = await client.patch(
        url, json={"grade": "H", "trade_in": None, "trim_code": "ID4-PRO"}, headers=as_hq | match
    )
    assert r.status_code == 200, r.text
    assert (r.json()["grade"], r.json()["trade_in"], r.json()["trim_code"]) == (
        "H",
        None,
        "ID4-PRO",
    )
    assert r.json()["budget_max_fen"] == 22_000_000  # untouched
    stale = await client.patch(url, json={"grade": "A"}, headers=as_hq | match)
    assert stale.status_code == 412
    unknown_grade = await client.patch(
        url, json={"grade": "Z"}, headers=as_hq | {"If-Match": r.headers["ETag"]}
    )
    assert unknown_grade.status_code == 422


async def test_bad_input_is_422_with_the_reason(
    client: httpx.AsyncClient, as_hq: dict[str, str]
) -> None:
    bad_mobile = await client.post(URL, json=lead_body(mobile="12345"), headers=as_hq)
    assert bad_mobile.status_code == 422
    assert "not a Chinese mobile" in bad_mobile.json()["detail"]
    assert bad_mobile.json()["errors"][0]["field"] == "mobile"
    for field, value in (
        ("channel", "fax"),
        ("timeframe", "someday"),
        ("payment_intention", "barter"),
        ("grade", "X"),
    ):
        r = await client.post(URL, json=lead_body(**{field: value}), headers=as_hq)
        assert r.status_code == 422, (field, r.text)
        assert r.json()["errors"][0]["field"] == field
    budget = await client.post(
        URL, json=lead_body(budget_min_fen=5, budget_max_fen=4), headers=as_hq
    )
    assert budget.status_code == 422 and "above its maximum" in budget.json()["detail"]


async def test_an_idempotency_key_replays_the_first_answer(
    client: httpx.AsyncClient, as_hq: dict[str, str]
) -> None:
    body, key = lead_body(), {"Idempotency-Key": uuid.uuid4().hex}
    first = await client.post(URL, json=body, headers=as_hq | key)
    second = await client.post(URL, json=body, headers=as_hq | key)
    assert first.status_code == second.status_code == 201
    assert second.json()["id"] == first.json()["id"]
    assert second.headers.get("Idempotent-Replayed") == "true"


ADF = """<?xml version="1.0"?><?adf version="1.0"?>
<adf>
  <prospect>
    <id sequence="1" source="LeadHub">{ref}-1</id>
    <requestdate>2026-03-02T10:15:00+08:00</requestdate>
    <vehicle interest="buy"><year>2026</year><make>Volkswagen</make><model>ID.4</model>
      <trim>Pro</trim></vehicle>
    <customer><contact><name part="first">伟</name><name part="last">王</name>
      <phone type="cellphone">{m1}</phone></contact><comments>white please</comments></customer>
    <vendor><vendorname>LDS1</vendorname></vendor>
    <provider><name>LeadHub</name><id>PRV-77</id></provider>
  </prospect>
  <prospect>
    <id>{ref}-2</id>
    <customer><contact><name part="full">Lucy Liu</name>
      <phone type="cellphone">{m2}</phone></contact></customer>
  </prospect>
</adf>"""


async def test_adf_intake_makes_a_lead_per_prospect(
    client: httpx.AsyncClient, as_hq: dict[str, str]
) -> None:
    ref = uuid.uuid4().hex[:8]
    doc = ADF.format(ref=ref, m1=mobile(), m2=mobile()).encode()
    xml = as_hq | {"Content-Type": "application/xml"}
    r = await client.post(f"{URL}/adf", params={"store_id": STORE}, content=doc, headers=xml)
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["created"], body["attached"], body["resent"]) == (2, 0, 0)
    first, second = body["items"]
    assert first["customer"]["name"] == "王伟" and first["model_code"] == "ID.4"
    assert first["channel"] == "website" and first["source_ref"] == f"{ref}-1"
    assert second["customer"]["name"] == "Lucy Liu"
    again = await client.post(f"{URL}/adf", params={"store_id": STORE}, content=doc, headers=xml)
    assert again.status_code == 200
    assert again.json()["resent"] == 2
    assert [i["id"] for i in again.json()["items"]] == [first["id"], second["id"]]


async def test_adf_refuses_bad_documents_whole(
    client: httpx.AsyncClient, as_hq: dict[str, str], crm: Crm
) -> None:
    ref = uuid.uuid4().hex[:8]
    xml = as_hq | {"Content-Type": "application/xml"}
    doc = ADF.format(ref=ref, m1=mobile(), m2="").encode()
    r = await client.post(f"{URL}/adf", params={"store_id": STORE}, content=doc, headers=xml)
    assert r.status_code == 422
    assert "ADF prospect 2 has no <phone>" in r.json()["detail"]
    async with crm.db.session() as session:
        assert (
            await session.scalar(
                select(func.count()).select_from(Lead).where(col(Lead.source_ref) == f"{ref}-1")
            )
            == 0
        )  # never half-applied
    broken = await client.post(
        f"{URL}/adf", params={"store_id": STORE}, content=b"<adf><prospect>", headers=xml
    )
    assert broken.status_code == 422 and "not well-formed XML" in broken.json()["detail"]
    as_json = await client.post(
        f"{URL}/adf", params={"store_id": STORE}, json={"adf": 1}, headers=as_hq
    )
    assert as_json.status_code == 422 and "application/xml" in as_json.json()["detail"]


async def test_the_funnel_report_counts_and_converts(
    client: httpx.AsyncClient, as_user: Callable[..., dict[str, str]]
) -> None:
    store = "LDS3"
    manager = as_user("store_manager", store, sub="lds3.boss")
    walk_in = (
        await client.post(URL, json=lead_body(store_id=store, channel="walk_in"), headers=manager)
    ).json()
    phone = (await client.post(URL, json=lead_body(store_id=store), headers=manager)).json()
    await client.post(URL, json=lead_body(store_id=store), headers=manager)  # stays new
    await client.post(
        f"{URL}/{phone['id']}/status",
        json={"status": "contacted"},
        headers=manager | {"If-Match": f'"{phone["version"]}"'},
    )
    won = await client.post(
        f"{URL}/{walk_in['id']}/status",
        json={"status": "won"},
        headers=manager | {"If-Match": f'"{walk_in["version"]}"'},
    )
    assert won.status_code == 200, won.text
    r = await client.get(f"{URL}/funnel", params={"store_id": store}, headers=manager)
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["total"] == 3
    assert report["by_status"]["new"] == 1 and report["by_status"]["won"] == 1
    assert report["by_status"]["contacted"] == 1
    assert report["reached"]["new"] == 3 and report["reached"]["contacted"] == 2
    assert report["reached"]["visited"] == 1 and report["reached"]["won"] == 1
    assert report["conversion"]["new→contacted"] == round(2 / 3, 4)
    assert report["win_rate"] == round(1 / 3, 4)
    assert report["responded"] == 2 and report["not_yet_contacted"] == 1
    assert report["first_response_p50_minutes"] is not None
    assert 0 <= report["after_hours_share"] <= 1
    outsider = as_user("store_manager", STORE, sub="lds1.boss")
    hidden = await client.get(f"{URL}/funnel", params={"store_id": store}, headers=outsider)
    assert hidden.status_code == 404
