"""Campaigns (营销活动) against the real PostgreSQL and the real local SMS / WeChat provider (the
notify sink): consent is respected (PIPL), the frequency cap holds across campaigns, a resend never
messages anyone twice, and every recipient's outcome is listed.

Stores CMA1..CMA7 are this module's own; mobiles are 139 0055 xxxx.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx

from marque_crm import marketing_service
from marque_crm.unit_of_work import Clock, Crm

Headers = Callable[..., dict[str, str]]
LEADS = "/api/v1/crm/leads"
SEGMENTS = "/api/v1/crm/segments"
CAMPAIGNS = "/api/v1/crm/campaigns"
TEMPLATE = "{name}您好，汉EV新车品鉴会本周六14:00在本店举行，诚邀莅临。回T退订"


def mobile(n: int) -> str:
    return f"+86139005{n:05d}"


async def enquiry(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    store: str,
    name: str,
    n: int,
    *,
    model: str = "HAN-EV",
    **extra: Any,
) -> str:
    """A walk-in enquiry for a model: the customer is created with their lead. Their id."""
    answer = await client.post(
        LEADS,
        headers=headers,
        json={
            "store_id": store,
            "channel": "walk_in",
            "name": name,
            "mobile": mobile(n),
            "model_code": model,
            **extra,
        },
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["customer_id"])


async def consent(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    customer_id: str,
    channel: str,
    granted: bool,
) -> None:
    answer = await client.post(
        f"/api/v1/crm/customers/{customer_id}/consents",
        headers=headers,
        json={"channel": channel, "granted": granted, "source": "到店登记表 walk-in form"},
    )
    assert answer.status_code == 201, answer.text


async def segment(
    client: httpx.AsyncClient, headers: dict[str, str], name: str, spec: dict[str, Any]
) -> str:
    answer = await client.post(SEGMENTS, headers=headers, json={"name": name, "filter": spec})
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


async def campaign(
    client: httpx.AsyncClient, headers: dict[str, str], segment_id: str, **extra: Any
) -> dict[str, Any]:
    body = {
        "name": "汉EV 上市品鉴会 Han EV launch",
        "segment_id": segment_id,
        "channel": "sms",
        "template": TEMPLATE,
        **extra,
    }
    answer = await client.post(CAMPAIGNS, headers=headers, json=body)
    assert answer.status_code == 201, answer.text
    result: dict[str, Any] = answer.json()
    return result


async def send(
    client: httpx.AsyncClient, headers: dict[str, str], campaign_id: str
) -> dict[str, Any]:
    answer = await client.post(f"{CAMPAIGNS}/{campaign_id}/send", headers=headers)
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


async def recipients(
    client: httpx.AsyncClient, headers: dict[str, str], campaign_id: str, **params: str
) -> dict[str, dict[str, Any]]:
    answer = await client.get(
        f"{CAMPAIGNS}/{campaign_id}/recipients", headers=headers, params=params
    )
    assert answer.status_code == 200, answer.text
    return {r["customer_id"]: r for r in answer.json()["items"]}


async def delivered(sink_url: str, campaign_id: str) -> list[dict[str, Any]]:
    """What the real provider received for this campaign."""
    async with httpx.AsyncClient(base_url=sink_url) as sink:
        items = (await sink.get("/messages")).json()["items"]
    return [m for m in items if str(m.get("ref", "")).startswith(f"campaign:{campaign_id}:")]


async def test_a_launch_invitation_reaches_only_customers_who_consented(
    client: httpx.AsyncClient, as_user: Headers, notify_sink: str
) -> None:
    manager = as_user("sales_manager", "CMA1", sub="cma1.manager")
    granted = await enquiry(client, manager, "CMA1", "王芳", 1)
    never_asked = await enquiry(client, manager, "CMA1", "李强", 2)
    withdrew = await enquiry(client, manager, "CMA1", "赵敏", 3)
    wechat_only = await enquiry(client, manager, "CMA1", "陈静", 4)
    other_model = await enquiry(client, manager, "CMA1", "刘洋", 5, model="TANG-DM")
    await consent(client, manager, granted, "sms", True)
    await consent(client, manager, withdrew, "sms", True)
    await consent(client, manager, withdrew, "sms", False)
    await consent(client, manager, wechat_only, "wechat", True)
    await consent(client, manager, other_model, "sms", True)

    segment_id = await segment(
        client,
        manager,
        "汉EV 意向 Han EV prospects",
        {"stores": ["CMA1"], "model_interest": ["HAN-EV"]},
    )
    preview = (await client.get(f"{SEGMENTS}/{segment_id}/preview", headers=manager)).json()
    assert preview["count"] == 4
    assert {c["id"] for c in preview["items"]} == {granted, never_asked, withdrew, wechat_only}
    assert all("****" in c["mobile_masked"] for c in preview["items"])

    created = await campaign(client, manager, segment_id)
    assert created["status"] == "draft" and created["store_ids"] == ["CMA1"]
    result = await send(client, manager, created["id"])
    assert result["this_send"]["sent"] == 1
    assert result["this_send"]["excluded"]["no_consent"] == 3
    assert result["campaign"]["status"] == "sent"
    assert result["campaign"]["recipients"]["sent"] == 1

    messages = await delivered(notify_sink, created["id"])
    assert len(messages) == 1
    assert messages[0]["to"] == mobile(1) and messages[0]["channel"] == "sms"
    assert messages[0]["text"].startswith("王芳您好，汉EV新车品鉴会")
    assert messages[0]["ref"] == f"campaign:{created['id']}:{granted}"

    outcomes = await recipients(client, manager, created["id"])
    assert set(outcomes) == {granted, never_asked, withdrew, wechat_only}
    assert outcomes[granted]["status"] == "sent"
    assert outcomes[granted]["provider_id"] == messages[0]["id"]
    assert outcomes[granted]["address_masked"] == "+86 139****0001"
    for excluded in (never_asked, withdrew, wechat_only):
        assert (outcomes[excluded]["status"], outcomes[excluded]["reason"]) == (
            "excluded",
            "no_consent",
        )
    only_excluded = await recipients(client, manager, created["id"], status="excluded")
    assert set(only_excluded) == {never_asked, withdrew, wechat_only}

    # The customer who was never asked agrees; the resend reaches them and nobody twice.
    await consent(client, manager, never_asked, "sms", True)
    again = await send(client, manager, created["id"])
    assert again["this_send"]["sent"] == 1
    messages = await delivered(notify_sink, created["id"])
    assert sorted(m["to"] for m in messages) == [mobile(1), mobile(2)]
    outcomes = await recipients(client, manager, created["id"])
    assert outcomes[never_asked]["status"] == "sent"
    assert outcomes[withdrew]["reason"] == "no_consent"

    third = await send(client, manager, created["id"])
    assert third["this_send"]["sent"] == 0
    assert len(await delivered(notify_sink, created["id"])) == 2
    assert third["campaign"]["recipients"]["sent"] == 2

    # The message is on the customer's timeline.
    timeline = await client.get(f"/api/v1/crm/customers/{granted}/timeline", headers=manager)
    assert any(e["ref"] == f"campaign:{created['id']}" for e in timeline.json()["items"])


async def test_the_frequency_cap_holds_across_campaigns_until_its_window_passes(
    client: httpx.AsyncClient, as_user: Headers, clock: Clock, notify_sink: str
) -> None:
    manager = as_user("store_manager", "CMA2", sub="cma2.manager")
    regular = await enquiry(client, manager, "CMA2", "孙丽", 11)
    await consent(client, manager, regular, "sms", True)
    segment_id = await segment(client, manager, "CMA2 everyone", {"stores": ["CMA2"]})
    cap = {"max_messages": 1, "per_days": 30}

    first = await campaign(client, manager, segment_id, frequency_cap=cap)
    assert (await send(client, manager, first["id"]))["this_send"]["sent"] == 1
    second = await campaign(
        client, manager, segment_id, name="春季保养 spring service", frequency_cap=cap
    )
    result = await send(client, manager, second["id"])
    assert result["this_send"]["sent"] == 0
    assert result["this_send"]["excluded"]["frequency_capped"] == 1
    assert (await recipients(client, manager, second["id"]))[regular][
        "reason"
    ] == "frequency_capped"
    assert await delivered(notify_sink, second["id"]) == []

    clock.shift(timedelta(days=31))
    try:
        later = await send(client, manager, second["id"])
    finally:
        clock.shift(-timedelta(days=31))
    assert later["this_send"]["sent"] == 1
    assert [m["to"] for m in await delivered(notify_sink, second["id"])] == [mobile(11)]
    assert (await recipients(client, manager, second["id"]))[regular]["status"] == "sent"


async def test_wechat_needs_a_wechat_id_and_provider_failures_are_recorded(
    client: httpx.AsyncClient, as_user: Headers, as_hq: dict[str, str], notify_sink: str
) -> None:
    manager = as_user("sales_manager", "CMA3", sub="cma3.manager")
    no_wechat = await enquiry(client, manager, "CMA3", "周杰", 21)
    with_wechat = await enquiry(client, manager, "CMA3", "吴婷", 22)
    refused = await enquiry(client, manager, "CMA3", "郑凯", 23)
    down = await enquiry(client, manager, "CMA3", "冯雪", 24)
    for customer_id, wechat in (
        (with_wechat, "wu_ting_88"),
        (refused, "zheng_kai_01"),
        (down, "feng_xue_77"),
    ):
        patched = await client.get(f"/api/v1/crm/customers/{customer_id}", headers=as_hq)
        answer = await client.patch(
            f"/api/v1/crm/customers/{customer_id}",
            headers={**as_hq, "If-Match": patched.headers["ETag"]},
            json={"wechat_id": wechat},
        )
        assert answer.status_code == 200, answer.text
    for customer_id in (no_wechat, with_wechat, refused, down):
        await consent(client, manager, customer_id, "wechat", True)
    segment_id = await segment(client, manager, "CMA3 wechat", {"stores": ["CMA3"]})
    created = await campaign(client, manager, segment_id, channel="wechat")
    async with httpx.AsyncClient(base_url=notify_sink) as sink:
        await sink.post("/fail", json={"count": 1, "status": 400, "match": refused})
        await sink.post("/fail", json={"count": 1, "status": 503, "match": down})

    result = await send(client, manager, created["id"])
    assert result["this_send"] == {
        "decided": 4,
        "sent": 1,
        "failed": 2,
        "excluded": {"no_consent": 0, "no_address": 1, "frequency_capped": 0},
    }
    outcomes = await recipients(client, manager, created["id"])
    assert (outcomes[no_wechat]["status"], outcomes[no_wechat]["reason"]) == (
        "excluded",
        "no_address",
    )
    assert outcomes[with_wechat]["status"] == "sent"
    assert outcomes[refused]["status"] == "failed" and "400" in outcomes[refused]["error"]
    assert outcomes[down]["status"] == "failed" and "503" in outcomes[down]["error"]
    messages = await delivered(notify_sink, created["id"])
    assert [(m["channel"], m["to"]) for m in messages] == [("wechat", "wu_ting_88")]

    # A resend retries what the provider could not take (503), not what it refused (400).
    again = await send(client, manager, created["id"])
    assert again["this_send"]["sent"] == 1 and again["this_send"]["failed"] == 0
    outcomes = await recipients(client, manager, created["id"])
    assert outcomes[down]["status"] == "sent" and outcomes[down]["attempts"] == 2
    assert outcomes[refused]["status"] == "failed"
    assert sorted(m["to"] for m in await delivered(notify_sink, created["id"])) == [
        "feng_xue_77",
        "wu_ting_88",
    ]


async def test_campaigns_and_segments_stay_in_their_stores(
    client: httpx.AsyncClient, as_user: Headers
) -> None:
    manager = as_user("sales_manager", "CMA4", sub="cma4.manager")
    await enquiry(client, manager, "CMA4", "钱多", 31)
    segment_id = await segment(client, manager, "CMA4 all", {"stores": ["CMA4"]})
    created = await campaign(client, manager, segment_id)

    stranger = as_user("sales_manager", "CMA5", sub="cma5.manager")
    for path in (
        f"{SEGMENTS}/{segment_id}",
        f"{SEGMENTS}/{segment_id}/preview",
        f"{CAMPAIGNS}/{created['id']}",
        f"{CAMPAIGNS}/{created['id']}/recipients",
    ):
        assert (await client.get(path, headers=stranger)).status_code == 404, path
    assert (
        await client.post(f"{CAMPAIGNS}/{created['id']}/send", headers=stranger)
    ).status_code == 404
    listed = await client.get(CAMPAIGNS, headers=stranger)
    assert created["id"] not in {c["id"] for c in listed.json()["items"]}

    # A segment over a store that is not yours does not exist for you.
    answer = await client.post(
        SEGMENTS, headers=stranger, json={"name": "x", "filter": {"stores": ["CMA4"]}}
    )
    assert answer.status_code == 404
    # A consultant may not run campaigns.
    consultant = as_user("sales_consultant", "CMA4", sub="cma4.consultant")
    answer = await client.post(
        CAMPAIGNS,
        headers=consultant,
        json={"name": "x", "segment_id": segment_id, "channel": "sms", "template": "hi {name}"},
    )
    assert answer.status_code == 403


async def test_bad_segments_and_campaigns_are_refused_with_reasons(
    client: httpx.AsyncClient, as_user: Headers
) -> None:
    manager = as_user("sales_manager", "CMA6", sub="cma6.manager")
    answer = await client.post(
        SEGMENTS,
        headers=manager,
        json={
            "name": "bad",
            "filter": {"stores": ["CMA6"], "grade": ["H"], "lead_status": ["hot"]},
        },
    )
    assert answer.status_code == 422
    problem = answer.json()
    assert "grade" in problem["detail"] and "lead_grade" in problem["detail"]
    assert {e["field"] for e in problem["errors"]} == {"grade", "lead_status"}

    answer = await client.post(
        SEGMENTS,
        headers=manager,
        json={"name": "tags", "filter": {"stores": ["CMA6"], "tags_all": ["no-such-tag"]}},
    )
    assert answer.status_code == 422 and "no-such-tag" in answer.json()["detail"]

    segment_id = await segment(client, manager, "CMA6", {"stores": ["CMA6"]})
    answer = await client.post(
        CAMPAIGNS,
        headers=manager,
        json={"name": "x", "segment_id": segment_id, "channel": "sms", "template": "{mobile}"},
    )
    assert answer.status_code == 422 and "{name}" in answer.json()["detail"]
    answer = await client.post(
        CAMPAIGNS,
        headers=manager,
        json={
            "name": "x",
            "segment_id": segment_id,
            "channel": "sms",
            "template": "hi {name}",
            "scheduled_at": "2020-01-01T10:00:00+08:00",
        },
    )
    assert answer.status_code == 422 and "past" in answer.json()["detail"]

    # Editing a segment takes If-Match; a stale one is 412. In use by a campaign: not deletable.
    current = await client.get(f"{SEGMENTS}/{segment_id}", headers=manager)
    answer = await client.patch(
        f"{SEGMENTS}/{segment_id}",
        headers={**manager, "If-Match": current.headers["ETag"]},
        json={"filter": {"stores": ["CMA6"], "city": ["上海"]}},
    )
    assert answer.status_code == 200 and answer.json()["filter"]["city"] == ["上海"]
    stale = await client.patch(
        f"{SEGMENTS}/{segment_id}",
        headers={**manager, "If-Match": current.headers["ETag"]},
        json={"name": "again"},
    )
    assert stale.status_code == 412
    await campaign(client, manager, segment_id)
    assert (await client.delete(f"{SEGMENTS}/{segment_id}", headers=manager)).status_code == 409


async def test_a_scheduled_campaign_goes_out_when_its_time_comes(
    client: httpx.AsyncClient, as_user: Headers, clock: Clock, crm: Crm, notify_sink: str
) -> None:
    manager = as_user("sales_manager", "CMA7", sub="cma7.manager")
    invited = await enquiry(client, manager, "CMA7", "欧阳娜", 71)
    await consent(client, manager, invited, "sms", True)
    segment_id = await segment(client, manager, "CMA7", {"stores": ["CMA7"]})
    at = (crm.now() + timedelta(hours=1)).isoformat()
    created = await campaign(client, manager, segment_id, scheduled_at=at)
    assert created["status"] == "scheduled"

    await marketing_service.send_due_campaigns(crm)  # not yet due
    shown = await client.get(f"{CAMPAIGNS}/{created['id']}", headers=manager)
    assert shown.json()["status"] == "scheduled"
    assert await delivered(notify_sink, created["id"]) == []

    clock.shift(timedelta(hours=2))
    try:
        # The scheduler job may get there first; either way it goes out once.
        await marketing_service.send_due_campaigns(crm)
    finally:
        clock.shift(-timedelta(hours=2))
    shown = await client.get(f"{CAMPAIGNS}/{created['id']}", headers=manager)
    assert shown.json()["status"] == "sent"
    assert shown.json()["recipients"]["sent"] == 1
    assert [m["to"] for m in await delivered(notify_sink, created["id"])] == [mobile(71)]
