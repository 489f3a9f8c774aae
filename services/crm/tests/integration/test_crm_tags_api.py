"""Tags (标签) and auto-tagging against the real PostgreSQL: the tag vocabulary per store, a
consultant tagging their own customers, and the rules (loan intention, first car, VIP, churn risk)
re-evaluated per store, idempotently, from leads, vehicles, the timeline and customer facts.

Stores TGA1..TGA3 are this module's own; mobiles are 139 0077 xxxx.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import update
from sqlmodel import col

from marque_crm import marketing_service
from marque_crm.domain.customers import vin_check_digit
from marque_crm.models import Customer
from marque_crm.unit_of_work import Crm

Headers = Callable[..., dict[str, str]]
TAGS = "/api/v1/crm/tags"


def mobile(n: int) -> str:
    return f"+86139007{n:05d}"


def vin(serial: str) -> str:
    body = f"LGXCE4CB0R{serial}"
    return body[:8] + vin_check_digit(body) + body[9:]


async def new_customer(
    client: httpx.AsyncClient, headers: dict[str, str], store: str, name: str, n: int
) -> str:
    answer = await client.post(
        "/api/v1/crm/customers",
        headers=headers,
        json={"store_id": store, "name": name, "mobile": mobile(n)},
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


async def tags_of(
    client: httpx.AsyncClient, headers: dict[str, str], customer_id: str
) -> dict[str, Any]:
    answer = await client.get(f"/api/v1/crm/customers/{customer_id}/tags", headers=headers)
    assert answer.status_code == 200, answer.text
    return {t["name"]: t for t in answer.json()}


async def run_rules(
    client: httpx.AsyncClient, headers: dict[str, str], store: str
) -> dict[str, Any]:
    answer = await client.post(f"{TAGS}/rules/run", headers=headers, json={"store_id": store})
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


async def test_store_tags_and_a_consultant_tagging_their_own_customers(
    client: httpx.AsyncClient, as_user: Headers, as_hq: dict[str, str]
) -> None:
    manager = as_user("sales_manager", "TGA1", sub="tga1.manager")
    created = await client.post(
        TAGS, headers=manager, json={"name": "试驾未成交", "colour": "#9b51e0", "store_id": "TGA1"}
    )
    assert created.status_code == 201, created.text
    tag = created.json()
    assert (tag["kind"], tag["colour"], tag["store_id"]) == ("manual", "#9B51E0", "TGA1")
    again = await client.post(
        TAGS, headers=manager, json={"name": "试驾未成交", "store_id": "TGA1"}
    )
    assert again.status_code == 409
    group = await client.post(TAGS, headers=manager, json={"name": "集团 group", "store_id": ""})
    assert group.status_code == 403
    other_store = await client.post(TAGS, headers=manager, json={"name": "x", "store_id": "TGA9"})
    assert other_store.status_code == 404

    renamed = await client.patch(
        f"{TAGS}/{tag['id']}",
        headers={**manager, "If-Match": '"1"'},
        json={"name": "试驾未成交 test-drove"},
    )
    assert renamed.status_code == 200 and renamed.json()["version"] == 2
    stale = await client.patch(
        f"{TAGS}/{tag['id']}", headers={**manager, "If-Match": '"1"'}, json={"colour": "#000000"}
    )
    assert stale.status_code == 412

    consultant = as_user("sales_consultant", "TGA1", sub="tga1.li")
    mine = await new_customer(client, consultant, "TGA1", "马丽", 1)
    theirs = await new_customer(
        client, as_user("sales_consultant", "TGA1", sub="tga1.wang"), "TGA1", "钱伟", 2
    )
    # The consultant sees the vocabulary (their store's and group tags), not other stores'.
    listed = await client.get(TAGS, headers=consultant)
    assert tag["id"] in {t["id"] for t in listed.json()["items"]}
    elsewhere = await client.get(TAGS, headers=as_user("sales_consultant", "TGA2"))
    assert tag["id"] not in {t["id"] for t in elsewhere.json()["items"]}

    put = await client.post(
        f"/api/v1/crm/customers/{mine}/tags", headers=consultant, json={"tag_id": tag["id"]}
    )
    assert put.status_code == 201 and put.json()["source"] == "manual"
    twice = await client.post(
        f"/api/v1/crm/customers/{mine}/tags", headers=consultant, json={"tag_id": tag["id"]}
    )
    assert twice.status_code == 200
    assert list(await tags_of(client, consultant, mine)) == ["试驾未成交 test-drove"]
    # Another consultant's customer does not exist for them; nor may they edit the vocabulary.
    foreign = await client.post(
        f"/api/v1/crm/customers/{theirs}/tags", headers=consultant, json={"tag_id": tag["id"]}
    )
    assert foreign.status_code == 404
    assert (await client.post(TAGS, headers=consultant, json={"name": "mine"})).status_code == 403

    removed = await client.delete(
        f"/api/v1/crm/customers/{mine}/tags/{tag['id']}", headers=consultant
    )
    assert removed.status_code == 204
    assert await tags_of(client, consultant, mine) == {}
    assert (await client.delete(f"{TAGS}/{tag['id']}", headers=manager)).status_code == 204
    assert (await client.get(f"{TAGS}/{tag['id']}", headers=manager)).status_code == 404


async def test_auto_tags_follow_the_facts_and_a_rerun_changes_nothing(
    client: httpx.AsyncClient, as_user: Headers, as_hq: dict[str, str], crm: Crm
) -> None:
    manager = as_user("store_manager", "TGA3", sub="tga3.manager")
    lead = await client.post(
        "/api/v1/crm/leads",
        headers=manager,
        json={
            "store_id": "TGA3",
            "channel": "walk_in",
            "name": "贷款客户",
            "mobile": mobile(31),
            "model_code": "HAN-EV",
            "payment_intention": "loan",
        },
    )
    assert lead.status_code == 201, lead.text
    borrower = lead.json()["customer_id"]
    first_timer = await new_customer(client, manager, "TGA3", "首购客户", 32)
    owner_already = await new_customer(client, manager, "TGA3", "增购客户", 33)
    big_spender = await new_customer(client, manager, "TGA3", "大客户", 34)
    lapsed = await new_customer(client, manager, "TGA3", "久未到店", 35)
    regular = await new_customer(client, manager, "TGA3", "常客", 36)

    for customer_id in (first_timer, owner_already):
        answer = await client.put(
            f"/api/v1/crm/customers/{customer_id}/facts",
            headers=manager,
            json={"first_purchase": True},
        )
        assert answer.status_code == 200 and answer.json()["first_purchase"] is True
    vehicle = await client.post(
        f"/api/v1/crm/customers/{owner_already}/vehicles",
        headers=manager,
        json={"vin": vin("0777001"), "bought": "elsewhere"},
    )
    assert vehicle.status_code == 201, vehicle.text
    # Spend arrives from sales and aftersales (their consumers will call this).
    async with crm.uow() as uow:
        total = await marketing_service.add_lifetime_spend(uow.session, crm, big_spender, 1_500_000)
        await uow.commit()
    assert total == 1_500_000
    # Two customers known for over a year; only one has been to the store lately.
    async with crm.uow() as uow:
        await uow.session.execute(
            update(Customer)
            .where(col(Customer.id).in_([lapsed, regular]))
            .values(created_at=crm.now() - timedelta(days=400))
        )
        await uow.commit()
    visit = await client.post(
        f"/api/v1/crm/customers/{regular}/timeline",
        headers=manager,
        json={"kind": "visit", "summary": "到店看车 came to see the new Han"},
    )
    assert visit.status_code == 201, visit.text

    # VIP above ¥10,000 for this test (HQ sets the group's parameters, If-Match).
    rules = await client.get(f"{TAGS}/rules", headers=as_hq)
    before = rules.json()
    answer = await client.put(
        f"{TAGS}/rules",
        headers={**as_hq, "If-Match": rules.headers["ETag"]},
        json={
            **{k: before[k] for k in ("churn_months", "enabled")},
            "vip_lifetime_spend_fen": 1_000_000,
        },
    )
    assert answer.status_code == 200, answer.text
    assert (
        await client.put(
            f"{TAGS}/rules",
            headers={**manager, "If-Match": answer.headers["ETag"]},
            json={"vip_lifetime_spend_fen": 1, "churn_months": 12, "enabled": []},
        )
    ).status_code == 403
    try:
        first = await run_rules(client, manager, "TGA3")
        expected = {
            borrower: {"贷款意向 loan intention"},
            first_timer: {"首购 first car"},
            owner_already: set(),
            big_spender: {"VIP"},
            lapsed: {"流失风险 churn risk"},
            regular: set(),
        }
        for customer_id, names in expected.items():
            assert set(await tags_of(client, manager, customer_id)) == names, customer_id
        assert first["evaluated"] == 6
        assert first["added"] == {"loan_intention": 1, "first_car": 1, "vip": 1, "churn_risk": 1}

        second = await run_rules(client, manager, "TGA3")
        assert set(second["added"].values()) == {0} and set(second["removed"].values()) == {0}

        # Auto tags are the rules' to put on and take off.
        vip_tag = (await tags_of(client, manager, big_spender))["VIP"]
        assert vip_tag["source"] == "rule" and vip_tag["kind"] == "auto"
        refused = await client.delete(
            f"/api/v1/crm/customers/{big_spender}/tags/{vip_tag['tag_id']}", headers=manager
        )
        assert refused.status_code == 409
        refused = await client.post(
            f"/api/v1/crm/customers/{regular}/tags",
            headers=manager,
            json={"tag_id": vip_tag["tag_id"]},
        )
        assert refused.status_code == 409

        # A segment of the store's VIPs.
        segment = await client.post(
            "/api/v1/crm/segments",
            headers=manager,
            json={
                "name": "TGA3 VIP",
                "filter": {"stores": ["TGA3"], "tags_all": [vip_tag["tag_id"]]},
            },
        )
        assert segment.status_code == 201, segment.text
        preview = await client.get(
            f"/api/v1/crm/segments/{segment.json()['id']}/preview", headers=manager
        )
        assert preview.json()["count"] == 1 and preview.json()["items"][0]["id"] == big_spender

        # The lapsed customer comes back: the next run takes churn risk off.
        visit = await client.post(
            f"/api/v1/crm/customers/{lapsed}/timeline",
            headers=manager,
            json={"kind": "visit", "summary": "回店保养咨询"},
        )
        assert visit.status_code == 201
        third = await run_rules(client, manager, "TGA3")
        assert third["removed"]["churn_risk"] == 1
        assert await tags_of(client, manager, lapsed) == {}
    finally:
        current = await client.get(f"{TAGS}/rules", headers=as_hq)
        restored = await client.put(
            f"{TAGS}/rules",
            headers={**as_hq, "If-Match": current.headers["ETag"]},
            json={k: before[k] for k in ("vip_lifetime_spend_fen", "churn_months", "enabled")},
        )
        assert restored.status_code == 200

    # Another store's manager may not run this store's rules.
    stranger = as_user("store_manager", "TGA2", sub="tga2.manager")
    answer = await client.post(f"{TAGS}/rules/run", headers=stranger, json={"store_id": "TGA3"})
    assert answer.status_code == 404
