"""Payables and floor-plan financing against the real database, through the HTTP API.

Arrivals are simulated the way the inventory consumer delivers them: inside one finance
transaction, the receipt entry is posted and then the payables hook is called.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date
from typing import Any

import httpx
from sqlalchemy import text

from marque_finance import books, floorplan_service, payables_service
from marque_finance.domain import floorplan as fp
from marque_finance.domain.ledger import EntryDraft, credit, debit
from marque_finance.domain.money import add_vat, format_yuan
from marque_finance.unit_of_work import Finance

Headers = dict[str, str]
AsUser = Callable[..., Headers]

NET = 19_100_000  # 191,000.00 CNY before VAT
GROSS = add_vat(NET).gross  # 21,583,000
PAYABLES = "/api/v1/finance/payables"
FLOORPLAN = "/api/v1/finance/floorplan"


def vin() -> str:
    return ("LGX" + uuid.uuid4().hex.upper())[:17]


async def arrive(
    finance: Finance,
    store: str,
    the_vin: str,
    on: date,
    *,
    brand: str = "BYD",
    net: int = NET,
    event_id: str | None = None,
) -> str:
    """What the inventory consumer does for VehicleArrived: the receipt entry, then the hook."""
    event_id = event_id or str(uuid.uuid4())
    amount = add_vat(net)
    async with finance.uow() as uow:
        await books.post(
            uow.session,
            EntryDraft(
                store_id=store,
                entry_date=on,
                description=f"Vehicle {the_vin} received",
                source_type="marque.inventory.v1.VehicleArrived",
                source_id=the_vin,
                source_event_id=event_id,
                rule="test_vehicle_received",
                lines=(
                    debit("1405.01", amount.net, vin=the_vin, model_code="BYD-HAN"),
                    debit("2221.01", amount.vat, vin=the_vin),
                    credit("2202.01", amount.gross, party=f"OEM:{brand}", vin=the_vin),
                ),
            ),
        )
        await payables_service.oem_vehicle_received(
            uow.session,
            finance,
            store_id=store,
            vin=the_vin,
            brand=brand,
            model_code="BYD-HAN",
            net_fen=amount.net,
            vat_fen=amount.vat,
            received_on=on,
            source_event_id=event_id,
        )
        await uow.commit()
    return event_id


async def lines_of(finance: Finance, where: str, **params: Any) -> list[dict[str, Any]]:
    async with finance.db.session() as session:
        rows = await session.execute(
            text(
                "SELECT e.source_event_id, e.rule, e.entry_date, l.account_code, l.debit_fen, "
                "l.credit_fen, l.party, l.vin, l.memo FROM journal_lines l "
                "JOIN journal_entries e ON e.id = l.entry_id WHERE " + where + " ORDER BY "
                "e.posted_at, l.line_no"
            ),
            params,
        )
        return [dict(r._mapping) for r in rows]


async def balance(finance: Finance, store: str, account: str, **dims: str) -> int:
    extra = "".join(f" AND {k} = :{k}" for k in dims)
    async with finance.db.session() as session:
        result = await session.execute(
            text(
                "SELECT COALESCE(SUM(debit_fen - credit_fen), 0) FROM journal_lines "
                "WHERE store_id = :store AND account_code = :account" + extra
            ),
            {"store": store, "account": account, **dims},
        )
        return int(result.scalar_one())


async def only_payable(client: httpx.AsyncClient, headers: Headers, **query: str) -> dict[str, Any]:
    r = await client.get(PAYABLES, params=query, headers=headers)
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    assert len(items) == 1, items
    return items[0]


async def test_oem_payable_is_paid_in_parts_and_never_above_outstanding(
    client: httpx.AsyncClient, finance: Finance, as_user: AsUser
) -> None:
    store, the_vin = "APT1", vin()
    staff = as_user("finance", store, sub="apt1.finance")
    event_id = await arrive(finance, store, the_vin, date(2026, 9, 1))
    # The consumer redelivers the same event: still one payable.
    async with finance.uow() as uow:
        await payables_service.oem_vehicle_received(
            uow.session,
            finance,
            store_id=store,
            vin=the_vin,
            brand="BYD",
            model_code="BYD-HAN",
            net_fen=NET,
            vat_fen=GROSS - NET,
            received_on=date(2026, 9, 1),
            source_event_id=event_id,
        )
        await uow.commit()
    payable = await only_payable(client, staff, store_id=store)
    assert payable["supplier"] == "OEM:BYD" and payable["reference"] == the_vin
    assert (payable["kind"], payable["account"], payable["status"]) == (
        "oem_vehicle",
        "2202.01",
        "open",
    )
    assert (payable["gross_fen"], payable["outstanding_fen"]) == (GROSS, GROSS)
    assert payable["due_on"] == "2026-10-01"  # 30 days' terms
    url = f"{PAYABLES}/{payable['id']}/payments"

    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = {"amount_fen": 10_000_000, "paid_on": "2026-09-10", "bank_reference": "CMB-0910-1"}
    r = await client.post(url, json=first, headers={**staff, **key})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["payable"]["status"] == "partially_paid"
    assert body["payable"]["outstanding_fen"] == GROSS - 10_000_000
    assert body["payment"]["method"] == "bank" and body["payment"]["entry_id"]
    replay = await client.post(url, json=first, headers={**staff, **key})
    assert replay.status_code == 201 and replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json()["payment"]["id"] == body["payment"]["id"]

    outstanding = GROSS - 10_000_000
    too_much = {"amount_fen": outstanding + 1, "bank_reference": "CMB-X"}
    r = await client.post(url, json=too_much, headers=staff)
    assert r.status_code == 409, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert f"{format_yuan(outstanding)} CNY still outstanding" in r.json()["detail"]

    rest = {"amount_fen": outstanding, "paid_on": "2026-09-30", "bank_reference": "CMB-0930-7"}
    r = await client.post(url, json=rest, headers=staff)
    assert r.status_code == 201, r.text
    assert r.json()["payable"]["status"] == "paid"
    assert r.json()["payable"]["outstanding_fen"] == 0
    r = await client.post(url, json={"amount_fen": 1, "bank_reference": "X"}, headers=staff)
    assert r.status_code == 409 and "already paid in full" in r.json()["detail"]

    detail = (await client.get(f"{PAYABLES}/{payable['id']}", headers=staff)).json()
    assert [p["amount_fen"] for p in detail["payments"]] == [10_000_000, outstanding]
    # Dr 2202.01 / Cr 1002 with the bank reference on the bank line; the OEM is settled.
    posted = await lines_of(finance, "e.store_id = :s AND e.rule = 'payable_payment'", s=store)
    assert [(x["account_code"], x["debit_fen"], x["credit_fen"]) for x in posted] == [
        ("2202.01", 10_000_000, 0),
        ("1002", 0, 10_000_000),
        ("2202.01", outstanding, 0),
        ("1002", 0, outstanding),
    ]
    assert [x["memo"] for x in posted if x["account_code"] == "1002"] == [
        "CMB-0910-1",
        "CMB-0930-7",
    ]
    assert await balance(finance, store, "2202.01", party="OEM:BYD") == 0
    assert await balance(finance, store, "1002") == -GROSS
    # PaymentMade, one per payment, subject = the payable, with what is still owed.
    async with finance.db.session() as session:
        events = await session.execute(
            text(
                "SELECT envelope FROM outbox WHERE routing_key = 'finance.payment.made' "
                "AND aggregate_id = :p ORDER BY position"
            ),
            {"p": payable["id"]},
        )
        envelopes = [row[0] for row in events]
    assert [e["type"] for e in envelopes] == ["marque.finance.v1.PaymentMade"] * 2
    # proto3 JSON leaves a zero out: paid in full reads as no amountFen.
    owed = [e["data"]["outstanding"].get("amountFen", "0") for e in envelopes]
    assert owed == [str(outstanding), "0"]
    assert envelopes[0]["data"]["supplier"] == "OEM:BYD"
    assert envelopes[1]["marquestore"] == store


async def test_parts_delivery_and_a_manual_supplier_invoice(
    client: httpx.AsyncClient, finance: Finance, as_user: AsUser
) -> None:
    store = "APT2"
    staff = as_user("finance", store)
    event_id = str(uuid.uuid4())
    for _ in range(2):  # delivered twice, booked once
        async with finance.uow() as uow:
            await payables_service.supplier_parts_received(
                uow.session,
                finance,
                store_id=store,
                reference="DN-2026-0915-01",
                part_number="06L115562B",
                quantity=24,
                net_fen=124_800,
                vat_fen=16_224,
                received_on=date(2026, 9, 15),
                source_event_id=event_id,
            )
            await uow.commit()
    parts = await only_payable(client, staff, store_id=store, kind="supplier_parts")
    assert (parts["supplier"], parts["reference"], parts["gross_fen"]) == (
        "SUPPLIER:PARTS",
        "DN-2026-0915-01",
        141_024,
    )
    assert (parts["part_number"], parts["quantity"], parts["account"]) == (
        "06L115562B",
        24,
        "2202.02",
    )

    invoice = {
        "store_id": store,
        "supplier": "上海某某物业管理有限公司",
        "reference": "FP-20261101",
        "net_fen": 100_000,
        "expense_or_stock_account": "6602.02",
        "issued_on": "2026-11-01",
    }
    r = await client.post(PAYABLES, json=invoice, headers=staff)
    assert r.status_code == 201, r.text
    booked = r.json()
    assert (booked["vat_fen"], booked["gross_fen"], booked["due_on"]) == (
        13_000,
        113_000,
        "2026-12-01",
    )
    assert booked["kind"] == "supplier_invoice" and booked["entry_id"]
    posted = await lines_of(finance, "e.source_event_id = :k", k=f"payable:{booked['id']}")
    assert [(x["account_code"], x["debit_fen"], x["credit_fen"]) for x in posted] == [
        ("6602.02", 100_000, 0),
        ("2221.01", 13_000, 0),
        ("2202.02", 0, 113_000),
    ]
    again = await client.post(PAYABLES, json=invoice, headers=staff)
    assert again.status_code == 409 and "already booked" in again.json()["detail"]
    bad = await client.post(
        PAYABLES,
        json={**invoice, "reference": "FP-2", "expense_or_stock_account": "6602"},
        headers=staff,
    )
    assert bad.status_code == 422, bad.text  # a parent account: post to a sub-account
    bad = await client.post(
        PAYABLES,
        json={**invoice, "reference": "FP-3", "expense_or_stock_account": "1002"},
        headers=staff,
    )
    assert bad.status_code == 422 and "cannot be bought" in bad.json()["detail"]
    future = await client.post(
        f"{PAYABLES}/{booked['id']}/payments",
        json={"amount_fen": 1, "paid_on": "2099-01-01", "bank_reference": "X"},
        headers=staff,
    )
    assert future.status_code == 422 and "in the future" in future.json()["detail"]


async def test_ap_ageing_and_supplier_ledger(
    client: httpx.AsyncClient, finance: Finance, as_user: AsUser
) -> None:
    store = "APG1"
    staff = as_user("finance", store)
    supplier = "广州精品供应商"

    async def book(ref: str, net: int, issued: str, due: str) -> dict[str, Any]:
        r = await client.post(
            PAYABLES,
            json={
                "store_id": store,
                "supplier": supplier,
                "reference": ref,
                "net_fen": net,
                "vat_fen": 0,
                "expense_or_stock_account": "1405.05",
                "issued_on": issued,
                "due_on": due,
            },
            headers=staff,
        )
        assert r.status_code == 201, r.text
        booked: dict[str, Any] = r.json()
        return booked

    await book("A-1", 1_000, "2026-04-01", "2026-05-01")  # 210 days late on 27 Nov
    part_paid = await book("A-2", 2_000, "2026-09-01", "2026-10-01")  # 57 days late
    await book("A-3", 4_000, "2026-11-01", "2026-12-01")  # not due yet
    await book("A-4", 8_000, "2026-11-28", "2026-12-28")  # after the ageing date: left out
    r = await client.post(
        f"{PAYABLES}/{part_paid['id']}/payments",
        json={"amount_fen": 500, "paid_on": "2026-11-10", "bank_reference": "BOC-1110"},
        headers=staff,
    )
    assert r.status_code == 201, r.text

    r = await client.get(
        "/api/v1/finance/ap/ageing",
        params={"store_id": store, "as_of": "2026-11-27"},
        headers=staff,
    )
    assert r.status_code == 200, r.text
    ageing = r.json()
    assert [b["key"] for b in ageing["bucket_order"]] == [
        "current",
        "1_30",
        "31_60",
        "61_90",
        "91_180",
        "over_180",
    ]
    (row,) = ageing["suppliers"]
    assert row["supplier"] == supplier and row["documents"] == 3
    assert row["buckets"] == {
        "current": 4_000,
        "1_30": 0,
        "31_60": 1_500,
        "61_90": 0,
        "91_180": 0,
        "over_180": 1_000,
    }
    assert ageing["total_fen"] == 6_500
    # Before the payment, the whole of A-2 was owed.
    earlier = await client.get(
        "/api/v1/finance/ap/ageing",
        params={"store_id": store, "as_of": "2026-11-05"},
        headers=staff,
    )
    assert earlier.json()["suppliers"][0]["buckets"]["31_60"] == 2_000

    r = await client.get(
        f"/api/v1/finance/ap/suppliers/{supplier}",
        params={"store_id": store, "from_date": "2026-09-01", "to_date": "2026-11-27"},
        headers=staff,
    )
    assert r.status_code == 200, r.text
    ledger = r.json()
    assert ledger["opening_fen"] == 1_000
    assert [(x["reference"], x["kind"], x["balance_fen"]) for x in ledger["lines"]] == [
        ("A-2", "invoice", 3_000),
        ("A-3", "invoice", 7_000),
        ("A-2", "payment", 6_500),
    ]
    assert ledger["closing_fen"] == 6_500


async def test_another_stores_payables_and_loans_answer_404(
    client: httpx.AsyncClient, finance: Finance, as_user: AsUser
) -> None:
    store, the_vin = "APX1", vin()
    await arrive(finance, store, the_vin, date(2026, 9, 2))
    mine = await only_payable(client, as_user("finance", store), store_id=store)
    outsider = as_user("finance", "APX2")
    assert (await client.get(f"{PAYABLES}/{mine['id']}", headers=outsider)).status_code == 404
    r = await client.post(
        f"{PAYABLES}/{mine['id']}/payments",
        json={"amount_fen": 1, "bank_reference": "X"},
        headers=outsider,
    )
    assert r.status_code == 404
    r = await client.get(PAYABLES, params={"store_id": store}, headers=outsider)
    assert r.status_code == 404
    r = await client.get(PAYABLES, params={"reference": the_vin}, headers=outsider)
    assert r.status_code == 200 and r.json()["items"] == []
    r = await client.get("/api/v1/finance/ap/ageing", params={"store_id": store}, headers=outsider)
    assert r.status_code == 404
    r = await client.put(f"{FLOORPLAN}/stores/{store}", json={"lender_id": None}, headers=outsider)
    assert r.status_code == 404
    r = await client.post(
        f"{FLOORPLAN}/accruals", json={"store_id": store, "month": "2026-09"}, headers=outsider
    )
    assert r.status_code == 404
    analyst = as_user("sales_consultant", store)
    assert (await client.get(PAYABLES, headers=analyst)).status_code == 403


async def make_lender(
    client: httpx.AsyncClient, as_hq: Headers, rate: int = 435, basis: int = 360
) -> dict[str, Any]:
    r = await client.post(
        f"{FLOORPLAN}/lenders",
        json={
            "name": f"汽车金融-{uuid.uuid4().hex[:8]}",
            "annual_rate_bp": rate,
            "day_count": basis,
        },
        headers=as_hq,
    )
    assert r.status_code == 201, r.text
    lender: dict[str, Any] = r.json()
    return lender


async def test_lenders_are_hq_only(
    client: httpx.AsyncClient, as_hq: Headers, as_user: AsUser
) -> None:
    body = {"name": "Store-made lender", "annual_rate_bp": 435, "day_count": 360}
    for role in ("finance", "store_manager"):
        r = await client.post(f"{FLOORPLAN}/lenders", json=body, headers=as_user(role, "APL1"))
        assert r.status_code == 403, r.text
        assert "only HQ" in r.json()["detail"]
    lender = await make_lender(client, as_hq)
    r = await client.post(
        f"{FLOORPLAN}/lenders", json={**body, "name": lender["name"]}, headers=as_hq
    )
    assert r.status_code == 409
    r = await client.post(
        f"{FLOORPLAN}/lenders", json={**body, "name": "X", "day_count": 366}, headers=as_hq
    )
    assert r.status_code == 422 and "360 or 365" in r.json()["detail"]
    url = f"{FLOORPLAN}/lenders/{lender['id']}"
    not_hq = {**as_user("finance", "APL1"), "If-Match": '"1"'}
    r = await client.patch(url, json={"annual_rate_bp": 500}, headers=not_hq)
    assert r.status_code == 403
    r = await client.patch(url, json={"annual_rate_bp": 500}, headers={**as_hq, "If-Match": '"9"'})
    assert r.status_code == 412
    r = await client.patch(url, json={"annual_rate_bp": 500}, headers={**as_hq, "If-Match": '"1"'})
    assert r.status_code == 200 and r.json()["annual_rate_bp"] == 500
    assert r.headers["ETag"] == '"2"'
    listed = await client.get(f"{FLOORPLAN}/lenders", headers=as_user("finance", "APL1"))
    assert lender["id"] in {x["id"] for x in listed.json()["items"]}


async def test_floor_plan_drawdown_accrual_payoff_and_report(
    client: httpx.AsyncClient, finance: Finance, as_hq: Headers, as_user: AsUser
) -> None:
    store = "APF1"
    manager = as_user("store_manager", store, sub="apf1.manager")
    lender = await make_lender(client, as_hq, rate=435, basis=360)
    party = f"LENDER:{lender['name']}"
    r = await client.put(
        f"{FLOORPLAN}/stores/{store}", json={"lender_id": lender["id"]}, headers=manager
    )
    assert r.status_code == 200, r.text
    assert r.json()["lender"]["id"] == lender["id"] and r.headers["ETag"] == '"1"'

    first, second = vin(), vin()
    await arrive(finance, store, first, date(2026, 9, 10))
    # The lender paid the OEM: the payable is settled by the floor plan, the loan is open.
    payable = await only_payable(client, manager, store_id=store, reference=first)
    assert payable["status"] == "paid" and payable["outstanding_fen"] == 0
    detail = (await client.get(f"{PAYABLES}/{payable['id']}", headers=manager)).json()
    assert [(p["method"], p["amount_fen"], p["lender_id"]) for p in detail["payments"]] == [
        ("floor_plan", GROSS, lender["id"])
    ]
    drawdown = await lines_of(finance, "e.store_id = :s AND e.rule = 'floorplan_drawdown'", s=store)
    assert [(x["account_code"], x["debit_fen"], x["credit_fen"], x["party"]) for x in drawdown] == [
        ("2202.01", GROSS, 0, "OEM:BYD"),
        ("2001.01", 0, GROSS, party),
    ]
    assert await balance(finance, store, "2202.01", vin=first) == 0
    assert await balance(finance, store, "2001.01") == -GROSS

    # September: 10..30 = 21 days.
    sept = fp.interest(GROSS, 435, 360, 21)
    accrual = {"store_id": store, "month": "2026-09"}
    r = await client.post(f"{FLOORPLAN}/accruals", json=accrual, headers=manager)
    assert r.status_code == 201, r.text
    run = r.json()
    assert run["posted_now"] is True
    (posted,) = run["accruals"]
    assert (posted["total_fen"], posted["loans"], posted["sequence"]) == (sept, 1, 1)
    assert [(ln["vin"], ln["days"], ln["interest_fen"]) for ln in posted["lines"]] == [
        (first, 21, sept)
    ]
    # Run again: nothing changes, one entry only.
    r = await client.post(f"{FLOORPLAN}/accruals", json=accrual, headers=manager)
    assert r.status_code == 200 and r.json()["posted_now"] is False
    assert r.json()["accruals"][0]["entry_id"] == posted["entry_id"]
    entries = await lines_of(finance, "e.source_event_id = :k", k=f"floorplan:{store}:2026-09")
    assert [(x["account_code"], x["debit_fen"], x["credit_fen"], x["vin"]) for x in entries] == [
        ("6603", sept, 0, first),
        ("2231", 0, sept, ""),
    ]
    assert entries[0]["entry_date"] == date(2026, 9, 30)
    r = await client.post(
        f"{FLOORPLAN}/accruals", json={"store_id": store, "month": "2099-01"}, headers=manager
    )
    assert r.status_code == 422 and "not over yet" in r.json()["detail"]

    # HQ raises the rate: the open loan keeps 4.35%, the next vehicle is drawn at 5.00%.
    r = await client.patch(
        f"{FLOORPLAN}/lenders/{lender['id']}",
        json={"annual_rate_bp": 500},
        headers={**as_hq, "If-Match": '"1"'},
    )
    assert r.status_code == 200, r.text
    await arrive(finance, store, second, date(2026, 10, 20))

    # The first car is sold and paid off on 15 October: interest 1..14 October.
    r = await client.post(
        f"{FLOORPLAN}/loans/{first}/payoff",
        json={"paid_on": "2026-10-15", "bank_reference": "ICBC-1015-3"},
        headers=manager,
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "paid_off" and r.json()["paid_off_on"] == "2026-10-15"
    payoff = await lines_of(
        finance, "e.source_event_id = :k", k=f"floorplan:payoff:{r.json()['id']}"
    )
    assert [(x["account_code"], x["debit_fen"], x["credit_fen"], x["memo"]) for x in payoff] == [
        ("2001.01", GROSS, 0, first),
        ("1002", 0, GROSS, "ICBC-1015-3"),
    ]
    again = await client.post(
        f"{FLOORPLAN}/loans/{first}/payoff",
        json={"paid_on": "2026-10-15", "bank_reference": "ICBC-1015-3"},
        headers=manager,
    )
    assert again.status_code == 409 and "already paid off" in again.json()["detail"]

    r = await client.post(
        f"{FLOORPLAN}/accruals", json={"store_id": store, "month": "2026-10"}, headers=manager
    )
    assert r.status_code == 201, r.text
    oct_first = fp.interest(GROSS, 435, 360, 14)
    oct_second = fp.interest(GROSS, 500, 360, 12)  # 20..31
    (october,) = r.json()["accruals"]
    assert [(ln["vin"], ln["days"], ln["interest_fen"]) for ln in october["lines"]] == sorted(
        [(first, 14, oct_first), (second, 12, oct_second)]
    )
    assert await balance(finance, store, "6603") == sept + oct_first + oct_second
    assert await balance(finance, store, "2231") == -(sept + oct_first + oct_second)
    assert await balance(finance, store, "2001.01") == -GROSS  # the second car's loan

    # The per-vehicle report, as of 10 November: the open car has 10 November days unposted.
    r = await client.get(
        f"{FLOORPLAN}/loans", params={"store_id": store, "as_of": "2026-11-10"}, headers=manager
    )
    assert r.status_code == 200, r.text
    report = {x["vin"]: x for x in r.json()["items"]}
    assert [x["vin"] for x in r.json()["items"]] == [first, second]  # oldest drawdown first
    paid = report[first]
    assert (paid["status"], paid["days_financed"], paid["principal_fen"]) == ("paid_off", 35, GROSS)
    assert paid["interest_to_date_fen"] == paid["interest_posted_fen"] == sept + oct_first
    assert paid["interest_not_posted_fen"] == 0 and paid["lender_name"] == lender["name"]
    still = report[second]
    nov = fp.interest(GROSS, 500, 360, 10)
    assert (still["status"], still["days_financed"], still["annual_rate_bp"]) == ("open", 22, 500)
    assert still["interest_posted_fen"] == oct_second
    assert still["interest_not_posted_fen"] == nov
    assert still["interest_to_date_fen"] == oct_second + nov
    r = await client.get(
        f"{FLOORPLAN}/loans", params={"store_id": store, "status": "open"}, headers=manager
    )
    assert [x["vin"] for x in r.json()["items"]] == [second]
    r = await client.get(f"{FLOORPLAN}/loans/{first}", headers=manager)
    assert r.status_code == 200
    assert [(m["month"], m["days"]) for m in r.json()[0]["months"]] == [
        ("2026-09", 21),
        ("2026-10", 14),
    ]

    # Not financed any more: the next car's OEM payable stays with the store.
    r = await client.put(
        f"{FLOORPLAN}/stores/{store}",
        json={"lender_id": None},
        headers={**manager, "If-Match": '"1"'},
    )
    assert r.status_code == 200 and r.json()["lender"] is None
    third = vin()
    await arrive(finance, store, third, date(2026, 11, 2))
    assert (await only_payable(client, manager, store_id=store, reference=third))[
        "status"
    ] == "open"
    r = await client.get(f"{FLOORPLAN}/loans/{third}", headers=manager)
    assert r.status_code == 404


async def test_a_payoff_recorded_after_its_month_was_accrued_gives_interest_back(
    client: httpx.AsyncClient, finance: Finance, as_hq: Headers, as_user: AsUser
) -> None:
    store, car = "APF2", vin()
    staff = as_user("finance", store)
    lender = await make_lender(client, as_hq, rate=600, basis=365)
    r = await client.put(
        f"{FLOORPLAN}/stores/{store}", json={"lender_id": lender["id"]}, headers=staff
    )
    assert r.status_code == 200
    await arrive(finance, store, car, date(2026, 8, 1))
    r = await client.post(
        f"{FLOORPLAN}/accruals", json={"store_id": store, "month": "2026-09"}, headers=staff
    )
    assert r.status_code == 201, r.text
    # August and September both accrued (months are accrued in order).
    assert [a["month"] for a in r.json()["accruals"]] == ["2026-09"]
    aug, sep_full = fp.interest(GROSS, 600, 365, 31), fp.interest(GROSS, 600, 365, 30)
    assert await balance(finance, store, "6603") == aug + sep_full

    r = await client.post(
        f"{FLOORPLAN}/loans/{car}/payoff",
        json={"paid_on": "2026-09-20", "bank_reference": "ABC-0920"},
        headers=staff,
    )
    assert r.status_code == 200, r.text
    sep_real = fp.interest(GROSS, 600, 365, 19)
    assert r.json()["interest_posted_fen"] == aug + sep_real == r.json()["interest_to_date_fen"]
    assert await balance(finance, store, "6603", vin=car) == aug + sep_real
    adjust = await lines_of(
        finance, "e.source_event_id = :k", k=f"floorplan:adjust:{r.json()['id']}"
    )
    assert [(x["account_code"], x["debit_fen"], x["credit_fen"]) for x in adjust] == [
        ("2231", sep_full - sep_real, 0),
        ("6603", 0, sep_full - sep_real),
    ]


async def test_a_vehicle_booked_after_its_month_was_accrued_is_caught_up(
    client: httpx.AsyncClient, finance: Finance, as_hq: Headers, as_user: AsUser
) -> None:
    store = "APF3"
    staff = as_user("finance", store)
    lender = await make_lender(client, as_hq)
    await client.put(f"{FLOORPLAN}/stores/{store}", json={"lender_id": lender["id"]}, headers=staff)
    early, late = vin(), vin()
    await arrive(finance, store, early, date(2026, 9, 1))
    r = await client.post(
        f"{FLOORPLAN}/accruals", json={"store_id": store, "month": "2026-09"}, headers=staff
    )
    assert r.status_code == 201
    # The arrival event of 25 September reaches finance only now.
    await arrive(finance, store, late, date(2026, 9, 25))
    r = await client.post(
        f"{FLOORPLAN}/accruals", json={"store_id": store, "month": "2026-09"}, headers=staff
    )
    assert r.status_code == 201, r.text
    runs = r.json()["accruals"]
    assert [(a["sequence"], a["posted_now"]) for a in runs] == [(1, False), (2, True)]
    assert [(ln["vin"], ln["days"]) for ln in runs[1]["lines"]] == [(late, 6)]
    keys = await lines_of(finance, "e.store_id = :s AND e.rule = 'floorplan_accrual'", s=store)
    assert {x["source_event_id"] for x in keys} == {
        f"floorplan:{store}:2026-09",
        f"floorplan:{store}:2026-09:2",
    }


async def test_the_sweep_accrues_every_finished_month_once(
    client: httpx.AsyncClient, finance: Finance, as_hq: Headers, as_user: AsUser
) -> None:
    store, car = "APS1", vin()
    staff = as_user("finance", store)
    lender = await make_lender(client, as_hq)
    await client.put(f"{FLOORPLAN}/stores/{store}", json={"lender_id": lender["id"]}, headers=staff)
    await arrive(finance, store, car, date(2026, 7, 15))
    assert await floorplan_service.sweep(finance) >= 1
    assert await floorplan_service.sweep(finance) == 0
    through = fp.last_finished_month(finance.today())
    r = await client.get(f"{FLOORPLAN}/loans/{car}", headers=staff)
    months = [m["month"] for m in r.json()[0]["months"]]
    assert months[0] == "2026-07" and months[-1] == through
    assert len(months) == len(set(months))
    r = await client.get(f"{FLOORPLAN}/accruals", params={"store_id": store}, headers=staff)
    assert sorted(a["month"] for a in r.json()["items"]) == months
