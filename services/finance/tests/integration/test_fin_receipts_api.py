"""Receivables over HTTP against the real database and broker: invoices (VAT split), receipts
applied to invoices or held as advances, refunds, idempotency, store scoping, the AR ledger and
ageing, and finance.payment.received on the wire."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from aio_pika.abc import AbstractQueue
from sqlalchemy import text

from marque.finance.v1 import events_pb2, finance_pb2
from marque_finance.settings import FinanceSettings
from marque_finance.unit_of_work import Finance
from marque_kit.broker import Broker
from marque_kit.envelope import Envelope
from marque_kit.testing.events import next_about, tapped

API = "/api/v1/finance"
DAY = date(2026, 3, 2)


def ref(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8].upper()}"


def invoice_body(store: str, reference: str, *amounts: int, **kw: Any) -> dict[str, Any]:
    return {
        "store_id": store,
        "customer_id": kw.get("customer", "CUST-1"),
        "customer_name": "张伟",
        "reference_type": kw.get("reference_type", "sales_order"),
        "reference": reference,
        "issued_on": kw.get("issued_on", DAY.isoformat()),
        **({"due_on": kw["due_on"]} if "due_on" in kw else {}),
        "lines": [
            {
                "description": f"line {n}",
                "business_line": kw.get("business_line", "new_vehicles"),
                "amount_fen": amount,
                "model_code": "BYD-HAN",
            }
            for n, amount in enumerate(amounts)
        ],
    }


def receipt_body(store: str, reference: str, amount: int, **kw: Any) -> dict[str, Any]:
    return {
        "store_id": store,
        "customer_id": kw.get("customer", "CUST-1"),
        "reference_type": kw.get("reference_type", "sales_order"),
        "reference": reference,
        "method": kw.get("method", "bank_transfer"),
        "amount_fen": amount,
        "received_on": kw.get("received_on", DAY.isoformat()),
        "bank_reference": kw.get("bank_reference", "B-" + uuid.uuid4().hex[:10]),
        **({"request_id": kw["request_id"]} if "request_id" in kw else {}),
    }


async def entry_sides(finance: Finance, entry_id: str) -> dict[str, tuple[int, int]]:
    """{account: (debits, credits)} of one posted journal entry."""
    async with finance.db.session() as session:
        rows = await session.execute(
            text(
                "SELECT account_code, SUM(debit_fen), SUM(credit_fen) FROM journal_lines "
                "WHERE entry_id = :e GROUP BY account_code"
            ),
            {"e": entry_id},
        )
        return {code: (int(d), int(c)) for code, d, c in rows}


async def entries_of(finance: Finance, store: str, source_event_id: str) -> list[str]:
    async with finance.db.session() as session:
        rows = await session.execute(
            text(
                "SELECT id FROM journal_entries WHERE store_id = :s AND source_event_id = :k "
                "ORDER BY posted_at"
            ),
            {"s": store, "k": source_event_id},
        )
        return [r[0] for r in rows]


async def post(client: httpx.AsyncClient, path: str, body: Any, headers: Any) -> httpx.Response:
    return await client.post(f"{API}{path}", json=body, headers=headers)


async def test_money_before_the_invoice_waits_in_advances_then_pays_it(
    client: httpx.AsyncClient, as_user: Callable[..., dict[str, str]], finance: Finance
) -> None:
    store, order = "RCV1", ref("SO-RCV1")
    cashier = as_user("finance", store)
    deposit = await post(client, "/receipts", receipt_body(store, order, 500_000), cashier)
    assert deposit.status_code == 201, deposit.text
    r = deposit.json()
    assert r["number"].startswith(f"RCT-{store}-2026-")
    assert (r["applied_fen"], r["unapplied_fen"], r["applications"]) == (0, 500_000, [])
    assert r["total_received_for_reference_fen"] == 500_000
    assert await entry_sides(finance, r["entry_id"]) == {
        "1002": (500_000, 0),
        "2203": (0, 500_000),
    }

    # The car is invoiced: 226,000.00 CNY incl. VAT; the deposit pays part of it at once.
    issued = await post(client, "/invoices", invoice_body(store, order, 22_600_000), cashier)
    assert issued.status_code == 201, issued.text
    inv = issued.json()
    assert inv["number"].startswith(f"INV-{store}-2026-")
    assert (inv["total_fen"], inv["net_fen"], inv["vat_fen"]) == (22_600_000, 20_000_000, 2_600_000)
    assert inv["due_on"] == (DAY + timedelta(days=30)).isoformat()
    assert (inv["paid_fen"], inv["outstanding_fen"], inv["status"]) == (
        500_000,
        22_100_000,
        "partially_paid",
    )
    [application] = inv["applications"]
    assert (application["receipt_id"], application["amount_fen"], application["source"]) == (
        r["id"],
        500_000,
        "invoice",
    )
    assert await entry_sides(finance, inv["entry_id"]) == {
        "1122": (22_600_000, 0),
        "6001.01": (0, 20_000_000),
        "2221.02": (0, 2_600_000),
    }
    [applied_entry] = await entries_of(finance, store, f"application:{r['id']}:{inv['id']}")
    assert applied_entry == application["entry_id"]
    assert await entry_sides(finance, applied_entry) == {
        "2203": (500_000, 0),
        "1122": (0, 500_000),
    }
    after = (await client.get(f"{API}/receipts/{r['id']}", headers=cashier)).json()
    assert (after["applied_fen"], after["unapplied_fen"]) == (500_000, 0)

    # The rest arrives by loan disbursement and pays the invoice off.
    rest = await post(
        client,
        "/receipts",
        receipt_body(store, order, 22_100_000, method="loan_disbursement"),
        cashier,
    )
    assert rest.status_code == 201, rest.text
    assert rest.json()["total_received_for_reference_fen"] == 22_600_000
    final = (await client.get(f"{API}/invoices/{inv['id']}", headers=cashier)).json()
    assert (final["status"], final["outstanding_fen"]) == ("paid", 0)
    assert [line["vat_fen"] for line in final["lines"]] == [2_600_000]

    ledger = await client.get(
        f"{API}/ar/customers/CUST-1", params={"store_id": store}, headers=cashier
    )
    assert ledger.status_code == 200, ledger.text
    body = ledger.json()
    assert len(body["invoices"]) == 1 and len(body["receipts"]) == 2
    assert len(body["applications"]) == 2
    assert body["balance"] == {
        "receivable_fen": 0,
        "advances_fen": 0,
        "net_fen": 0,
        "outstanding_invoices_fen": 0,
        "unapplied_receipts_fen": 0,
    }


async def test_a_repair_order_invoice_is_paid_straight_to_receivables(
    client: httpx.AsyncClient, as_hq: dict[str, str], finance: Finance
) -> None:
    store, order = "RCV2", ref("RO-RCV2")
    issued = await post(
        client,
        "/invoices",
        invoice_body(
            store, order, 113_000, 56_500, reference_type="repair_order", business_line="parts"
        ),
        as_hq,
    )
    assert issued.status_code == 201, issued.text
    inv = issued.json()
    assert (inv["status"], inv["vat_fen"]) == ("open", 13_000 + 6_500)
    assert await entry_sides(finance, inv["entry_id"]) == {
        "1122": (169_500, 0),
        "6001.03": (0, 150_000),
        "2221.02": (0, 19_500),
    }
    paid = await post(
        client,
        "/receipts",
        receipt_body(store, order, 169_500, reference_type="repair_order", method="cash"),
        as_hq,
    )
    assert paid.status_code == 201, paid.text
    r = paid.json()
    assert (r["applied_fen"], r["unapplied_fen"]) == (169_500, 0)
    assert r["applications"][0]["source"] == "receipt"
    assert await entry_sides(finance, r["entry_id"]) == {"1001": (169_500, 0), "1122": (0, 169_500)}
    inv_after = (await client.get(f"{API}/invoices/{inv['id']}", headers=as_hq)).json()
    assert (inv_after["status"], inv_after["paid_fen"]) == ("paid", 169_500)


async def test_an_overpayment_leaves_the_remainder_in_advances_and_only_that_is_refundable(
    client: httpx.AsyncClient, as_user: Callable[..., dict[str, str]], finance: Finance
) -> None:
    store, order = "RCV3", ref("RO-RCV3")
    manager = as_user("store_manager", store)
    body = invoice_body(store, order, 100_000, reference_type="repair_order")
    inv = (await post(client, "/invoices", body, manager)).json()
    over = await post(
        client,
        "/receipts",
        receipt_body(store, order, 130_000, reference_type="repair_order", method="wechat_pay"),
        manager,
    )
    assert over.status_code == 201, over.text
    r = over.json()
    assert (r["applied_fen"], r["unapplied_fen"]) == (100_000, 30_000)
    assert await entry_sides(finance, r["entry_id"]) == {
        "1002": (130_000, 0),
        "1122": (0, 100_000),
        "2203": (0, 30_000),
    }
    assert (await client.get(f"{API}/invoices/{inv['id']}", headers=manager)).json()[
        "status"
    ] == "paid"

    too_much = await post(
        client,
        f"/receipts/{r['id']}/refunds",
        {"amount_fen": 30_001, "reason": "overpaid"},
        manager,
    )
    assert too_much.status_code == 409, too_much.text
    assert too_much.headers["content-type"].startswith("application/problem+json")
    assert "credit the invoice first" in too_much.json()["detail"]

    no_reason = await post(
        client, f"/receipts/{r['id']}/refunds", {"amount_fen": 10_000, "reason": "  "}, manager
    )
    assert no_reason.status_code == 422, no_reason.text
    assert "reason" in no_reason.json()["detail"]
    missing = await post(client, f"/receipts/{r['id']}/refunds", {"amount_fen": 10_000}, manager)
    assert missing.status_code == 422

    refunded = await post(
        client,
        f"/receipts/{r['id']}/refunds",
        {"amount_fen": 30_000, "reason": "多付退回 overpaid", "bank_reference": "WXR-1"},
        manager,
    )
    assert refunded.status_code == 201, refunded.text
    out = refunded.json()
    assert out["receipt"]["refunded_fen"] == 30_000 and out["receipt"]["unapplied_fen"] == 0
    assert out["receipt"]["total_received_for_reference_fen"] == 100_000
    assert await entry_sides(finance, out["refund"]["entry_id"]) == {
        "2203": (30_000, 0),
        "1002": (0, 30_000),
    }
    again = await post(
        client, f"/receipts/{r['id']}/refunds", {"amount_fen": 1, "reason": "again"}, manager
    )
    assert again.status_code == 409


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"method": "bitcoin"}, "method"),
        ({"amount_fen": 0}, "amount_fen"),
        ({"amount_fen": -100}, "amount_fen"),
        ({"amount_fen": 100.5}, "amount_fen"),
        ({"amount_fen": 100.0}, "amount_fen"),
        ({"amount_fen": "100"}, "amount_fen"),
        ({"reference_type": "invoice"}, "reference_type"),
        ({"reference": ""}, "reference"),
    ],
)
async def test_bad_receipts_are_refused_with_a_reason(
    client: httpx.AsyncClient, as_hq: dict[str, str], change: dict[str, Any], field: str
) -> None:
    body = {**receipt_body("RCV4", ref("SO-RCV4"), 1_000), **change}
    answer = await post(client, "/receipts", body, as_hq)
    assert answer.status_code == 422, answer.text
    problem = answer.json()
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert field in problem["detail"]
    listed = await client.get(f"{API}/receipts", params={"store_id": "RCV4"}, headers=as_hq)
    assert listed.json()["items"] == []


async def test_bad_invoices_are_refused(client: httpx.AsyncClient, as_hq: dict[str, str]) -> None:
    deposit = invoice_body("RCV4", "D-1", 1_000, reference_type="deposit")
    answer = await post(client, "/invoices", deposit, as_hq)
    assert answer.status_code == 422 and "sales order or a repair order" in answer.json()["detail"]
    early = invoice_body("RCV4", ref("SO"), 1_000, due_on=(DAY - timedelta(days=1)).isoformat())
    answer = await post(client, "/invoices", early, as_hq)
    assert answer.status_code == 422 and "before issued_on" in answer.json()["detail"]
    bad_line = invoice_body("RCV4", ref("SO"), 1_000)
    bad_line["lines"][0]["business_line"] = "flowers"
    assert (await post(client, "/invoices", bad_line, as_hq)).status_code == 422
    listed = await client.get(f"{API}/invoices", params={"store_id": "RCV4"}, headers=as_hq)
    assert listed.json()["items"] == []


async def test_idempotency_key_and_request_id_record_one_receipt(
    client: httpx.AsyncClient, as_hq: dict[str, str]
) -> None:
    store, order = "RCV5", ref("SO-RCV5")
    body = receipt_body(store, order, 88_800)
    headers = {**as_hq, "Idempotency-Key": str(uuid.uuid4())}
    first = await post(client, "/receipts", body, headers)
    second = await post(client, "/receipts", body, headers)
    assert first.status_code == second.status_code == 201
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert first.json()["id"] == second.json()["id"]
    other = await post(client, "/receipts", {**body, "amount_fen": 88_801}, headers)
    assert other.status_code == 422

    request_id = f"pos-{uuid.uuid4()}"
    by_request = receipt_body(store, order, 10_000, request_id=request_id)
    one = await post(client, "/receipts", by_request, as_hq)
    two = await post(client, "/receipts", by_request, as_hq)
    assert (one.status_code, two.status_code) == (201, 200)
    assert one.json()["id"] == two.json()["id"]
    clash = await post(client, "/receipts", {**by_request, "amount_fen": 10_001}, as_hq)
    assert clash.status_code == 422 and request_id in clash.json()["detail"]

    listed = await client.get(f"{API}/receipts", params={"reference": order}, headers=as_hq)
    assert sorted(r["amount_fen"] for r in listed.json()["items"]) == [10_000, 88_800]


async def test_a_receipt_and_an_invoice_arriving_together_never_miss_each_other(
    client: httpx.AsyncClient, as_hq: dict[str, str]
) -> None:
    store = "RCVA"
    for _ in range(4):
        order = ref("SO-RCVA")
        issued, received = await asyncio.gather(
            post(client, "/invoices", invoice_body(store, order, 100_000), as_hq),
            post(client, "/receipts", receipt_body(store, order, 60_000), as_hq),
        )
        assert (issued.status_code, received.status_code) == (201, 201)
        inv = (await client.get(f"{API}/invoices/{issued.json()['id']}", headers=as_hq)).json()
        rct = (await client.get(f"{API}/receipts/{received.json()['id']}", headers=as_hq)).json()
        # Whichever committed first, the money pays the invoice exactly once.
        assert (inv["paid_fen"], inv["status"]) == (60_000, "partially_paid")
        assert (rct["applied_fen"], rct["unapplied_fen"]) == (60_000, 0)
        assert len(inv["applications"]) == 1

    request_id = f"pos-{uuid.uuid4()}"
    body = receipt_body(store, ref("SO-RCVA"), 5_000, request_id=request_id)
    answers = await asyncio.gather(*(post(client, "/receipts", body, as_hq) for _ in range(3)))
    assert sorted(a.status_code for a in answers) == [200, 200, 201]
    assert len({a.json()["id"] for a in answers}) == 1


async def test_another_stores_documents_are_not_found(
    client: httpx.AsyncClient, as_hq: dict[str, str], as_user: Callable[..., dict[str, str]]
) -> None:
    store, order = "RCV6", ref("SO-RCV6")
    inv = (await post(client, "/invoices", invoice_body(store, order, 50_000), as_hq)).json()
    r = (await post(client, "/receipts", receipt_body(store, order, 70_000), as_hq)).json()
    elsewhere = as_user("finance", "RCV7")
    for path in (f"/invoices/{inv['id']}", f"/receipts/{r['id']}"):
        answer = await client.get(f"{API}{path}", headers=elsewhere)
        assert answer.status_code == 404, answer.text
        assert "not found in your stores" in answer.json()["detail"]
    refund = await post(
        client, f"/receipts/{r['id']}/refunds", {"amount_fen": 1, "reason": "x"}, elsewhere
    )
    assert refund.status_code == 404
    create = await post(client, "/receipts", receipt_body(store, order, 1), elsewhere)
    assert create.status_code == 404
    ledger = await client.get(
        f"{API}/ar/customers/CUST-1", params={"store_id": store}, headers=elsewhere
    )
    assert ledger.status_code == 404
    listed = await client.get(f"{API}/invoices", params={"store_id": store}, headers=elsewhere)
    assert listed.status_code == 200 and listed.json()["items"] == []
    # A role without finance permissions is refused outright.
    tech = as_user("technician", store)
    assert (await client.get(f"{API}/invoices/{inv['id']}", headers=tech)).status_code == 403


async def test_ar_ageing_sorts_what_customers_owe_by_days_past_due(
    client: httpx.AsyncClient, as_hq: dict[str, str]
) -> None:
    store = "RCV8"
    as_of = date(2026, 6, 30)

    async def invoice(customer: str, issued: date, due: date, amount: int) -> dict[str, Any]:
        body = invoice_body(
            store, ref("SO-RCV8"), amount, customer=customer, issued_on=issued.isoformat()
        )
        body["due_on"] = due.isoformat()
        answer = await post(client, "/invoices", body, as_hq)
        assert answer.status_code == 201, answer.text
        return dict(answer.json())

    await invoice("AGE-A", date(2026, 6, 1), date(2026, 7, 1), 1_000)  # current
    await invoice("AGE-A", date(2026, 5, 1), date(2026, 5, 31), 2_000)  # 30 days
    partly = await invoice("AGE-B", date(2026, 1, 1), date(2026, 1, 31), 5_000)  # 150 days
    await invoice("AGE-B", date(2025, 6, 1), date(2025, 7, 1), 7_000)  # 364 days
    await invoice("AGE-C", date(2026, 7, 5), date(2026, 8, 4), 9_000)  # after as_of: not owed yet
    paid = await post(
        client,
        "/receipts",
        receipt_body(store, partly["reference"], 1_500, customer="AGE-B", received_on="2026-06-10"),
        as_hq,
    )
    assert paid.status_code == 201
    # Paid after the ageing date: still owed in full on as_of.
    late = await post(
        client,
        "/receipts",
        receipt_body(store, partly["reference"], 500, customer="AGE-B", received_on="2026-07-02"),
        as_hq,
    )
    assert late.status_code == 201

    answer = await client.get(
        f"{API}/ar/ageing", params={"store_id": store, "as_of": as_of.isoformat()}, headers=as_hq
    )
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert [b["key"] for b in report["buckets"]] == [
        "current",
        "1_30",
        "31_60",
        "61_90",
        "91_180",
        "over_180",
    ]
    assert report["totals"] == {
        "current": 1_000,
        "1_30": 2_000,
        "31_60": 0,
        "61_90": 0,
        "91_180": 3_500,
        "over_180": 7_000,
    }
    assert report["total_fen"] == 13_500
    customers = {c["customer_id"]: c for c in report["customers"]}
    assert set(customers) == {"AGE-A", "AGE-B"}
    assert customers["AGE-B"]["total_fen"] == 10_500 and customers["AGE-B"]["invoices"] == 2
    assert customers["AGE-A"]["customer_name"] == "张伟"


@pytest.fixture
async def payments_queue(finance_settings: FinanceSettings) -> AsyncIterator[AbstractQueue]:
    async with tapped(
        Broker.from_settings(finance_settings), "finance", "finance.payment.*"
    ) as queue:
        yield queue


async def test_payment_received_and_refunded_reach_the_broker(
    client: httpx.AsyncClient,
    as_hq: dict[str, str],
    finance_app: Any,
    payments_queue: AbstractQueue,
) -> None:
    store, order = "RCV9", ref("SO-RCV9")
    r = (
        await post(client, "/receipts", receipt_body(store, order, 66_600, method="alipay"), as_hq)
    ).json()
    message = await next_about(payments_queue, r["id"])
    assert message.routing_key == "finance.payment.received"
    envelope = Envelope.from_json(message.body)
    event = envelope.parse(events_pb2.PaymentReceived)
    assert envelope.type == "marque.finance.v1.PaymentReceived"
    assert (envelope.store, envelope.source) == (store, "marque/finance")
    assert (event.receipt_id, event.reference, event.amount.amount_fen) == (r["id"], order, 66_600)
    assert event.method == finance_pb2.PAYMENT_METHOD_ALIPAY
    assert event.total_received_for_reference.amount_fen == 66_600
    assert event.received_on == DAY.isoformat()

    refund = await post(
        client, f"/receipts/{r['id']}/refunds", {"amount_fen": 6_600, "reason": "折扣"}, as_hq
    )
    assert refund.status_code == 201
    message = await next_about(payments_queue, r["id"])
    assert message.routing_key == "finance.payment.refunded"
    refunded = Envelope.from_json(message.body).parse(events_pb2.PaymentRefunded)
    assert (refunded.amount.amount_fen, refunded.reason) == (6_600, "折扣")
    assert refunded.total_received_for_reference.amount_fen == 60_000
