"""Catalog, stock views, availability, 库龄 and safety stock over HTTP against the real database.

The database is shared with the run's other tests, so each test counts only vehicles of a trim it
creates itself, or compares before and after.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from marque_inventory.domain.ageing import AgeBuckets
from marque_inventory.stock_service import business_date, sweep_stock_age
from marque_kit.tables import outbox

API = "/api/v1/inventory"
AGE_ALERT = "marque.inventory.v1.StockAgeThresholdCrossed"

Headers = dict[str, str]


async def new_trim(client: httpx.AsyncClient, as_hq: Headers, model: str = "LI-L9") -> str:
    """A trim of this test alone, so that counts of its vehicles are not shared."""
    code = f"T-{uuid.uuid4().hex[:10].upper()}"
    body = {
        "code": code,
        "model_code": model,
        "name": "Test trim",
        "energy_type": "phev",
        "msrp_fen": 409_800_00,
        "dealer_cost_fen": 376_000_00,
    }
    created = await client.post(f"{API}/catalog/trims", json=body, headers=as_hq)
    assert created.status_code == 201, created.text
    return code


async def receive(
    client: httpx.AsyncClient,
    as_hq: Headers,
    vin: str,
    store: str,
    trim: str,
    colour: str,
    *,
    age_days: int | None = 10,
) -> dict[str, Any]:
    """A vehicle in stock since `age_days` ago (business date), or on order when None."""
    body: dict[str, Any] = {
        "vin": vin,
        "store_id": store,
        "trim_code": trim,
        "colour_code": colour,
        "model_year": 2026,
        "status": "on_order",
    }
    if age_days is not None:
        body["status"] = "in_stock"
        body["arrived_on"] = (business_date() - timedelta(days=age_days)).isoformat()
    created = await client.post(f"{API}/vehicles", json=body, headers=as_hq)
    assert created.status_code == 201, created.text
    return dict(created.json())


async def reserve(client: httpx.AsyncClient, as_hq: Headers, vin: str) -> None:
    body = {"order_ref": f"SO-{vin[-6:]}", "request_id": uuid.uuid4().hex}
    held = await client.post(f"{API}/vehicles/{vin}/reservation", json=body, headers=as_hq)
    assert held.status_code == 200, held.text


async def sell(client: httpx.AsyncClient, as_hq: Headers, vin: str) -> None:
    await reserve(client, as_hq, vin)
    body = {"order_ref": f"SO-{vin[-6:]}", "request_id": uuid.uuid4().hex}
    sold = await client.post(f"{API}/vehicles/{vin}/sold", json=body, headers=as_hq)
    assert sold.status_code == 200, sold.text


# --- catalog ---------------------------------------------------------------------------------


async def test_catalog_lists_the_groups_reference_data(
    client: httpx.AsyncClient, as_store: Callable[..., Headers]
) -> None:
    consultant = as_store("SH01", role="sales_consultant")

    async def codes(path: str, key: str = "code") -> set[str]:
        answer = await client.get(f"{API}/catalog/{path}", headers=consultant)
        assert answer.status_code == 200, answer.text
        return {item[key] for item in answer.json()["items"]}

    assert {"BYD", "TESLA", "VW", "TOYOTA", "BMW", "LI"} <= await codes("brands")
    assert await codes("models?brand=TESLA") == {"TSL-M3", "TSL-MY"}
    assert {"WHT", "BLK", "RED"} <= await codes("colours")
    assert {"OPT-FSD", "OPT-TOW"} <= await codes("options")
    assert {"BJ01", "SH01", "GZ01", "CD01", "HZ01", "WH01"} <= await codes("stores", "id")
    assert await codes("trims?model=TSL-MY") == {"TSL-MY-RWD", "TSL-MY-LR"}


async def test_trims_carry_msrp_dealer_cost_and_purchase_tax_at_msrp(
    client: httpx.AsyncClient, as_hq: Headers
) -> None:
    answer = await client.get(f"{API}/catalog/trims?model=VW-LAVIDA", headers=as_hq)
    lavida = answer.json()["items"][0]
    assert (lavida["code"], lavida["energy_type"]) == ("VW-LAVIDA-15", "ice")
    assert (lavida["msrp_fen"], lavida["dealer_cost_fen"]) == (120_900_00, 98_000_00)
    # 120,900 ÷ 1.13 = 106,991.15; 10% = 10,699.115 -> 10,699.12 CNY, no relief for petrol cars.
    assert lavida["purchase_tax"]["taxable_price_fen"] == 10_699_115
    assert lavida["purchase_tax"]["tax_fen"] == 1_069_912
    assert lavida["purchase_tax"]["relief_fen"] == 0

    answer = await client.get(f"{API}/catalog/trims?model=TSL-MY&energy_type=bev", headers=as_hq)
    model_y = {t["code"]: t for t in answer.json()["items"]}["TSL-MY-LR"]
    # 303,500 ÷ 1.13 = 268,584.07; 10% = 26,858.41; an NEV in 2026-2027 pays half.
    assert model_y["purchase_tax"]["standard_tax_fen"] == 2_685_841
    assert model_y["purchase_tax"]["relief_fen"] == 1_342_921
    assert model_y["purchase_tax"]["tax_fen"] == 1_342_920

    petrol = await client.get(f"{API}/catalog/trims?energy_type=ice&limit=200", headers=as_hq)
    assert petrol.json()["items"]
    assert {t["energy_type"] for t in petrol.json()["items"]} == {"ice"}


async def test_hq_adds_a_trim_once_and_unknown_models_or_store_staff_are_refused(
    client: httpx.AsyncClient, as_hq: Headers, as_store: Callable[..., Headers]
) -> None:
    code = await new_trim(client, as_hq)
    body = {
        "code": code,
        "model_code": "LI-L9",
        "name": "again",
        "energy_type": "phev",
        "msrp_fen": 1,
        "dealer_cost_fen": 1,
    }
    again = await client.post(f"{API}/catalog/trims", json=body, headers=as_hq)
    assert again.status_code == 409
    unknown = await client.post(
        f"{API}/catalog/trims",
        json={**body, "code": code + "X", "model_code": "NO-SUCH-MODEL"},
        headers=as_hq,
    )
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["field"] == "model_code"
    store_manager = await client.post(
        f"{API}/catalog/trims", json={**body, "code": code + "Y"}, headers=as_store("SH01")
    )
    assert store_manager.status_code == 403
    listed = await client.get(f"{API}/catalog/trims?model=LI-L9&limit=200", headers=as_hq)
    created = {t["code"]: t for t in listed.json()["items"]}[code]
    assert created["brand_code"] == "LI"
    assert created["purchase_tax"]["tax_fen"] > 0


# --- availability and counts -----------------------------------------------------------------


@pytest.fixture
async def red_test_trim(
    client: httpx.AsyncClient, as_hq: Headers, new_vin: Callable[[], str]
) -> dict[str, Any]:
    """A new trim with red cars: 2 in stock in HZ01, 1 in stock and 1 reserved in CD01, 1 sold in
    WH01, 1 on order in GZ01, and a black one in stock in BJ01."""
    trim = await new_trim(client, as_hq)
    vins: dict[str, list[str]] = {}

    async def add(store: str, colour: str = "RED", age_days: int | None = 10) -> str:
        vin = new_vin()
        await receive(client, as_hq, vin, store, trim, colour, age_days=age_days)
        vins.setdefault(store, []).append(vin)
        return vin

    await add("HZ01")
    await add("HZ01")
    await add("CD01")
    await reserve(client, as_hq, await add("CD01"))
    await sell(client, as_hq, await add("WH01"))
    await add("GZ01", age_days=None)
    await add("BJ01", colour="BLK")
    return {"trim": trim, "vins": vins}


async def test_availability_names_the_stores_with_that_trim_and_colour_in_stock(
    client: httpx.AsyncClient, as_hq: Headers, red_test_trim: dict[str, Any]
) -> None:
    trim = red_test_trim["trim"]
    answer = await client.get(
        f"{API}/stock/availability",
        params={"model": "LI-L9", "trim": trim, "colour": "RED"},
        headers=as_hq,
    )
    assert answer.status_code == 200, answer.text
    found = answer.json()
    counts = {s["store_id"]: s["in_stock"] for s in found["stores"]}
    # Reserved, sold, on-order and other-colour cars are not "in stock" for a customer.
    assert counts == {"HZ01": 2, "CD01": 1, "BJ01": 0, "GZ01": 0, "SH01": 0, "WH01": 0}
    assert found["total_in_stock"] == 3
    assert [s["store_id"] for s in found["stores"][:2]] == ["HZ01", "CD01"]
    assert found["stores"][0]["city"] == "Hangzhou"


async def test_availability_refuses_unknown_codes_and_a_trim_of_another_model(
    client: httpx.AsyncClient, as_hq: Headers
) -> None:
    for params, field in (
        ({"colour": "PINK"}, "colour"),
        ({"trim": "NO-SUCH-TRIM"}, "trim"),
        ({"model": "TSL-M3", "trim": "TSL-MY-LR"}, "trim"),
    ):
        answer = await client.get(f"{API}/stock/availability", params=params, headers=as_hq)
        assert answer.status_code == 422, params
        assert answer.json()["errors"][0]["field"] == field


async def test_store_staff_see_every_stores_count_but_only_their_own_vehicles(
    client: httpx.AsyncClient, as_store: Callable[..., Headers], red_test_trim: dict[str, Any]
) -> None:
    trim, vins = red_test_trim["trim"], red_test_trim["vins"]
    hangzhou = as_store("HZ01", role="sales_consultant")
    answer = await client.get(
        f"{API}/stock/availability", params={"trim": trim, "colour": "RED"}, headers=hangzhou
    )
    stores = {s["store_id"]: s for s in answer.json()["stores"]}
    assert stores["CD01"]["in_stock"] == 1
    assert {sid for sid, s in stores.items() if s["yours"]} == {"HZ01"}
    assert not any(vin in answer.text for vin in vins["CD01"])

    listed = await client.get(f"{API}/vehicles", params={"trim_code": trim}, headers=hangzhou)
    assert sorted(v["vin"] for v in listed.json()["items"]) == sorted(vins["HZ01"])


async def test_counts_per_store_and_per_model_follow_the_callers_stores(
    client: httpx.AsyncClient,
    as_hq: Headers,
    as_store: Callable[..., Headers],
    red_test_trim: dict[str, Any],
) -> None:
    trim = red_test_trim["trim"]
    by_model = await client.get(f"{API}/stock/by-model", params={"store_id": "CD01"}, headers=as_hq)
    mine = {t["trim_code"]: t for t in by_model.json()["items"]}[trim]
    assert (mine["model_code"], mine["brand_code"]) == ("LI-L9", "LI")
    assert mine["counts"]["in_stock"] == 1 and mine["counts"]["reserved"] == 1
    assert mine["total"] == 2

    group = await client.get(f"{API}/stock/by-model", headers=as_hq)
    everywhere = {t["trim_code"]: t for t in group.json()["items"]}[trim]
    assert everywhere["counts"] == {
        "on_order": 1,
        "in_stock": 4,
        "reserved": 1,
        "sold": 1,
        "delivered": 0,
        "in_transfer": 0,
        "demo": 0,
    }

    hangzhou = as_store("HZ01")
    own = await client.get(f"{API}/stock/by-store", headers=hangzhou)
    assert [s["store_id"] for s in own.json()["items"]] == ["HZ01"]
    assert own.json()["items"][0]["counts"]["in_stock"] >= 2
    all_stores = await client.get(f"{API}/stock/by-store", headers=as_hq)
    assert len(all_stores.json()["items"]) >= 6
    hidden = await client.get(
        f"{API}/stock/by-model", params={"store_id": "CD01"}, headers=hangzhou
    )
    assert hidden.status_code == 404


# --- 库龄 ---------------------------------------------------------------------------------------


async def test_ageing_view_counts_vehicles_per_age_bucket(
    client: httpx.AsyncClient, as_hq: Headers, new_vin: Callable[[], str]
) -> None:
    async def buckets() -> dict[str, int]:
        answer = await client.get(
            f"{API}/stock/ageing", params={"store_id": "SH01", "oldest": 200}, headers=as_hq
        )
        assert answer.status_code == 200, answer.text
        return {b["bucket"]: b["count"] for b in answer.json()["buckets"]}

    before = await buckets()
    vins = {}
    for age in (5, 45, 75, 120):
        vins[age] = new_vin()
        await receive(client, as_hq, vins[age], "SH01", "BYD-SEAL-650", "BLU", age_days=age)
    await receive(client, as_hq, new_vin(), "SH01", "BYD-SEAL-650", "BLU", age_days=None)
    after = await buckets()

    assert list(after) == ["0-30", "31-60", "61-90", "90+"]
    assert {b: after[b] - before.get(b, 0) for b in after} == {
        "0-30": 1,
        "31-60": 1,
        "61-90": 1,
        "90+": 1,
    }
    report = (
        await client.get(
            f"{API}/stock/ageing", params={"store_id": "SH01", "oldest": 200}, headers=as_hq
        )
    ).json()
    oldest = {v["vin"]: v for v in report["oldest"]}
    assert oldest[vins[120]]["age_days"] == 120
    assert oldest[vins[120]]["bucket"] == "90+"
    assert report["business_date"] == business_date().isoformat()
    assert [s["store_id"] for s in report["stores"]] == ["SH01"]


async def test_ageing_sweep_raises_one_alert_per_bucket_crossed(
    client: httpx.AsyncClient,
    as_hq: Headers,
    new_vin: Callable[[], str],
    inventory_app: FastAPI,
) -> None:
    inventory = inventory_app.state.inventory
    today = business_date()
    buckets = AgeBuckets((30, 60, 90))
    forty_five, a_hundred, fresh = new_vin(), new_vin(), new_vin()
    await receive(client, as_hq, forty_five, "GZ01", "TYT-RAV4-HEV", "GRY", age_days=45)
    await receive(client, as_hq, a_hundred, "GZ01", "TYT-RAV4-HEV", "GRY", age_days=100)
    await receive(client, as_hq, fresh, "GZ01", "TYT-RAV4-HEV", "GRY", age_days=3)

    async def alerts(vin: str) -> list[int]:
        async with inventory.db.session() as session:
            rows = await session.execute(
                select(outbox.c.envelope)
                .where(outbox.c.aggregate_id == vin, outbox.c.event_type == AGE_ALERT)
                .order_by(outbox.c.position)
            )
            return [int(envelope["data"]["bucketDays"]) for (envelope,) in rows]

    assert await sweep_stock_age(inventory, buckets, today) >= 2
    # The 100-day car passed 30, 60 and 90 unseen: one alert, for the bucket it is in now.
    assert (await alerts(forty_five), await alerts(a_hundred), await alerts(fresh)) == (
        [30],
        [90],
        [],
    )

    await sweep_stock_age(inventory, buckets, today)
    assert (await alerts(forty_five), await alerts(a_hundred)) == ([30], [90])

    # Twenty days on, the 45-day car crosses 60; the other one stays in 90+.
    await sweep_stock_age(inventory, buckets, today + timedelta(days=20))
    assert (await alerts(forty_five), await alerts(a_hundred)) == ([30, 60], [90])
    async with inventory.db.session() as session:
        store = await session.scalar(
            select(func.max(outbox.c.store_id)).where(outbox.c.aggregate_id == forty_five)
        )
    assert store == "GZ01"


# --- 安全库存 ------------------------------------------------------------------------------------


async def test_safety_stock_rule_is_created_then_changed_only_from_the_version_read(
    client: httpx.AsyncClient, as_store: Callable[..., Headers]
) -> None:
    manager = as_store("WH01")
    url = f"{API}/stores/WH01/safety-stock"
    created = await client.put(url, json={"model_code": "BMW-X3", "minimum": 2}, headers=manager)
    assert created.status_code == 201, created.text
    assert created.headers["ETag"] == '"1"'
    assert created.json()["minimum"] == 2

    listed = await client.get(url, headers=manager)
    rule = {r["model_code"]: r for r in listed.json()["items"]}["BMW-X3"]
    assert rule["version"] == 1
    assert rule["below_minimum"] == (rule["in_stock"] < 2)

    blind = await client.put(url, json={"model_code": "BMW-X3", "minimum": 3}, headers=manager)
    assert blind.status_code == 428
    changed = await client.put(
        url, json={"model_code": "BMW-X3", "minimum": 3}, headers={**manager, "If-Match": '"1"'}
    )
    assert changed.status_code == 200, changed.text
    assert changed.headers["ETag"] == '"2"'
    stale = await client.put(
        url, json={"model_code": "BMW-X3", "minimum": 5}, headers={**manager, "If-Match": '"1"'}
    )
    assert stale.status_code == 412
    listed = await client.get(url, headers=manager)
    assert {r["model_code"]: r["minimum"] for r in listed.json()["items"]}["BMW-X3"] == 3


async def test_safety_stock_of_another_store_or_an_unknown_model_is_refused(
    client: httpx.AsyncClient, as_store: Callable[..., Headers]
) -> None:
    manager = as_store("WH01")
    other = await client.get(f"{API}/stores/SH01/safety-stock", headers=manager)
    assert other.status_code == 404
    unknown = await client.put(
        f"{API}/stores/WH01/safety-stock",
        json={"model_code": "NO-SUCH-MODEL", "minimum": 1},
        headers=manager,
    )
    assert unknown.status_code == 422
    consultant = await client.put(
        f"{API}/stores/WH01/safety-stock",
        json={"model_code": "BMW-3", "minimum": 1},
        headers=as_store("WH01", role="sales_consultant"),
    )
    assert consultant.status_code == 403
