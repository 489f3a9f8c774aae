"""Journey through the gateway only: staff sign in, the OEM's allocation arrives, Hangzhou finds
a car group-wide, asks Shanghai for it (调拨), Shanghai approves and ships, Hangzhou receives it,
and a partner who subscribed to transfer events receives each one at its webhook, signed. Finance
books it all by itself: both stores' trial balances show the OEM receipt and the transfer, and the
group's inter-store account nets to zero.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
from typing import Any

import httpx
import pytest
from e2e_support import Caller, ServiceProcess, WebhookReceiver, new_vin, sign_in

pytestmark = pytest.mark.e2e

DEMO_PASSWORD = "marque-demo-2026"
# The demo partner key from `marque seed gateway` (README; refused in production).
DEMO_PARTNER_KEY = "mq_demo-autohome_LocalDemoOnlyNotForProduction026"
TRANSFER_EVENTS = ("TransferRequested", "TransferApproved", "TransferShipped", "TransferReceived")


def verify_marque_signature(secret: str, header: str, body: bytes, tolerance: int = 300) -> None:
    """What a partner does on its side (docs/webhooks.md): t=<unix>,v1=<hex hmac>."""
    parts = dict(item.split("=", 1) for item in header.split(","))
    timestamp = int(parts["t"])
    assert abs(time.time() - timestamp) <= tolerance, "stale signature"
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    assert hmac.compare_digest(expected.hexdigest(), parts["v1"]), "bad signature"


async def step(
    http: httpx.AsyncClient, who: dict[str, str], transfer: dict[str, Any], action: str
) -> dict[str, Any]:
    done = await http.post(
        f"/api/v1/inventory/transfers/{transfer['id']}/{action}",
        headers={**who, "If-Match": f'"{transfer["version"]}"'},
        json={},
    )
    assert done.status_code == 200, done.text
    body: dict[str, Any] = done.json()
    return body


async def test_allocation_search_transfer_and_partner_webhooks_through_the_gateway(
    http: httpx.AsyncClient,
    gateway_service: ServiceProcess,
    finance_ready: ServiceProcess,
    sh01_manager: Caller,
    hz01_manager: Caller,
    webhook_receiver: WebhookReceiver,
) -> None:
    clerk = {"Authorization": f"Bearer {await sign_in(http, 'sh.stock', DEMO_PASSWORD)}"}
    partner = {"X-API-Key": DEMO_PARTNER_KEY}

    # The partner subscribes to transfer events; the secret is shown once.
    subscribed = await http.post(
        "/api/v1/group/webhooks",
        headers=partner,
        json={"url": webhook_receiver.url, "event_types": ["inventory.transfer.*"]},
    )
    assert subscribed.status_code == 201, subscribed.text
    secret = subscribed.json()["secret"]

    # The OEM's allocation for Shanghai arrives as a CSV batch; the clerk books the cars in.
    vins = [new_vin("LRW"), new_vin("LRW")]
    csv = "vin,store_id,trim_code,colour_code,model_year\n" + "".join(
        f"{vin},SH01,TSL-MY-LR,RED,2026\n" for vin in vins
    )
    batch = await http.post(
        "/api/v1/inventory/vehicles/batch",
        headers=clerk,
        files={"file": ("allocation.csv", csv.encode(), "text/csv")},
    )
    assert batch.status_code == 200, batch.text
    for vin in vins:
        arrived = await http.post(
            f"/api/v1/inventory/vehicles/{vin}/arrive",
            headers={**clerk, "If-Match": '"1"'},
            json={},
        )
        assert arrived.status_code == 200, arrived.text

    # Hangzhou's manager searches the whole group for a red Model Y Long Range.
    found = await http.get(
        "/api/v1/inventory/stock/availability",
        params={"trim": "TSL-MY-LR", "colour": "RED"},
        headers=hz01_manager.headers,
    )
    assert found.status_code == 200, found.text
    assert "SH01" in found.text

    # ... and asks Shanghai for one of the new cars.
    asked = await http.post(
        "/api/v1/inventory/transfers",
        headers={**hz01_manager.headers, "Idempotency-Key": f"e2e-transfer-{vins[0]}"},
        json={"kind": "vehicle", "from_store_id": "SH01", "to_store_id": "HZ01", "vin": vins[0]},
    )
    assert asked.status_code == 201, asked.text
    transfer = asked.json()
    transfer = await step(http, sh01_manager.headers, transfer, "approve")
    transfer = await step(http, clerk, transfer, "ship")
    transfer = await step(http, hz01_manager.headers, transfer, "receive")
    assert transfer["status"] == "received"

    car = await http.get(f"/api/v1/inventory/vehicles/{vins[0]}", headers=hz01_manager.headers)
    assert car.status_code == 200 and car.json()["store_id"] == "HZ01"
    # Shanghai no longer sees it as its stock: another store's car is 404, not 403.
    gone = await http.get(f"/api/v1/inventory/vehicles/{vins[0]}", headers=clerk)
    assert gone.status_code == 404

    # The partner received the four transfer events, signed, as CloudEvents.
    received = await webhook_receiver.wait_for_types(*TRANSFER_EVENTS)
    about = [r for r in received if r.event["subject"] == transfer["id"]]
    assert [r.event["type"].rsplit(".", 1)[-1] for r in about] == list(TRANSFER_EVENTS)
    for r in about:
        assert r.headers["content-type"].startswith("application/cloudevents+json")
        verify_marque_signature(secret, r.headers["marque-signature"], r.body)
        assert r.event["marquestore"] in {"SH01", "HZ01"}

    # Every write above is in the audit log, which HQ can read.
    hq = {"Authorization": f"Bearer {await sign_in(http, 'hq.analyst', DEMO_PASSWORD)}"}
    audit = await http.get(
        "/api/v1/group/audit", params={"path": "/api/v1/inventory/transfers"}, headers=hq
    )
    assert audit.status_code == 200, audit.text
    assert len(audit.json()["items"]) >= 4

    await finance_books_the_receipt_and_the_transfer(http, vins, transfer)


async def journal_of(
    http: httpx.AsyncClient, who: dict[str, str], store: str, source_id: str, count: int
) -> list[dict[str, Any]]:
    """The store's entries for one source document, once finance has posted `count` of them."""
    deadline = time.monotonic() + 30
    while True:
        found = await http.get(
            "/api/v1/finance/journal",
            params={"store_id": store, "source_id": source_id},
            headers=who,
        )
        assert found.status_code == 200, found.text
        items: list[dict[str, Any]] = found.json()["items"]
        if len(items) >= count or time.monotonic() > deadline:
            assert len(items) == count, items
            return items
        await asyncio.sleep(0.2)


