"""Vehicles over HTTP against the real database: receive, VIN rules, scoping, If-Match, CSV."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from sqlalchemy import text

VEHICLES = "/api/v1/inventory/vehicles"


def vehicle_body(vin: str, **overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "vin": vin,
        "store_id": "SH01",
        "trim_code": "TSL-MY-LR",
        "colour_code": "WHT",
        "model_year": 2026,
    }
    body.update(overrides)
    return body


async def in_stock(
    client: httpx.AsyncClient, headers: dict[str, str], vin: str, store: str = "SH01"
) -> None:
    created = await client.post(
        VEHICLES,
        json=vehicle_body(vin, store_id=store, status="in_stock", arrived_on="2026-11-01"),
        headers=headers,
    )
    assert created.status_code == 201, created.text


async def test_received_vehicle_can_be_read_back(
    client: httpx.AsyncClient, as_hq: dict[str, str], new_vin: Callable[[], str]
) -> None:
    vin = new_vin()
    created = await client.post(VEHICLES, json=vehicle_body(vin), headers=as_hq)
    assert created.status_code == 201, created.text
    assert created.json()["status"] == "on_order"
    read = await client.get(f"{VEHICLES}/{vin}", headers=as_hq)
    assert read.json()["cost_fen"] == 281_000_00
    assert read.headers["ETag"] == '"1"'


async def test_wrong_vin_check_digit_is_refused_with_the_rule_named(
    client: httpx.AsyncClient, as_hq: dict[str, str], new_vin: Callable[[], str]
) -> None:
    vin = new_vin()
    wrong = vin[:8] + ("1" if vin[8] != "1" else "2") + vin[9:]
    answer = await client.post(VEHICLES, json=vehicle_body(wrong), headers=as_hq)
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("application/problem+json")
    problem = answer.json()
    assert "check digit" in problem["detail"]
    assert problem["errors"][0]["rule"] == "check_digit"


async def test_vin_with_letter_o_is_refused(
    client: httpx.AsyncClient, as_hq: dict[str, str]
) -> None:
    answer = await client.post(VEHICLES, json=vehicle_body("LRW3E7FAOTC000001"), headers=as_hq)
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["rule"] == "forbidden_letter"


async def test_duplicate_vin_is_a_conflict(
    client: httpx.AsyncClient, as_hq: dict[str, str], new_vin: Callable[[], str]
) -> None:
    vin = new_vin()
    assert (await client.post(VEHICLES, json=vehicle_body(vin), headers=as_hq)).status_code == 201
    again = await client.post(VEHICLES, json=vehicle_body(vin), headers=as_hq)
    assert again.status_code == 409


async def test_unknown_trim_is_422_not_500(
    client: httpx.AsyncClient, as_hq: dict[str, str], new_vin: Callable[[], str]
) -> None:
    answer = await client.post(
        VEHICLES, json=vehicle_body(new_vin(), trim_code="NOPE"), headers=as_hq
    )
    assert answer.status_code == 422
    assert "NOPE" in answer.json()["detail"]


async def test_another_stores_vehicle_is_not_found(
    client: httpx.AsyncClient,
    as_hq: dict[str, str],
    as_store: Callable[..., dict[str, str]],
    new_vin: Callable[[], str],
) -> None:
    vin = new_vin()
    await in_stock(client, as_hq, vin, store="GZ01")
    beijing = as_store("BJ01")
    assert (await client.get(f"{VEHICLES}/{vin}", headers=beijing)).status_code == 404
    reserve = await client.post(
        f"{VEHICLES}/{vin}/reservation",
        json={"order_ref": "SO-1", "request_id": f"r-{vin}"},
        headers=beijing,
    )
    assert reserve.status_code == 404
    listed = await client.get(VEHICLES, params={"store_id": "GZ01"}, headers=beijing)
    assert vin not in [v["vin"] for v in listed.json()["items"]]
    # Nor can a store receive a vehicle into another store.
    into_other = await client.post(
        VEHICLES, json=vehicle_body(new_vin(), store_id="GZ01"), headers=beijing
    )
    assert into_other.status_code == 404


async def test_status_move_needs_the_current_version(
    client: httpx.AsyncClient, as_hq: dict[str, str], new_vin: Callable[[], str]
) -> None:
    vin = new_vin()
    await client.post(VEHICLES, json=vehicle_body(vin), headers=as_hq)
    missing = await client.post(f"{VEHICLES}/{vin}/arrive", json={}, headers=as_hq)
    assert missing.status_code == 428
    arrived = await client.post(
        f"{VEHICLES}/{vin}/arrive",
        json={"arrived_on": "2026-11-20"},
        headers={**as_hq, "If-Match": '"1"'},
    )
    assert arrived.status_code == 200, arrived.text
    assert arrived.headers["ETag"] == '"2"'
    stale = await client.post(f"{VEHICLES}/{vin}/demo", headers={**as_hq, "If-Match": '"1"'})
    assert stale.status_code == 412


async def test_impossible_move_is_refused_with_409(
    client: httpx.AsyncClient, as_hq: dict[str, str], new_vin: Callable[[], str]
) -> None:
    vin = new_vin()
    await client.post(VEHICLES, json=vehicle_body(vin), headers=as_hq)  # on order
    answer = await client.post(
        f"{VEHICLES}/{vin}/reservation",
        json={"order_ref": "SO-2", "request_id": f"r2-{vin}"},
        headers=as_hq,
    )
    assert answer.status_code == 409
    assert "on order" in answer.json()["detail"]


async def test_reservation_retried_with_same_request_id_reserves_once(
    client: httpx.AsyncClient,
    as_hq: dict[str, str],
    new_vin: Callable[[], str],
    inventory_app: object,
) -> None:
    vin = new_vin()
    await in_stock(client, as_hq, vin)
    body = {"order_ref": "SO-3", "request_id": f"r3-{vin}"}
    first = await client.post(f"{VEHICLES}/{vin}/reservation", json=body, headers=as_hq)
    second = await client.post(f"{VEHICLES}/{vin}/reservation", json=body, headers=as_hq)
    assert first.status_code == second.status_code == 200
    assert first.json()["version"] == second.json()["version"]
    other = await client.post(
        f"{VEHICLES}/{vin}/reservation",
        json={"order_ref": "SO-4", "request_id": f"r4-{vin}"},
        headers=as_hq,
    )
    assert other.status_code == 409
    async with inventory_app.state.inventory.db.session() as session:  # type: ignore[attr-defined]
        count = await session.scalar(
            text(
                "SELECT count(*) FROM outbox "
                "WHERE aggregate_id = :vin AND event_type LIKE '%VehicleReserved'"
            ),
            {"vin": vin},
        )
    assert count == 1


async def test_expired_reservation_releases_itself_and_says_so(
    client: httpx.AsyncClient,
    as_hq: dict[str, str],
    new_vin: Callable[[], str],
    inventory_app: object,
) -> None:
    import asyncio
    from datetime import UTC, datetime, timedelta

    from marque_inventory.vehicle_service import reserve_vehicle
    from marque_kit.auth import Principal

    vin = new_vin()
    await in_stock(client, as_hq, vin)
    inventory = inventory_app.state.inventory  # type: ignore[attr-defined]
    hq = Principal(subject="t", roles=("hq_admin",), stores=("*",))
    await reserve_vehicle(
        inventory,
        hq,
        request_id=f"exp-{vin}",
        vin=vin,
        order_ref="SO-EXP",
        expires_at=datetime.now(UTC) + timedelta(seconds=1),
    )
    for _ in range(50):
        status = (await client.get(f"{VEHICLES}/{vin}", headers=as_hq)).json()["status"]
        if status == "in_stock":
            break
        await asyncio.sleep(0.2)
    assert status == "in_stock"
    async with inventory.db.session() as session:
        expired = await session.scalar(
            text(
                "SELECT count(*) FROM outbox "
                "WHERE aggregate_id = :vin AND event_type LIKE '%ReservationExpired'"
            ),
            {"vin": vin},
        )
    assert expired == 1


def csv_file(rows: list[str]) -> dict[str, tuple[str, bytes, str]]:
    content = "vin,store_id,trim_code,colour_code,model_year,arrived_on\n" + "\n".join(rows) + "\n"
    return {"file": ("allocation.csv", content.encode(), "text/csv")}


async def test_csv_batch_with_a_bad_row_applies_nothing(
    client: httpx.AsyncClient, as_hq: dict[str, str], new_vin: Callable[[], str]
) -> None:
    good = [new_vin() for _ in range(3)]
    bad = good[0][:8] + ("1" if good[0][8] != "1" else "2") + good[0][9:] + ""
    rows = [f"{v},HZ01,BYD-HAN-EV-610,BLK,2026," for v in good] + [
        f"{bad[:16]}Z,HZ01,BYD-HAN-EV-610,BLK,2026,"
    ]
    answer = await client.post(f"{VEHICLES}/batch", files=csv_file(rows), headers=as_hq)
    assert answer.status_code == 422, answer.text
    report = answer.json()
    assert report["applied"] == 0 and report["rejected"] == 1
    assert [r["row"] for r in report["rows"] if not r["ok"]] == [5]
    for vin in good:
        assert (await client.get(f"{VEHICLES}/{vin}", headers=as_hq)).status_code == 404

    partial = await client.post(
        f"{VEHICLES}/batch", params={"partial": "true"}, files=csv_file(rows), headers=as_hq
    )
    assert partial.status_code == 207
    assert partial.json()["applied"] == 3
    for vin in good:
        assert (await client.get(f"{VEHICLES}/{vin}", headers=as_hq)).json()["status"] == "on_order"


async def test_csv_without_required_columns_is_explained(
    client: httpx.AsyncClient, as_hq: dict[str, str]
) -> None:
    files = {"file": ("x.csv", b"vin,store\nABC,SH01\n", "text/csv")}
    answer = await client.post(f"{VEHICLES}/batch", files=files, headers=as_hq)
    assert answer.status_code == 422
    assert "trim_code" in answer.json()["detail"]


async def test_idempotency_key_replays_the_first_answer(
    client: httpx.AsyncClient, as_hq: dict[str, str], new_vin: Callable[[], str]
) -> None:
    vin = new_vin()
    headers = {**as_hq, "Idempotency-Key": f"k-{vin}"}
    first = await client.post(VEHICLES, json=vehicle_body(vin), headers=headers)
    second = await client.post(VEHICLES, json=vehicle_body(vin), headers=headers)
    assert first.status_code == second.status_code == 201
    assert second.headers.get("Idempotent-Replayed") == "true"
    other_body = await client.post(VEHICLES, json=vehicle_body(new_vin()), headers=headers)
    assert other_body.status_code == 422
