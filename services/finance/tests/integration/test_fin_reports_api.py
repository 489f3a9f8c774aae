"""Reports over real postings: trial balance, P&L, balance sheet, cash flow, gross profit, the
drill-down from a figure to its lines and source documents, and who may read what.

The books of stores RPT1 and RPT2 are written through `books.post` for December 2018 (opening
capital) and January-March 2019; the expected figures below are worked out by hand.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import httpx
import pytest

from marque_finance import books
from marque_finance.domain.ledger import EntryDraft, Line, credit, debit
from marque_finance.unit_of_work import Finance

R = "/api/v1/finance/reports"
S1, S2 = "RPT1", "RPT2"
VIN_MY = "LRPT1000000000001"
VIN_M3 = "LRPT1000000000002"
Q1 = {"from_period": "2019-01", "to_period": "2019-03"}


def entry(
    store: str, on: date, key: str, source: tuple[str, str], what: str, *lines: Line
) -> EntryDraft:
    return EntryDraft(
        store_id=store,
        entry_date=on,
        description=what,
        source_type=source[0],
        source_id=source[1],
        lines=lines,
        source_event_id=f"rpt-test:{key}",
        rule="rpt-test",
    )


NV, MY, M3 = "new_vehicles", "MY", "M3"
ARRIVED = "marque.inventory.v1.VehicleArrived"
DELIVERED = "marque.inventory.v1.VehicleDelivered"

DRAFTS = [
    entry(
        S1,
        date(2018, 12, 20),
        "cap1",
        ("manual", "cap1"),
        "实收资本 Capital",
        debit("1002", 100_000_000),
        credit("4001", 100_000_000),
    ),
    entry(
        S2,
        date(2018, 12, 20),
        "cap2",
        ("manual", "cap2"),
        "实收资本 Capital",
        debit("1002", 50_000_000),
        credit("4001", 50_000_000),
    ),
    entry(
        S1,
        date(2019, 1, 5),
        "arr-my",
        (ARRIVED, VIN_MY),
        "Vehicle MY arrived",
        debit("1405.01", 20_000_000, business_line=NV, model_code=MY, vin=VIN_MY),
        debit("2221.01", 2_600_000),
        credit("2202.01", 22_600_000),
    ),
    entry(
        S1,
        date(2019, 1, 6),
        "arr-m3",
        (ARRIVED, VIN_M3),
        "Vehicle M3 arrived",
        debit("1405.01", 18_000_000, business_line=NV, model_code=M3, vin=VIN_M3),
        debit("2221.01", 2_340_000),
        credit("2202.01", 20_340_000),
    ),
    entry(
        S1,
        date(2019, 1, 10),
        "pay-oem",
        ("payable_payment", "pay-rpt-1"),
        "Pay OEM",
        debit("2202.01", 22_600_000),
        credit("1002", 22_600_000),
    ),
    entry(
        S1,
        date(2019, 1, 20),
        "inv-car",
        ("invoice", "inv-rpt-1"),
        "Invoice car MY",
        debit("1122", 28_250_000),
        credit("6001.01", 25_000_000, business_line=NV, model_code=MY, vin=VIN_MY),
        credit("2221.02", 3_250_000),
    ),
    entry(
        S1,
        date(2019, 1, 20),
        "cos-car",
        (DELIVERED, VIN_MY),
        "Cost of car MY",
        debit("6401.01", 20_000_000, business_line=NV, model_code=MY, vin=VIN_MY),
        credit("1405.01", 20_000_000, business_line=NV, model_code=MY, vin=VIN_MY),
    ),
    entry(
        S1,
        date(2019, 2, 1),
        "parts-in",
        ("payable", "ap-rpt-1"),
        "Parts received",
        debit("1405.03", 40_000),
        debit("2221.01", 5_200),
        credit("2202.02", 45_200),
    ),
    entry(
        S1,
        date(2019, 2, 3),
        "rcp-car",
        ("receipt", "rcp-rpt-1"),
        "Receipt for car MY",
        debit("1002", 28_250_000),
        credit("1122", 28_250_000),
    ),
    entry(
        S1,
        date(2019, 2, 15),
        "svc-cash",
        ("invoice", "inv-rpt-2"),
        "Service paid in cash",
        debit("1001", 113_000),
        credit("6001.04", 100_000, business_line="service_labor"),
        credit("2221.02", 13_000),
    ),
    # Untagged lines: the business line comes from the account.
    entry(
        S1,
        date(2019, 2, 20),
        "parts-sale",
        ("invoice", "inv-rpt-3"),
        "Parts sold",
        debit("1122", 56_500),
        credit("6001.03", 50_000),
        credit("2221.02", 6_500),
    ),
    entry(
        S1,
        date(2019, 2, 20),
        "parts-cost",
        ("marque.inventory.v1.PartsConsumed", "RO-1"),
        "Parts issued",
        debit("6401.03", 30_000),
        credit("1405.03", 30_000),
    ),
    entry(
        S1,
        date(2019, 3, 5),
        "advert",
        ("bank_statement_line", "801"),
        "Advertising",
        debit("6601.01", 500_000),
        credit("1002", 500_000),
    ),
    entry(
        S1,
        date(2019, 3, 6),
        "claim",
        ("expense_claim", "exp-rpt-1"),
        "Office claim",
        debit("6602.02", 30_000),
        debit("2221.01", 3_900),
        credit("2241.01", 33_900),
    ),
    entry(
        S1,
        date(2019, 3, 8),
        "claim-paid",
        ("expense_claim", "exp-rpt-1"),
        "Claim paid",
        debit("2241.01", 33_900),
        credit("1002", 33_900),
    ),
    entry(
        S1,
        date(2019, 3, 10),
        "fee",
        ("bank_statement_line", "802"),
        "Bank fee",
        debit("6603", 5_000),
        credit("1002", 5_000),
    ),
    entry(
        S1,
        date(2019, 3, 12),
        "fp",
        ("floorplan_loan", "fp-rpt-1"),
        "Floor-plan drawdown",
        debit("1002", 15_000_000),
        credit("2001.01", 15_000_000),
    ),
    # RPT1 sends car M3 to RPT2 at cost; RPT2 settles 50,000 yuan of it by bank.
    entry(
        S1,
        date(2019, 3, 20),
        "trf-out",
        ("marque.inventory.v1.TransferShipped", "trf-rpt-1"),
        "Transfer out",
        debit("1901", 18_000_000, counterparty_store=S2),
        credit("1405.01", 18_000_000, business_line=NV, model_code=M3, vin=VIN_M3),
    ),
    entry(
        S2,
        date(2019, 3, 21),
        "trf-in",
        ("marque.inventory.v1.TransferReceived", "trf-rpt-1"),
        "Transfer in",
        debit("1405.01", 18_000_000, business_line=NV, model_code=M3, vin=VIN_M3),
        credit("1901", 18_000_000, counterparty_store=S1),
    ),
    entry(
        S2,
        date(2019, 3, 25),
        "settle-out",
        ("manual", "settle-1"),
        "Settle with RPT1",
        debit("1901", 5_000_000, counterparty_store=S1),
        credit("1002", 5_000_000),
    ),
    entry(
        S1,
        date(2019, 3, 25),
        "settle-in",
        ("manual", "settle-1"),
        "Settled by RPT2",
        debit("1002", 5_000_000),
        credit("1901", 5_000_000, counterparty_store=S2),
    ),
    # One payment for a supplier invoice and the bank's fee: a supplier payment as a whole.
    entry(
        S2,
        date(2019, 3, 15),
        "pay-sup",
        ("payable_payment", "pay-rpt-2"),
        "Pay parts supplier",
        debit("2202.02", 45_200),
        debit("6603", 100),
        credit("1002", 45_300),
    ),
    entry(
        S2,
        date(2019, 3, 28),
        "used",
        ("invoice", "inv-rpt-9"),
        "Used car sold",
        debit("1122", 11_300_000),
        credit("6001.02", 10_000_000, business_line="used_vehicles", model_code=M3),
        credit("2221.02", 1_300_000),
    ),
]


@pytest.fixture(scope="module")
async def books_2019(finance: Finance) -> None:
    async with finance.uow() as uow:
        await books.post_all(uow.session, DRAFTS)
        await uow.commit()


pytestmark = pytest.mark.usefixtures("books_2019")


async def get(client: httpx.AsyncClient, url: str, headers: dict[str, str], **params: Any) -> Any:
    r = await client.get(url, params=params, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


async def all_lines(client: httpx.AsyncClient, link: str, headers: dict[str, str]) -> list[Any]:
    """Follow a drill-down link through every page."""
    lines: list[Any] = []
    url = link + "&limit=2"
    while True:
        r = await client.get(url, headers=headers)
        assert r.status_code == 200, r.text
        body = r.json()
        lines += body["items"]
        if not body["next_cursor"]:
            return lines
        url = f"{link}&limit=2&cursor={body['next_cursor']}"


def lines_of(cash_flow: Any, category: str) -> str:
    link: str = next(x["drill_down"] for x in cash_flow["lines"] if x["category"] == category)
    return link


async def test_trial_balance_of_a_store_rolls_up_and_balances(
    client: httpx.AsyncClient, as_hq: dict[str, str]
) -> None:
    tb = await get(client, f"{R}/trial-balance", as_hq, store_id=S1, **Q1)
    assert tb["balanced"] and tb["store_id"] == S1 and tb["elimination"] is None
    rows = {r["code"]: r for r in tb["rows"]}
    bank = rows["1002"]
    assert (bank["opening_debit_fen"], bank["debit_fen"], bank["credit_fen"]) == (
        100_000_000,
        48_250_000,
        23_138_900,
    )
    assert bank["closing_debit_fen"] == 125_111_100
    inventory = rows["1405"]
    assert inventory["level"] == 1 and not inventory["is_leaf"]
    assert inventory["debit_fen"] == 38_040_000 and inventory["credit_fen"] == 38_030_000
    assert rows["1901"]["closing_debit_fen"] == 13_000_000
    assert rows["4001"]["opening_credit_fen"] == 100_000_000
    t = tb["totals"]
    assert t["opening_debit_fen"] == t["opening_credit_fen"] == 100_000_000
    assert t["debit_fen"] == t["credit_fen"]
    lines = await all_lines(client, bank["drill_down"], as_hq)
    assert sum(x["debit_fen"] for x in lines) == 48_250_000
    assert sum(x["credit_fen"] for x in lines) == 23_138_900


async def test_profit_and_loss_figures_are_exact(
    client: httpx.AsyncClient, as_hq: dict[str, str]
) -> None:
    pnl = await get(client, f"{R}/profit-and-loss", as_hq, store_id=S1, **Q1)
    assert {r["code"]: r["amount_fen"] for r in pnl["revenue"]} == {
        "6001.01": 25_000_000,
        "6001.03": 50_000,
        "6001.04": 100_000,
    }
    assert pnl["total_revenue"]["amount_fen"] == 25_150_000
    assert pnl["total_cost_of_sales"]["amount_fen"] == 20_030_000
    assert pnl["gross_profit"]["amount_fen"] == 5_120_000
    assert pnl["selling_expenses"]["amount_fen"] == 500_000
    assert pnl["admin_expenses"]["amount_fen"] == 30_000
    assert pnl["finance_costs"]["amount_fen"] == 5_000
    assert pnl["other_expenses"] == {"amount_fen": 0, "drill_down": None}
    assert pnl["net_profit"]["amount_fen"] == 4_585_000
    lines = {b["business_line"]: b for b in pnl["by_business_line"]}
    assert (lines["new_vehicles"]["revenue_fen"], lines["new_vehicles"]["cost_fen"]) == (
        25_000_000,
        20_000_000,
    )
    assert lines["parts"]["gross_profit_fen"] == 20_000
    assert pnl["by_store"] == []


async def test_drill_down_from_a_pnl_figure_returns_exactly_its_lines_and_sources(
    client: httpx.AsyncClient, as_hq: dict[str, str]
) -> None:
    pnl = await get(client, f"{R}/profit-and-loss", as_hq, store_id=S1, **Q1)
    link = pnl["total_revenue"]["drill_down"]
    lines = await all_lines(client, link, as_hq)
    assert sorted((x["account_code"], x["credit_fen"]) for x in lines) == [
        ("6001.01", 25_000_000),
        ("6001.03", 50_000),
        ("6001.04", 100_000),
    ]
    assert sum(x["credit_fen"] - x["debit_fen"] for x in lines) == 25_150_000
    car = next(x for x in lines if x["account_code"] == "6001.01")
    assert car["entry_number"].startswith("JE-RPT1-201901-")
    assert car["entry_date"] == "2019-01-20" and car["description"] == "Invoice car MY"
    assert car["source"] == {
        "type": "invoice",
        "id": "inv-rpt-1",
        "url": "/api/v1/finance/invoices/inv-rpt-1",
    }
    first = (await client.get(link + "&limit=2", headers=as_hq)).json()
    assert first["line_count"] == 3 and len(first["items"]) == 2
    assert first["total_credit_fen"] - first["total_debit_fen"] == 25_150_000

    net = await all_lines(client, pnl["net_profit"]["drill_down"], as_hq)
    assert sum(x["credit_fen"] - x["debit_fen"] for x in net) == 4_585_000


async def test_balance_sheet_balances_with_unclosed_profit(
    client: httpx.AsyncClient, as_hq: dict[str, str]
) -> None:
    bs = await get(client, f"{R}/balance-sheet", as_hq, store_id=S1, period="2019-03")
    assert bs["balanced"]
    assert bs["total_assets_fen"] == bs["total_liabilities_fen"] + bs["total_equity_fen"]
    assets = {r["code"]: r["amount_fen"] for r in bs["assets"]}
    assert assets["1001"] == 113_000 and assets["1002"] == 125_111_100
    assert assets["1122"] == 56_500 and assets["1901"] == 13_000_000
    assert assets["1405"] == 10_000  # parts left; both cars gone
    equity = {r["code"]: r for r in bs["equity"]}
    assert equity["4001"]["amount_fen"] == 100_000_000
    assert equity["4103"]["amount_fen"] == bs["current_year_profit_fen"] == 4_585_000
    profit_lines = await all_lines(client, equity["4103"]["drill_down"], as_hq)
    assert sum(x["credit_fen"] - x["debit_fen"] for x in profit_lines) == 4_585_000
    liabilities = {r["code"]: r["amount_fen"] for r in bs["liabilities"]}
    assert liabilities["2001"] == 15_000_000
    assert liabilities["2202"] == 20_340_000 + 45_200
    # As at the end of 2018 only the capital is there.
    dec = await get(client, f"{R}/balance-sheet", as_hq, store_id=S1, period="2018-12")
    assert dec["total_assets_fen"] == 100_000_000 and dec["current_year_profit_fen"] == 0


async def test_cash_flow_classifies_and_reconciles(
    client: httpx.AsyncClient, as_hq: dict[str, str]
) -> None:
    cf = await get(client, f"{R}/cash-flow", as_hq, store_id=S1, **Q1)
    assert cf["reconciles"]
    assert cf["opening_cash"]["amount_fen"] == 100_000_000
    assert cf["closing_cash"]["amount_fen"] == 125_224_100
    assert cf["net_change"]["amount_fen"] == 25_224_100
    by = {line["category"]: (line["inflow_fen"], line["outflow_fen"]) for line in cf["lines"]}
    assert by == {
        "customer_receipts": (28_363_000, 0),
        "supplier_payments": (0, 22_600_000),
        "expenses_paid": (0, 538_900),
        "financing": (15_000_000, 0),
        "inter_store": (5_000_000, 0),
        "other": (0, 0),
    }
    receipts = next(x for x in cf["lines"] if x["category"] == "customer_receipts")
    lines = await all_lines(client, receipts["drill_down"], as_hq)
    assert sorted((x["account_code"], x["debit_fen"]) for x in lines) == [
        ("1001", 113_000),
        ("1002", 28_250_000),
    ]
    assert {x["source"]["url"] for x in lines} == {
        "/api/v1/finance/receipts/rcp-rpt-1",
        "/api/v1/finance/invoices/inv-rpt-2",
    }
    opening = await all_lines(client, cf["opening_cash"]["drill_down"], as_hq)
    assert sum(x["debit_fen"] - x["credit_fen"] for x in opening) == 100_000_000

    lines = await all_lines(client, lines_of(cf, "expenses_paid"), as_hq)
    assert [x["source"]["url"] for x in lines] == [
        "/api/v1/finance/bank/lines/801",
        "/api/v1/finance/expense-claims/exp-rpt-1",
        "/api/v1/finance/bank/lines/802",
    ]
    (settled,) = await all_lines(client, lines_of(cf, "inter_store"), as_hq)
    assert settled["source"]["type"] == "manual" and settled["debit_fen"] == 5_000_000
    assert settled["source"]["url"] == settled["entry_url"]
    assert settled["entry_url"] == f"/api/v1/finance/journal/{settled['entry_id']}"
    # A payment that names no payable Marque knows has no document link, rather than a wrong one.
    (paid_oem,) = await all_lines(client, lines_of(cf, "supplier_payments"), as_hq)
    assert paid_oem["source"] == {"type": "payable_payment", "id": "pay-rpt-1", "url": None}

    other = await get(client, f"{R}/cash-flow", as_hq, store_id=S2, **Q1)
    assert other["reconciles"]
    assert (other["opening_cash"]["amount_fen"], other["closing_cash"]["amount_fen"]) == (
        50_000_000,
        44_954_700,
    )
    by = {line["category"]: line["net_fen"] for line in other["lines"] if line["net_fen"]}
    assert by == {"supplier_payments": -45_300, "inter_store": -5_000_000}
    paid = next(x for x in other["lines"] if x["category"] == "supplier_payments")
    lines = await all_lines(client, paid["drill_down"], as_hq)
    assert [(x["account_code"], x["credit_fen"]) for x in lines] == [("1002", 45_300)]


async def test_gross_profit_rows_by_model_and_month_drill_to_their_lines(
    client: httpx.AsyncClient, as_hq: dict[str, str]
) -> None:
    gp = await get(client, f"{R}/gross-profit", as_hq, store_id=S1, **Q1)
    rows = [
        (
            r["business_line"],
            r["model_code"],
            r["period"],
            r["revenue_fen"],
            r["cost_fen"],
            r["gross_profit_fen"],
            r["margin_pct"],
        )
        for r in gp["items"]
    ]
    assert rows == [
        ("new_vehicles", "MY", "2019-01", 25_000_000, 20_000_000, 5_000_000, 20.0),
        ("parts", "", "2019-02", 50_000, 30_000, 20_000, 40.0),
        ("service_labor", "", "2019-02", 100_000, 0, 100_000, 100.0),
    ]
    assert gp["total_gross_profit_fen"] == 5_120_000 and gp["next_cursor"] is None
    car = gp["items"][0]
    lines = await all_lines(client, car["drill_down"], as_hq)
    assert sum(x["credit_fen"] - x["debit_fen"] for x in lines) == 5_000_000
    cost = next(x for x in lines if x["account_code"] == "6401.01")
    assert cost["vin"] == VIN_MY
    assert cost["source"]["url"] == f"/api/v1/inventory/vehicles/{VIN_MY}"
    parts = await all_lines(client, gp["items"][1]["drill_down"], as_hq)
    assert sorted(x["account_code"] for x in parts) == ["6001.03", "6401.03"]

    only_my = await get(client, f"{R}/gross-profit", as_hq, store_id=S1, model_code=MY, **Q1)
    assert [r["model_code"] for r in only_my["items"]] == [MY]
    only_parts = await get(
        client, f"{R}/gross-profit", as_hq, store_id=S1, business_line="parts", **Q1
    )
    assert [r["business_line"] for r in only_parts["items"]] == ["parts"]
    page1 = await get(client, f"{R}/gross-profit", as_hq, store_id=S1, limit=2, **Q1)
    page2 = await get(
        client, f"{R}/gross-profit", as_hq, store_id=S1, limit=2, cursor=page1["next_cursor"], **Q1
    )
    assert [r["business_line"] for r in page1["items"] + page2["items"]] == [
        "new_vehicles",
        "parts",
        "service_labor",
    ]
    assert page2["next_cursor"] is None


async def test_group_reports_consolidate_and_eliminate_inter_store(
    client: httpx.AsyncClient, as_user: Callable[..., dict[str, str]]
) -> None:
    analyst = as_user("hq_analyst", "*")
    tb = await get(client, f"{R}/trial-balance", analyst, **Q1)
    assert tb["store_id"] is None and {S1, S2} <= set(tb["stores"])
    assert tb["balanced"]
    elimination = tb["elimination"]
    assert elimination["claims_fen"] >= 13_000_000
    assert not [
        m
        for m in elimination["mismatched_pairs"]
        if {S1, S2} & {m["store_id"], m["counterparty_store_id"]}
    ]
    # The group is the sum of its stores, account by account.
    group_rows = {r["code"]: r for r in tb["rows"]}
    for code in ("1901", "6001", "1405"):
        total_debit = 0
        for store in tb["stores"]:
            own = await get(client, f"{R}/trial-balance", analyst, store_id=store, **Q1)
            total_debit += next((r["debit_fen"] for r in own["rows"] if r["code"] == code), 0)
        assert group_rows[code]["debit_fen"] == total_debit

    pnl = await get(client, f"{R}/profit-and-loss", analyst, store_id="*", **Q1)
    by_store = {s["store_id"]: s for s in pnl["by_store"]}
    assert by_store[S1]["net_profit_fen"] == 4_585_000
    assert (by_store[S2]["revenue_fen"], by_store[S2]["net_profit_fen"]) == (10_000_000, 9_999_900)
    assert pnl["net_profit"]["amount_fen"] == sum(s["net_profit_fen"] for s in pnl["by_store"])

    bs = await get(client, f"{R}/balance-sheet", analyst, period="2019-03")
    assert bs["balanced"] and bs["elimination"]["difference_fen"] == sum(
        r["amount_fen"] for r in bs["assets"] if r["code"] == "1901"
    )
    cf = await get(client, f"{R}/cash-flow", analyst, **Q1)
    assert cf["reconciles"]


async def test_a_payment_drills_to_the_payable_it_paid(
    client: httpx.AsyncClient, as_hq: dict[str, str]
) -> None:
    """From the bank line of a real supplier payment, the source link opens its payable."""
    booked = await client.post(
        "/api/v1/finance/payables",
        json={
            "store_id": "RPT3",
            "supplier": "RPT Office Supplies",
            "reference": "FP-RPT3-1",
            "net_fen": 10_000,
            "expense_or_stock_account": "6602.02",
        },
        headers=as_hq,
    )
    assert booked.status_code == 201, booked.text
    payable = booked.json()
    paid = await client.post(
        f"/api/v1/finance/payables/{payable['id']}/payments",
        json={"amount_fen": payable["gross_fen"], "bank_reference": "RPT3-BANK-1"},
        headers=as_hq,
    )
    assert paid.status_code == 201, paid.text
    period = paid.json()["payment"]["paid_on"][:7]
    drill = await get(
        client, f"{R}/drill-down", as_hq, store_id="RPT3", account="1002", period=period
    )
    (bank_line,) = drill["items"]
    assert bank_line["credit_fen"] == payable["gross_fen"]
    assert bank_line["source"]["url"] == f"/api/v1/finance/payables/{payable['id']}"
    document = await get(client, bank_line["source"]["url"], as_hq)
    assert document["payments"][0]["entry_id"] == bank_line["entry_id"]


async def test_store_staff_see_their_store_only_and_not_the_group(
    client: httpx.AsyncClient, as_user: Callable[..., dict[str, str]]
) -> None:
    clerk = as_user("finance", S1, sub="rpt1.finance")
    ok = await client.get(f"{R}/profit-and-loss", params={"store_id": S1, **Q1}, headers=clerk)
    assert ok.status_code == 200
    other = await client.get(f"{R}/profit-and-loss", params={"store_id": S2, **Q1}, headers=clerk)
    assert other.status_code == 404
    assert other.headers["content-type"].startswith("application/problem+json")
    drill = await client.get(f"{R}/drill-down", params={"store_id": S2}, headers=clerk)
    assert drill.status_code == 404
    group = await client.get(f"{R}/trial-balance", params=Q1, headers=clerk)
    assert group.status_code == 403 and "Group reports are for HQ" in group.json()["detail"]
    consultant = as_user("sales_consultant", S1)
    denied = await client.get(f"{R}/cash-flow", params={"store_id": S1}, headers=consultant)
    assert denied.status_code == 403
    unknown = await client.get(
        f"{R}/balance-sheet", params={"store_id": "NOPE9"}, headers=as_user("hq_admin", "*")
    )
    assert unknown.status_code == 404 and "no books" in unknown.json()["detail"]


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("trial-balance", {"from_period": "2019-13", "to_period": "2019-12"}, "from_period"),
        ("profit-and-loss", {"from_period": "2019-03", "to_period": "2019-01"}, "from_period"),
        ("balance-sheet", {"period": "March"}, "period"),
        ("gross-profit", {"business_line": "boats"}, "business_line"),
        ("drill-down", {"account": "9999"}, "account"),
        ("drill-down", {"period": "2019-01", "from_period": "2019-01"}, "period"),
    ],
)
async def test_bad_parameters_are_refused_with_422(
    client: httpx.AsyncClient,
    as_hq: dict[str, str],
    path: str,
    params: dict[str, str],
    field: str,
) -> None:
    r = await client.get(f"{R}/{path}", params={"store_id": S1, **params}, headers=as_hq)
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["errors"][0]["field"] == field
    assert body["detail"]
