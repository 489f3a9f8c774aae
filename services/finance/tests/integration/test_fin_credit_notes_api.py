"""Credit notes (红字发票) over HTTP against the real database and broker: a full credit of an
unpaid invoice reverses revenue and VAT and clears the receivable; a partial credit of a paid
invoice releases the excess into advances where the refund endpoint pays it out; over-credits
are refused with nothing written; replays issue one credit note; store scoping and permissions;
the AR ledger, ageing and finance.invoice.credited on the wire."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from datetime import date
from typing import Any

import httpx
import pytest
from aio_pika.abc import AbstractQueue
from sqlalchemy import text

from marque.finance.v1 import events_pb2
from marque_finance.settings import FinanceSettings
from marque_finance.unit_of_work import Finance
from marque_kit.broker import Broker
from marque_kit.envelope import Envelope
from marque_kit.testing.events import next_about, tapped

API = "/api/v1/finance"
DAY = date(2026, 3, 2)
LATER = date(2026, 3, 9)


def ref(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8].upper()}"


def invoice_body(store: str, reference: str, *lines: tuple[str, int], **kw: Any) -> dict[str, Any]:
    return {
        "store_id": store,
        "customer_id": kw.get("customer", "CUST-CN"),
        "customer_name": "李娜",
        "reference_type": kw.get("reference_type", "sales_order"),
        "reference": reference,
        "issued_on": DAY.isoformat(),
        **({"due_on": kw["due_on"]} if "due_on" in kw else {}),
        "lines": [
            {
                "description": f"{business_line} {n}",
                "business_line": business_line,
                "amount_fen": amount,
                "model_code": "BYD-HAN",
                "vin": "LGXCE4CB5R0123456" if business_line == "new_vehicles" else "",
            }
            for n, (business_line, amount) in enumerate(lines, start=1)
        ],
    }


def receipt_body(store: str, reference: str, amount: int, **kw: Any) -> dict[str, Any]:
    return {
        "store_id": store,
        "customer_id": kw.get("customer", "CUST-CN"),
        "reference_type": "sales_order",
        "reference": reference,
        "method": "bank_transfer",
        "amount_fen": amount,
        "received_on": DAY.isoformat(),
        "bank_reference": "B-" + uuid.uuid4().hex[:10],
    }


async def post(client: httpx.AsyncClient, path: str, body: Any, headers: Any) -> httpx.Response:
    return await client.post(f"{API}{path}", json=body, headers=headers)


async def get(client: httpx.AsyncClient, path: str, headers: Any, **params: Any) -> Any:
    answer = await client.get(f"{API}{path}", headers=headers, params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()


async def entry_sides(finance: Finance, entry_id: str) -> dict[str, tuple[int, int]]:
    async with finance.db.session() as session:
        rows = await session.execute(
            text(
                "SELECT account_code, SUM(debit_fen), SUM(credit_fen) FROM journal_lines "
                "WHERE entry_id = :e GROUP BY account_code"
            ),
            {"e": entry_id},
        )
        return {code: (int(d), int(c)) for code, d, c in rows}


async def count(finance: Finance, sql: str, **params: Any) -> int:
    async with finance.db.session() as session:
        return int((await session.execute(text(sql), params)).scalar_one())


async def trial_rows(client: httpx.AsyncClient, store: str, headers: Any) -> dict[str, Any]:
    tb = await get(
        client,
        "/reports/trial-balance",
        headers,
        store_id=store,
        from_period="2026-03",
        to_period="2026-03",
    )
    assert tb["balanced"]
    return {r["code"]: r for r in tb["rows"]}


async def test_a_full_credit_of_an_unpaid_invoice_reverses_it_in_the_books(
    client: httpx.AsyncClient, as_user: Callable[..., dict[str, str]], finance: Finance
) -> None:
    store, order = "CRN1", ref("SO-CRN1")
    cashier = as_user("finance", store)
    issued = await post(
        client,
        "/invoices",
        invoice_body(store, order, ("new_vehicles", 22_600_000), ("accessories", 113_000)),
        cashier,
    )
    assert issued.status_code == 201, issued.text
    inv = issued.json()

    answer = await post(
        client,
        f"/invoices/{inv['id']}/credit-notes",
        {
            "full": True,
            "reason": "sale_cancelled",
            "note": "客户退订 customer cancelled",
            "credited_on": LATER.isoformat(),
        },
        cashier,
    )
    assert answer.status_code == 201, answer.text
    out = answer.json()
    note, invoice = out["credit_note"], out["invoice"]
    assert note["number"].startswith(f"CN-{store}-2026-")
    assert (note["total_fen"], note["net_fen"], note["vat_fen"], note["released_fen"]) == (
        22_713_000,
        20_100_000,
        2_613_000,
        0,
    )
    assert [(x["invoice_line_no"], x["amount_fen"]) for x in note["lines"]] == [
        (1, 22_600_000),
        (2, 113_000),
    ]
    assert (invoice["status"], invoice["credited_fen"], invoice["outstanding_fen"]) == (
        "credited",
        22_713_000,
        0,
    )
    assert await entry_sides(finance, note["entry_id"]) == {
        "6001.01": (20_000_000, 0),
        "6001.05": (100_000, 0),
        "2221.02": (2_613_000, 0),
        "1122": (0, 22_713_000),
    }
    async with finance.db.session() as session:
        [(bl, model, vin, party)] = (
            await session.execute(
                text(
                    "SELECT business_line, model_code, vin, party FROM journal_lines "
                    "WHERE entry_id = :e AND account_code = '6001.01'"
                ),
                {"e": note["entry_id"]},
            )
        ).all()
    assert (bl, model, vin, party) == ("new_vehicles", "BYD-HAN", "LGXCE4CB5R0123456", "CUST-CN")

    # The receivable is back to zero; revenue and VAT net out in the trial balance.
    rows = await trial_rows(client, store, cashier)
    assert (rows["1122"]["debit_fen"], rows["1122"]["credit_fen"]) == (22_713_000, 22_713_000)
    assert (rows["6001.01"]["debit_fen"], rows["6001.01"]["credit_fen"]) == (
        20_000_000,
        20_000_000,
    )
    assert (rows["2221.02"]["debit_fen"], rows["2221.02"]["credit_fen"]) == (2_613_000, 2_613_000)

    # GET shows the credit note; the ledger and ageing see nothing owed; nothing is left.
    shown = await get(client, f"/invoices/{inv['id']}", cashier)
    assert [n["id"] for n in shown["credit_notes"]] == [note["id"]]
    assert shown["credit_notes"][0]["lines"][1]["business_line"] == "accessories"
    ledger = await get(client, "/ar/customers/CUST-CN", cashier, store_id=store)
    assert ledger["balance"]["receivable_fen"] == ledger["balance"]["outstanding_invoices_fen"] == 0
    assert [n["number"] for n in ledger["credit_notes"]] == [note["number"]]
    ageing = await get(client, "/ar/ageing", cashier, store_id=store, as_of=LATER.isoformat())
    assert ageing["total_fen"] == 0
    before = await get(client, "/ar/ageing", cashier, store_id=store, as_of=DAY.isoformat())
    assert before["total_fen"] == 22_713_000

    again = await post(
        client,
        f"/invoices/{inv['id']}/credit-notes",
        {"full": True, "reason": "sale_cancelled"},
        cashier,
    )
    assert again.status_code == 409 and "already credited in full" in again.json()["detail"]


async def test_a_partial_credit_of_a_paid_invoice_is_refundable_from_advances(
    client: httpx.AsyncClient, as_user: Callable[..., dict[str, str]], finance: Finance
) -> None:
    store, order = "CRN2", ref("SO-CRN2")
    cashier = as_user("finance", store)
    inv = (
        await post(
            client,
            "/invoices",
            invoice_body(store, order, ("new_vehicles", 10_000_000), ("accessories", 226_000)),
            cashier,
        )
    ).json()
    paid = await post(client, "/receipts", receipt_body(store, order, 10_226_000), cashier)
    assert paid.status_code == 201, paid.text
    receipt = paid.json()
    assert receipt["unapplied_fen"] == 0

    # The floor mats come back: half of the accessory line is credited.
    answer = await post(
        client,
        f"/invoices/{inv['id']}/credit-notes",
        {
            "lines": [{"line_no": 2, "amount_fen": 113_000}],
            "reason": "goods_returned",
            "credited_on": LATER.isoformat(),
        },
        cashier,
    )
    assert answer.status_code == 201, answer.text
    note, invoice = answer.json()["credit_note"], answer.json()["invoice"]
    assert (note["total_fen"], note["net_fen"], note["vat_fen"], note["released_fen"]) == (
        113_000,
        100_000,
        13_000,
        113_000,
    )
    assert [(r["receipt_id"], r["amount_fen"]) for r in note["releases"]] == [
        (receipt["id"], 113_000)
    ]
    assert (invoice["status"], invoice["paid_fen"], invoice["credited_fen"]) == (
        "paid",
        10_113_000,
        113_000,
    )
    assert invoice["outstanding_fen"] == 0
    assert await entry_sides(finance, note["entry_id"]) == {
        "6001.05": (100_000, 0),
        "2221.02": (13_000, 0),
        "1122": (113_000, 113_000),
        "2203": (0, 113_000),
    }
    ledger = await get(client, "/ar/customers/CUST-CN", cashier, store_id=store)
    assert ledger["balance"]["advances_fen"] == ledger["balance"]["unapplied_receipts_fen"]
    assert ledger["balance"]["advances_fen"] == 113_000
    assert ledger["balance"]["receivable_fen"] == 0

    # The existing refund flow pays it back out of the receipt.
    refund = await post(
        client,
        f"/receipts/{receipt['id']}/refunds",
        {"amount_fen": 113_000, "reason": "退货退款 mats returned", "refunded_on": "2026-03-10"},
        cashier,
    )
    assert refund.status_code == 201, refund.text
    assert refund.json()["receipt"]["unapplied_fen"] == 0
    more = await post(
        client,
        f"/receipts/{receipt['id']}/refunds",
        {"amount_fen": 1, "reason": "again"},
        cashier,
    )
    assert more.status_code == 409

    # The rest of the accessory line: exactly what is left of its net and VAT.
    rest = await post(
        client,
        f"/invoices/{inv['id']}/credit-notes",
        {
            "lines": [{"line_no": 2, "amount_fen": 113_000}],
            "reason": "goods_returned",
            "credited_on": LATER.isoformat(),
        },
        cashier,
    )
    assert rest.status_code == 201, rest.text
    rest_note = rest.json()["credit_note"]
    assert (rest_note["net_fen"], rest_note["vat_fen"]) == (100_000, 13_000)
    rows = await trial_rows(client, store, cashier)
    assert rows["6001.05"]["debit_fen"] == rows["6001.05"]["credit_fen"] == 200_000


async def test_a_credit_first_reduces_what_is_still_owed(
    client: httpx.AsyncClient, as_user: Callable[..., dict[str, str]], finance: Finance
) -> None:
    store, order = "CRN3", ref("SO-CRN3")
    cashier = as_user("finance", store)
    inv = (
        await post(
            client, "/invoices", invoice_body(store, order, ("used_vehicles", 1_000_000)), cashier
        )
    ).json()
    await post(client, "/receipts", receipt_body(store, order, 800_000), cashier)
    answer = await post(
        client,
        f"/invoices/{inv['id']}/credit-notes",
        {"lines": [{"line_no": 1, "amount_fen": 300_000}], "reason": "price_adjustment"},
        cashier,
    )
    assert answer.status_code == 201, answer.text
    note, invoice = answer.json()["credit_note"], answer.json()["invoice"]
    # 200,000 was still owed: that goes; 100,000 had been paid and now waits in advances.
    assert note["released_fen"] == 100_000
    assert (invoice["paid_fen"], invoice["credited_fen"], invoice["outstanding_fen"]) == (
        700_000,
        300_000,
        0,
    )
    assert invoice["status"] == "paid"
    ledger = await get(client, "/ar/customers/CUST-CN", cashier, store_id=store)
    assert (ledger["balance"]["receivable_fen"], ledger["balance"]["advances_fen"]) == (0, 100_000)


async def test_an_over_credit_is_refused_and_nothing_is_written(
    client: httpx.AsyncClient, as_user: Callable[..., dict[str, str]], finance: Finance
) -> None:
    store, order = "CRN4", ref("SO-CRN4")
    cashier = as_user("finance", store)
    inv = (
        await post(
            client,
            "/invoices",
            invoice_body(store, order, ("new_vehicles", 500_000), ("accessories", 20_000)),
            cashier,
        )
    ).json()
    first = await post(
        client,
        f"/invoices/{inv['id']}/credit-notes",
        {"lines": [{"line_no": 2, "amount_fen": 5_000}], "reason": "price_adjustment"},
        cashier,
    )
    assert first.status_code == 201, first.text
    entries = await count(
        finance, "SELECT count(*) FROM journal_entries WHERE store_id = :s", s=store
    )

    over = await post(
        client,
        f"/invoices/{inv['id']}/credit-notes",
        {
            "lines": [{"line_no": 1, "amount_fen": 1_000}, {"line_no": 2, "amount_fen": 15_001}],
            "reason": "price_adjustment",
        },
        cashier,
    )
    assert over.status_code == 409, over.text
    assert over.headers["content-type"].startswith("application/problem+json")
    problem = over.json()
    assert "Line 2" in problem["detail"] and "150.00 CNY left" in problem["detail"]
    assert problem["errors"][0]["creditable_fen"] == 15_000

    for body, field in (
        ({"reason": "price_adjustment"}, "lines"),
        ({"full": True, "reason": "because"}, "reason"),
        ({"full": True}, "reason"),
        ({"lines": [{"line_no": 9, "amount_fen": 1}], "reason": "wrong_details"}, "line"),
        ({"lines": [{"line_no": 1, "amount_fen": 10.5}], "reason": "wrong_details"}, "amount"),
        ({"lines": [{"line_no": 1, "amount_fen": 0}], "reason": "wrong_details"}, "amount"),
        ({"full": True, "reason": "wrong_details", "credited_on": "2026-03-01"}, "credited_on"),
    ):
        bad = await post(client, f"/invoices/{inv['id']}/credit-notes", body, cashier)
        assert bad.status_code == 422, (body, bad.text)
        assert field in bad.text

    assert (
        await count(finance, "SELECT count(*) FROM journal_entries WHERE store_id = :s", s=store)
        == entries
    )
    assert (
        await count(finance, "SELECT count(*) FROM credit_notes WHERE invoice_id = :i", i=inv["id"])
        == 1
    )
    shown = await get(client, f"/invoices/{inv['id']}", cashier)
    assert (shown["credited_fen"], shown["outstanding_fen"]) == (5_000, 515_000)


async def test_a_replayed_request_issues_one_credit_note(
    client: httpx.AsyncClient, as_hq: dict[str, str], finance: Finance
) -> None:
    store, order = "CRN5", ref("SO-CRN5")
    inv = (
        await post(client, "/invoices", invoice_body(store, order, ("parts", 90_000)), as_hq)
    ).json()
    body = {"lines": [{"line_no": 1, "amount_fen": 10_000}], "reason": "price_adjustment"}
    headers = {**as_hq, "Idempotency-Key": str(uuid.uuid4())}
    first = await post(client, f"/invoices/{inv['id']}/credit-notes", body, headers)
    second = await post(client, f"/invoices/{inv['id']}/credit-notes", body, headers)
    assert first.status_code == second.status_code == 201, first.text
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert first.json()["credit_note"]["id"] == second.json()["credit_note"]["id"]

    request_id = f"cn-{uuid.uuid4()}"
    by_request = {**body, "request_id": request_id}
    one = await post(client, f"/invoices/{inv['id']}/credit-notes", by_request, as_hq)
    two = await post(client, f"/invoices/{inv['id']}/credit-notes", by_request, as_hq)
    assert (one.status_code, two.status_code) == (201, 200), two.text
    assert one.json()["credit_note"]["id"] == two.json()["credit_note"]["id"]
    clash = await post(
        client,
        f"/invoices/{inv['id']}/credit-notes",
        {**by_request, "lines": [{"line_no": 1, "amount_fen": 10_001}]},
        as_hq,
    )
    assert clash.status_code == 422 and request_id in clash.json()["detail"]

    assert (
        await count(finance, "SELECT count(*) FROM credit_notes WHERE invoice_id = :i", i=inv["id"])
        == 2
    )
    assert (
        await count(
            finance,
            "SELECT count(*) FROM journal_entries "
            "WHERE store_id = :s AND rule = 'money_in.credit_note'",
            s=store,
        )
        == 2
    )
    shown = await get(client, f"/invoices/{inv['id']}", as_hq)
    assert (shown["credited_fen"], shown["status"]) == (20_000, "open")


async def test_another_store_answers_404_and_a_role_without_the_permission_403(
    client: httpx.AsyncClient, as_user: Callable[..., dict[str, str]], finance: Finance
) -> None:
    store, order = "CRN6", ref("SO-CRN6")
    inv = (
        await post(
            client,
            "/invoices",
            invoice_body(store, order, ("parts", 50_000)),
            as_user("finance", store),
        )
    ).json()
    body = {"full": True, "reason": "wrong_details"}
    elsewhere = await post(
        client, f"/invoices/{inv['id']}/credit-notes", body, as_user("finance", "CRN7")
    )
    assert elsewhere.status_code == 404, elsewhere.text
    unknown = await post(
        client, f"/invoices/{uuid.uuid4()}/credit-notes", body, as_user("finance", store)
    )
    assert unknown.status_code == 404
    consultant = await post(
        client, f"/invoices/{inv['id']}/credit-notes", body, as_user("sales_consultant", store)
    )
    assert consultant.status_code == 403, consultant.text
    assert (
        await count(finance, "SELECT count(*) FROM credit_notes WHERE invoice_id = :i", i=inv["id"])
        == 0
    )


@pytest.fixture
async def credited_queue(finance_settings: FinanceSettings) -> AsyncIterator[AbstractQueue]:
    async with tapped(
        Broker.from_settings(finance_settings), "finance", "finance.invoice.credited"
    ) as queue:
        yield queue


async def test_invoice_credited_reaches_the_broker(
    client: httpx.AsyncClient, as_hq: dict[str, str], credited_queue: AbstractQueue
) -> None:
    store, order = "CRN8", ref("SO-CRN8")
    inv = (
        await post(client, "/invoices", invoice_body(store, order, ("parts", 11_300)), as_hq)
    ).json()
    answer = await post(
        client,
        f"/invoices/{inv['id']}/credit-notes",
        {"full": True, "reason": "wrong_details"},
        as_hq,
    )
    assert answer.status_code == 201, answer.text
    note = answer.json()["credit_note"]

    message = await next_about(credited_queue, inv["id"])
    assert message.routing_key == "finance.invoice.credited"
    envelope = Envelope.from_json(message.body)
    assert envelope.type == "marque.finance.v1.InvoiceCredited"
    assert envelope.store == store
    event = envelope.parse(events_pb2.InvoiceCredited)
    assert (event.credit_note_id, event.total.amount_fen, event.vat.amount_fen) == (
        note["id"],
        11_300,
        1_300,
    )
    assert event.reason == events_pb2.CREDIT_REASON_WRONG_DETAILS
    assert (event.outstanding.amount_fen, event.total_credited.amount_fen) == (0, 11_300)
