"""/api/v1/crm/customers against the running app and the real database: one customer per person
however the mobile arrives, PII masked without pii:read, object-level access, merge with
tombstones, optimistic concurrency, consent (PIPL), vehicles owned and the timeline."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from marque_crm.domain.contact import with_id_check_digit
from marque_crm.models import Lead
from marque_crm.unit_of_work import Crm
from marque_kit.tables import outbox
from marque_kit.testing.vins import with_check_digit, with_wrong_check_digit

API = "/api/v1/crm/customers"
STORE, OTHER_STORE = "CUS1", "CUS2"
_numbers = itertools.count(1)
Headers = Callable[..., dict[str, str]]


def fresh_mobile() -> str:
    """A Chinese mobile no other test of this run uses (spaced, as people type it)."""
    n = f"{next(_numbers):04d}{uuid.uuid4().int % 10_000:04d}"
    return f"139 {n[:4]} {n[4:]}"


def e164(mobile: str) -> str:
    return "+86" + mobile.replace(" ", "")


def fresh_id(born: str = "19880614") -> str:
    return with_id_check_digit("310115" + born + f"{uuid.uuid4().int % 1000:03d}")


async def create(
    client: httpx.AsyncClient, headers: dict[str, str], **fields: Any
) -> httpx.Response:
    body = {"store_id": STORE, "name": "张伟", "mobile": fresh_mobile(), **fields}
    return await client.post(API, json=body, headers=headers)


@pytest.fixture
def consultant(as_user: Headers) -> dict[str, str]:
    return as_user("sales_consultant", STORE, sub="cus1.wang")


@pytest.fixture
def manager(as_user: Headers) -> dict[str, str]:
    return as_user("sales_manager", STORE, sub="cus1.manager")


# ---- One customer per person --------------------------------------------------------------------


async def test_concurrent_creates_from_two_channels_make_one_customer(
    client: httpx.AsyncClient, manager: dict[str, str], crm: Crm
) -> None:
    mobile = fresh_mobile()
    digits = mobile.replace(" ", "")
    typed = [(mobile, "walk_in"), (f"+86-{digits}", "autohome"), (f"0086{digits}", "phone")]

    async def post(raw: str, channel: str) -> httpx.Response:
        body = {"store_id": STORE, "name": "李雷", "mobile": raw, "source": channel}
        return await client.post(API, json=body, headers=manager)

    answers = await asyncio.gather(*(post(m, s) for m, s in typed * 4))
    assert sorted(r.status_code for r in answers) == [200] * 11 + [201]
    assert len({r.json()["id"] for r in answers}) == 1
    assert [r.json()["created"] for r in answers].count(True) == 1
    first = next(r.json() for r in answers if r.status_code == 201)
    assert first["mobile"] == e164(mobile) and first["version"] == 1
    async with crm.db.session() as session:
        created = await session.execute(
            select(outbox.c.routing_key).where(outbox.c.aggregate_id == first["id"])
        )
        assert created.scalars().all() == ["crm.customer.created"]


async def test_a_repeated_idempotency_key_replays_the_first_answer(
    client: httpx.AsyncClient, manager: dict[str, str]
) -> None:
    body = {"store_id": STORE, "name": "韩梅梅", "mobile": fresh_mobile(), "source": "website"}
    headers = {**manager, "Idempotency-Key": str(uuid.uuid4())}
    first = await client.post(API, json=body, headers=headers)
    again = await client.post(API, json=body, headers=headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    other = await client.post(API, json={**body, "name": "韩梅"}, headers=headers)
    assert other.status_code == 422


async def test_the_same_national_id_with_another_mobile_is_the_same_person(
    client: httpx.AsyncClient, manager: dict[str, str]
) -> None:
    national_id = fresh_id()
    first = await create(client, manager, national_id=national_id)
    again = await create(client, manager, national_id=national_id.lower())
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"] and again.json()["created"] is False


@pytest.mark.parametrize(
    ("field", "value", "rule", "words"),
    [
        ("mobile", "12345", "mobile_format", "not a Chinese mobile"),
        ("mobile", "+86 10 6552 9988", "mobile_format", "not a mobile"),
        ("national_id", "310115198806140001", "id_checksum", "check digit"),
        ("national_id", with_id_check_digit("31011519880230001"), "id_birth_date", "birth date"),
        ("wechat_id", "9abc", "wechat_format", "WeChat id"),
    ],
)
async def test_malformed_contact_details_get_422_with_the_reason(
    client: httpx.AsyncClient,
    manager: dict[str, str],
    field: str,
    value: str,
    rule: str,
    words: str,
) -> None:
    answer = await create(client, manager, **{field: value})
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("application/problem+json")
    problem = answer.json()
    assert words in problem["detail"]
    assert problem["errors"] == [{"field": field, "rule": rule}]


# ---- PII and who sees whom ----------------------------------------------------------------------


async def test_pii_is_masked_for_a_consultant_and_full_for_a_manager_with_pii_read(
    client: httpx.AsyncClient, consultant: dict[str, str], manager: dict[str, str]
) -> None:
    mobile, national_id = fresh_mobile(), fresh_id("19900501")
    created = await create(
        client,
        consultant,
        mobile=mobile,
        national_id=national_id,
        address="上海市浦东新区世纪大道100号",
    )
    assert created.status_code == 201
    mine = created.json()
    assert mine["owner"] == "cus1.wang" and mine["pii"] == "masked"
    digits = mobile.replace(" ", "")
    assert mine["mobile"] == f"+86 {digits[:3]}****{digits[-4:]}"
    assert mine["national_id"] == national_id[:4] + "*" * 10 + national_id[-4:]
    assert mine["address"] == "上海市浦东新****"
    assert mine["birthday"] == "1990-05-01"

    as_consultant = await client.get(f"{API}/{mine['id']}", headers=consultant)
    assert as_consultant.json()["mobile"] == mine["mobile"]
    full = (await client.get(f"{API}/{mine['id']}", headers=manager)).json()
    assert full["pii"] == "full"
    assert (full["mobile"], full["national_id"], full["address"]) == (
        e164(mobile),
        national_id,
        "上海市浦东新区世纪大道100号",
    )


async def test_a_consultant_sees_own_customers_and_those_with_a_lead_assigned_to_them(
    client: httpx.AsyncClient, crm: Crm, as_user: Headers, manager: dict[str, str]
) -> None:
    colleague = as_user("sales_consultant", STORE, sub="cus1.zhao")
    me = as_user("sales_consultant", STORE, sub="cus1.li")
    theirs = (await create(client, colleague)).json()
    with_my_lead = (await create(client, colleague)).json()
    assert (await client.get(f"{API}/{theirs['id']}", headers=me)).status_code == 404
    async with crm.uow() as uow:
        uow.session.add(
            Lead(
                id=str(uuid.uuid4()),
                store_id=STORE,
                customer_id=with_my_lead["id"],
                channel="phone",
                assigned_to="cus1.li",
            )
        )
        await uow.commit()
    assert (await client.get(f"{API}/{with_my_lead['id']}", headers=me)).status_code == 200
    listed = await client.get(API, params={"store_id": STORE, "limit": 200}, headers=me)
    ids = {c["id"] for c in listed.json()["items"]}
    assert with_my_lead["id"] in ids and theirs["id"] not in ids
    # The manager sees the whole store.
    store = await client.get(API, params={"store_id": STORE, "limit": 200}, headers=manager)
    assert {theirs["id"], with_my_lead["id"]} <= {c["id"] for c in store.json()["items"]}


async def test_a_lead_on_a_merged_record_shows_its_survivor_and_nobody_else(
    client: httpx.AsyncClient, crm: Crm, as_user: Headers, manager: dict[str, str]
) -> None:
    colleague = as_user("sales_consultant", STORE, sub="cus1.sun")
    me = as_user("sales_consultant", STORE, sub="cus1.zhou")
    survivor = (await create(client, colleague)).json()
    duplicate = (await create(client, colleague)).json()
    unrelated = (await create(client, colleague)).json()
    async with crm.uow() as uow:
        uow.session.add(
            Lead(
                id=str(uuid.uuid4()),
                store_id=STORE,
                customer_id=duplicate["id"],
                channel="yiche",
                assigned_to="cus1.zhou",
            )
        )
        await uow.commit()
    merged = await client.post(
        f"{API}/{survivor['id']}/merge",
        json={"merged_customer_id": duplicate["id"]},
        headers=manager,
    )
    assert merged.status_code == 200
    assert (await client.get(f"{API}/{survivor['id']}", headers=me)).status_code == 200
    assert (await client.get(f"{API}/{unrelated['id']}", headers=me)).status_code == 404
    listed = await client.get(API, params={"limit": 200}, headers=me)
    assert [c["id"] for c in listed.json()["items"]] == [survivor["id"]]


async def test_another_stores_customer_answers_404(
    client: httpx.AsyncClient, manager: dict[str, str], as_user: Headers, crm: Crm
) -> None:
    customer = (await create(client, manager)).json()
    elsewhere = as_user("store_manager", OTHER_STORE, sub="cus2.manager")
    for path in ("", "/timeline", "/consents", "/vehicles"):
        answer = await client.get(f"{API}/{customer['id']}{path}", headers=elsewhere)
        assert answer.status_code == 404, path
    patched = await client.patch(
        f"{API}/{customer['id']}", json={"city": "广州"}, headers={**elsewhere, "If-Match": '"1"'}
    )
    assert patched.status_code == 404
    assert (await client.get(f"{API}/{uuid.uuid4()}", headers=manager)).status_code == 404
    # A lead in their store makes the customer theirs to see too.
    async with crm.uow() as uow:
        uow.session.add(
            Lead(
                id=str(uuid.uuid4()),
                store_id=OTHER_STORE,
                customer_id=customer["id"],
                channel="event",
            )
        )
        await uow.commit()
    assert (await client.get(f"{API}/{customer['id']}", headers=elsewhere)).status_code == 200


async def test_search_by_name_prefix_or_exact_mobile(
    client: httpx.AsyncClient, manager: dict[str, str]
) -> None:
    mobile = fresh_mobile()
    name = f"欧阳{uuid.uuid4().hex[:6]}"
    customer = (await create(client, manager, name=name, mobile=mobile)).json()
    digits = mobile.replace(" ", "")
    for q in (name[:4], f"+86 {digits}", f"0086-{digits}"):
        found = await client.get(API, params={"q": q}, headers=manager)
        assert [c["id"] for c in found.json()["items"]] == [customer["id"]], q
    bad = await client.get(API, params={"q": "139 12"}, headers=manager)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "q"


async def test_the_list_pages_with_a_cursor(client: httpx.AsyncClient, as_user: Headers) -> None:
    owner = as_user("sales_consultant", STORE, sub="cus1.pager")
    made = {(await create(client, owner)).json()["id"] for _ in range(5)}
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2, "owner": "cus1.pager"}
        if cursor:
            params["cursor"] = cursor
        page = (await client.get(API, params=params, headers=owner)).json()
        seen += [c["id"] for c in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == 5 and set(seen) == made


# ---- Editing ------------------------------------------------------------------------------------


async def test_profile_updates_need_the_current_version(
    client: httpx.AsyncClient, manager: dict[str, str]
) -> None:
    customer = (await create(client, manager)).json()
    url = f"{API}/{customer['id']}"
    missing = await client.patch(url, json={"city": "上海"}, headers=manager)
    assert missing.status_code == 428
    changed = await client.patch(
        url,
        json={"city": "上海", "gender": "female", "wechat_id": "hanmeimei_1"},
        headers={**manager, "If-Match": '"1"'},
    )
    assert changed.status_code == 200 and changed.headers["ETag"] == '"2"'
    assert (changed.json()["city"], changed.json()["gender"]) == ("上海", "female")
    stale = await client.patch(url, json={"city": "苏州"}, headers={**manager, "If-Match": '"1"'})
    assert stale.status_code == 412
    assert (await client.get(url, headers=manager)).json()["city"] == "上海"


async def test_a_mobile_change_to_someone_elses_number_is_a_conflict(
    client: httpx.AsyncClient, manager: dict[str, str], as_user: Headers
) -> None:
    mine = (await create(client, manager)).json()
    visible_other_mobile = fresh_mobile()
    other = (await create(client, manager, mobile=visible_other_mobile)).json()
    hidden_mobile = fresh_mobile()
    far = as_user("store_manager", OTHER_STORE, sub="cus2.manager")
    await client.post(
        API, json={"store_id": OTHER_STORE, "name": "王芳", "mobile": hidden_mobile}, headers=far
    )
    url, match = f"{API}/{mine['id']}", {**manager, "If-Match": '"1"'}
    named = await client.patch(url, json={"mobile": visible_other_mobile}, headers=match)
    assert named.status_code == 409 and other["id"] in named.json()["detail"]
    generic = await client.patch(url, json={"mobile": hidden_mobile}, headers=match)
    assert generic.status_code == 409
    assert "another customer of the group" in generic.json()["detail"]
    bad = await client.patch(url, json={"national_id": "123"}, headers=match)
    assert bad.status_code == 422 and bad.json()["errors"][0]["rule"] == "id_format"
    moved = await client.patch(url, json={"mobile": fresh_mobile()}, headers=match)
    assert moved.status_code == 200 and moved.json()["version"] == 2


async def test_only_managers_change_the_owner(
    client: httpx.AsyncClient, consultant: dict[str, str], manager: dict[str, str]
) -> None:
    customer = (await create(client, consultant)).json()
    url = f"{API}/{customer['id']}"
    refused = await client.patch(
        url, json={"owner": "cus1.zhao"}, headers={**consultant, "If-Match": '"1"'}
    )
    assert refused.status_code == 403
    moved = await client.patch(
        url, json={"owner": "cus1.zhao"}, headers={**manager, "If-Match": '"1"'}
    )
    assert moved.status_code == 200 and moved.json()["owner"] == "cus1.zhao"


# ---- Merging ------------------------------------------------------------------------------------


async def test_merge_moves_the_history_and_leaves_a_tombstone(
    client: httpx.AsyncClient, manager: dict[str, str], crm: Crm
) -> None:
    survivor = (await create(client, manager, name="张伟")).json()
    duplicate_mobile, national_id = fresh_mobile(), fresh_id("19850302")
    duplicate = (
        await create(
            client, manager, name="张 伟", mobile=duplicate_mobile, national_id=national_id
        )
    ).json()
    dup = f"{API}/{duplicate['id']}"
    vin = with_check_digit("LSVAU2180N2" + f"{uuid.uuid4().int % 10**6:06d}")
    await client.post(
        f"{dup}/timeline", json={"kind": "call", "summary": "问询帕萨特"}, headers=manager
    )
    await client.post(f"{dup}/vehicles", json={"vin": vin, "bought": "elsewhere"}, headers=manager)
    await client.post(
        f"{dup}/consents",
        json={"channel": "wechat", "granted": True, "source": "公众号菜单"},
        headers=manager,
    )

    merged = await client.post(
        f"{API}/{survivor['id']}/merge",
        json={"merged_customer_id": duplicate["id"], "reason": "同一人两个手机号"},
        headers=manager,
    )
    assert merged.status_code == 200, merged.text
    body = merged.json()
    assert body["moved"]["vehicles_moved"] == 1 and body["moved"]["consents_moved"] == 1
    assert "national_id" in body["moved"]["profile_filled"]
    assert body["survivor"]["national_id"] == national_id

    tombstone = await client.get(dup, headers=manager)
    assert tombstone.status_code == 200
    assert tombstone.json()["id"] == survivor["id"]
    assert tombstone.json()["merged_from"] == duplicate["id"]
    timeline = (await client.get(f"{API}/{survivor['id']}/timeline", headers=manager)).json()
    summaries = [e["summary"] for e in timeline["items"]]
    assert "问询帕萨特" in summaries and any("合并客户" in s for s in summaries)
    vehicles = (await client.get(f"{API}/{survivor['id']}/vehicles", headers=manager)).json()
    assert [v["vin"] for v in vehicles["items"]] == [vin]
    consents = (await client.get(f"{API}/{survivor['id']}/consents", headers=manager)).json()
    wechat = next(c for c in consents["channels"] if c["channel"] == "wechat")
    assert wechat["status"] == "granted" and wechat["source"] == "公众号菜单"
    # The duplicate's mobile still finds the survivor; nobody is created again.
    again = await client.post(
        API, json={"store_id": STORE, "name": "张伟", "mobile": duplicate_mobile}, headers=manager
    )
    assert again.status_code == 200 and again.json()["id"] == survivor["id"]
    # The list shows only the survivor, and the merge was published.
    listed = await client.get(API, params={"q": "张"}, headers=manager)
    assert duplicate["id"] not in {c["id"] for c in listed.json()["items"]}
    async with crm.db.session() as session:
        events = await session.execute(
            select(outbox.c.envelope).where(
                outbox.c.routing_key == "crm.customer.merged",
                outbox.c.aggregate_id == duplicate["id"],
            )
        )
        (envelope,) = events.scalars().all()
    assert envelope["data"]["survivorCustomerId"] == survivor["id"]
    assert envelope["data"]["actor"] == "cus1.manager"
    # Merging again, or merging into the tombstone, is refused.
    twice = await client.post(
        f"{API}/{survivor['id']}/merge",
        json={"merged_customer_id": duplicate["id"]},
        headers=manager,
    )
    assert twice.status_code == 409


async def test_a_consultant_cannot_merge(
    client: httpx.AsyncClient, consultant: dict[str, str]
) -> None:
    one = (await create(client, consultant)).json()
    two = (await create(client, consultant)).json()
    refused = await client.post(
        f"{API}/{one['id']}/merge", json={"merged_customer_id": two["id"]}, headers=consultant
    )
    assert refused.status_code == 403
    assert (await client.get(f"{API}/{two['id']}", headers=consultant)).json()["id"] == two["id"]


async def test_a_manager_cannot_merge_a_customer_outside_their_stores(
    client: httpx.AsyncClient, manager: dict[str, str], as_user: Headers
) -> None:
    mine = (await create(client, manager)).json()
    far = as_user("store_manager", OTHER_STORE, sub="cus2.manager")
    theirs = (
        await client.post(
            API,
            json={"store_id": OTHER_STORE, "name": "王芳", "mobile": fresh_mobile()},
            headers=far,
        )
    ).json()
    refused = await client.post(
        f"{API}/{mine['id']}/merge", json={"merged_customer_id": theirs["id"]}, headers=manager
    )
    assert refused.status_code == 404


# ---- Consent ------------------------------------------------------------------------------------


async def test_consent_is_none_until_given_and_records_source_and_time(
    client: httpx.AsyncClient, consultant: dict[str, str]
) -> None:
    customer = (await create(client, consultant)).json()
    url = f"{API}/{customer['id']}/consents"
    before = (await client.get(url, headers=consultant)).json()
    assert {c["channel"]: c["status"] for c in before["channels"]} == {
        "sms": "none",
        "wechat": "none",
        "phone": "none",
        "email": "none",
    }
    granted = await client.post(
        url,
        json={
            "channel": "sms",
            "granted": True,
            "source": "到店登记表 walk-in form",
            "at": "2026-01-05T10:30:00+08:00",
        },
        headers=consultant,
    )
    assert granted.status_code == 201
    withdrawn = await client.post(
        url,
        json={"channel": "sms", "granted": False, "source": "短信回复TD"},
        headers=consultant,
    )
    sms = next(c for c in withdrawn.json()["channels"] if c["channel"] == "sms")
    assert sms["status"] == "withdrawn" and sms["source"] == "短信回复TD"
    assert sms["recorded_by"] == "cus1.wang"
    history = withdrawn.json()["history"]
    assert [h["granted"] for h in history] == [False, True]
    assert history[1]["at"].startswith("2026-01-05T02:30:00")
    assert history[1]["source"] == "到店登记表 walk-in form"
    no_source = await client.post(
        url, json={"channel": "email", "granted": True, "source": ""}, headers=consultant
    )
    assert no_source.status_code == 422 and "PIPL" in no_source.json()["detail"]


# ---- Vehicles owned -----------------------------------------------------------------------------


async def test_vehicles_owned_are_checked_listed_and_edited(
    client: httpx.AsyncClient, manager: dict[str, str]
) -> None:
    customer = (await create(client, manager)).json()
    url = f"{API}/{customer['id']}/vehicles"
    vin = with_check_digit("LFV2A21K6N3" + f"{uuid.uuid4().int % 10**6:06d}")
    wrong = await client.post(
        url, json={"vin": with_wrong_check_digit(vin), "bought": "here"}, headers=manager
    )
    assert wrong.status_code == 422 and wrong.json()["errors"][0]["rule"] == "vin_check_digit"
    no_store = await client.post(url, json={"vin": vin, "bought": "here"}, headers=manager)
    assert no_store.status_code == 422 and "store" in no_store.json()["detail"]
    added = await client.post(
        url,
        json={
            "vin": vin.lower(),
            "bought": "here",
            "store_id": STORE,
            "plate": "沪A·12345",
            "purchased_on": "2023-06-18",
        },
        headers=manager,
    )
    assert added.status_code == 201
    vehicle = added.json()
    assert (vehicle["vin"], vehicle["plate"]) == (vin, "沪A12345")
    twice = await client.post(url, json={"vin": vin, "bought": "elsewhere"}, headers=manager)
    assert twice.status_code == 409
    edit = f"{url}/{vehicle['id']}"
    sold = await client.patch(
        edit, json={"sold_on": "2025-12-01"}, headers={**manager, "If-Match": '"1"'}
    )
    assert sold.status_code == 200 and sold.json()["sold_on"] == "2025-12-01"
    stale = await client.patch(
        edit, json={"plate": "沪B54321"}, headers={**manager, "If-Match": '"1"'}
    )
    assert stale.status_code == 412
    listed = (await client.get(url, headers=manager)).json()
    assert [v["version"] for v in listed["items"]] == [2]


# ---- Timeline -----------------------------------------------------------------------------------


async def test_the_timeline_is_newest_first_paged_and_append_only(
    client: httpx.AsyncClient, consultant: dict[str, str], crm: Crm
) -> None:
    customer = (await create(client, consultant)).json()
    url = f"{API}/{customer['id']}/timeline"
    for n, kind in enumerate(("call", "visit", "wechat", "note")):
        logged = await client.post(
            url,
            json={
                "kind": kind,
                "summary": f"第{n + 1}次跟进",
                "at": f"2026-02-0{n + 1}T09:00:00+08:00",
            },
            headers=consultant,
        )
        assert logged.status_code == 201 and logged.json()["actor"] == "cus1.wang"
    refused = await client.post(url, json={"kind": "system", "summary": "x"}, headers=consultant)
    assert refused.status_code == 422
    future = await client.post(
        url, json={"kind": "note", "summary": "x", "at": "2099-01-01T00:00:00Z"}, headers=consultant
    )
    assert future.status_code == 422
    first = (await client.get(url, params={"limit": 3}, headers=consultant)).json()
    rest = (
        await client.get(
            url, params={"limit": 3, "cursor": first["next_cursor"]}, headers=consultant
        )
    ).json()
    entries = first["items"] + rest["items"]
    assert rest["next_cursor"] is None
    # The creation entry is the newest (now); the follow-ups come newest first after it.
    assert entries[0]["kind"] == "system"
    assert [e["summary"] for e in entries[1:]] == [
        "第4次跟进",
        "第3次跟进",
        "第2次跟进",
        "第1次跟进",
    ]
    only_calls = (await client.get(url, params={"kind": "call"}, headers=consultant)).json()
    assert [e["kind"] for e in only_calls["items"]] == ["call"]
    async with crm.db.engine.connect() as conn:
        for statement in (
            "UPDATE timeline_entries SET summary = 'rewritten' WHERE customer_id = :id",
            "DELETE FROM timeline_entries WHERE customer_id = :id",
        ):
            with pytest.raises(DBAPIError, match="append-only"):
                await conn.execute(text(statement), {"id": customer["id"]})
            await conn.rollback()