def amounts(entry: dict[str, Any]) -> dict[str, int]:
    """Debits minus credits per account of one entry."""
    out: dict[str, int] = {}
    for line in entry["lines"]:
        out[line["account"]] = out.get(line["account"], 0) + line["debit_fen"] - line["credit_fen"]
    return out


def tb_row(report: dict[str, Any], code: str) -> dict[str, Any]:
    rows = {row["code"]: row for row in report["rows"]}
    assert code in rows, f"{code} not in the trial balance"
    return rows[code]


async def drilled_sources(http: httpx.AsyncClient, who: dict[str, str], link: str) -> set[str]:
    """Every VIN and source document behind a figure, following the drill-down's pages."""
    found: set[str] = set()
    cursor = None
    while True:
        page = await http.get(link, params={"cursor": cursor} if cursor else None, headers=who)
        assert page.status_code == 200, page.text
        body = page.json()
        for line in body["items"]:
            found.update({line["vin"], line["source"]["id"]})
        cursor = body["next_cursor"]
        if not cursor:
            return found


async def finance_books_the_receipt_and_the_transfer(
    http: httpx.AsyncClient, vins: list[str], transfer: dict[str, Any]
) -> None:
    sh_finance = {"Authorization": f"Bearer {await sign_in(http, 'sh.finance', DEMO_PASSWORD)}"}
    hq_finance = {"Authorization": f"Bearer {await sign_in(http, 'hq.finance', DEMO_PASSWORD)}"}

    # The OEM receipt: stock and input VAT against the OEM payable, at the car's cost.
    [received] = await journal_of(http, sh_finance, "SH01", vins[1], 1)
    booked = amounts(received)
    cost = booked["1405.01"]
    assert cost > 0
    assert booked["2221.01"] == (cost * 13 + 50) // 100  # 13% input VAT, rounded half up
    assert booked["2202.01"] == -(cost + booked["2221.01"])
    assert sum(booked.values()) == 0

    # The transfer: Shanghai's stock becomes a claim on Hangzhou; Hangzhou's goods in transit
    # become stock on receipt; each store balances on its own.
    [shipped_out] = await journal_of(http, sh_finance, "SH01", transfer["id"], 1)
    assert amounts(shipped_out) == {"1901": cost, "1405.01": -cost}
    in_hz = await journal_of(http, hq_finance, "HZ01", transfer["id"], 2)
    assert {frozenset(amounts(e).items()) for e in in_hz} == {
        frozenset({"1402": cost, "1901": -cost}.items()),
        frozenset({"1405.01": cost, "1402": -cost}.items()),
    }

    # Both stores' trial balances show these entries (drill-down from the figure finds them) ...
    month = received["period"]
    for store, who, code, source in (
        ("SH01", sh_finance, "1901", transfer["id"]),
        ("HZ01", hq_finance, "1405.01", vins[0]),
    ):
        tb = await http.get(
            "/api/v1/finance/reports/trial-balance",
            params={"store_id": store, "from_period": month, "to_period": month},
            headers=who,
        )
        assert tb.status_code == 200, tb.text
        report = tb.json()
        assert report["totals"]["debit_fen"] == report["totals"]["credit_fen"]
        row = tb_row(report, code)
        assert row["debit_fen"] >= cost
        assert source in await drilled_sources(http, who, row["drill_down"])

    # ... and the group's books consolidate: inter-store claims and debts net to zero.
    group = await http.get(
        "/api/v1/finance/reports/trial-balance",
        params={"from_period": month, "to_period": month},
        headers=hq_finance,
    )
    assert group.status_code == 200, group.text
    elimination = group.json()["elimination"]
    assert elimination["balanced"] is True and elimination["difference_fen"] == 0
    # A store's finance clerk cannot read the group's books.
    refused = await http.get("/api/v1/finance/reports/trial-balance", headers=sh_finance)
    assert refused.status_code == 403


async def test_a_caller_who_skips_the_gateway_is_refused(
    direct_inventory: httpx.AsyncClient,
) -> None:
    refused = await direct_inventory.get("/api/v1/inventory/catalog/stores")
    assert refused.status_code == 401
    assert refused.headers["content-type"].startswith("application/problem+json")
