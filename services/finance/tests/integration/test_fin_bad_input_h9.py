"""Bad input found by fuzzing the finance API (schemathesis and targeted probes) answers a 422
problem naming what is wrong, never a 500, and writes nothing.

One test per class of input that used to crash a handler or the database driver:
- NUL characters (U+0000) in a JSON body, a query parameter, the path, a multipart form field,
  an uploaded file name or a statement file: PostgreSQL text cannot hold them;
- days and periods at the ends of the calendar (9999-12-31 + 30 days of terms, the period after
  9999-12): OverflowError / "year 10000 is out of range";
- amounts beyond BIGINT on a supplier invoice or a bank statement line: "value out of int64 range".
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlmodel import col

from marque_finance.models import BankStatement, ExpenseClaimRow, Payable
from marque_finance.unit_of_work import Finance
from marque_kit.testing.problems import assert_refused

API = "/api/v1/finance"
STORE = "BADF"
BIGINT_MAX = 2**63 - 1


async def count(finance: Finance, model: Any, store: str) -> int:
    async with finance.db.session() as session:
        result = await session.execute(
            select(func.count()).select_from(model).where(col(model.store_id) == store)
        )
        return int(result.scalar_one())


def supplier_invoice(**fields: Any) -> dict[str, Any]:
    return {
        "store_id": STORE,
        "supplier": "上海某某物业管理有限公司",
        "reference": f"FP-{uuid.uuid4().hex[:10]}",
        "net_fen": 100_000,
        "expense_or_stock_account": "6602.02",
        **fields,
    }


async def test_nul_characters_are_refused_wherever_they_arrive(
    client: httpx.AsyncClient, as_hq: dict[str, str], finance: Finance
) -> None:
    claim = {
        "store_id": STORE,
        "category": "travel",
        "amount_fen": 8_600,
        "description": "高铁\x00票",
        "incurred_on": "2026-11-02",
    }
    response = await client.post(f"{API}/expense-claims", json=claim, headers=as_hq)
    problem = assert_refused(response, "description")
    assert problem["errors"][0]["location"] == "body"
    assert "NUL" in problem["detail"]

    line = {"description": "x", "business_line": "parts", "amount_fen": 100, "vin": "L\x00"}
    invoice = {
        "store_id": STORE,
        "customer_id": "CUST-1",
        "reference_type": "repair_order",
        "reference": "RO-1",
        "lines": [line],
    }
    response = await client.post(f"{API}/invoices", json=invoice, headers=as_hq)
    assert_refused(response, "lines.0.vin")

    journal = await client.get(
        f"{API}/journal", params={"store_id": STORE, "source_type": "a\x00"}, headers=as_hq
    )
    assert assert_refused(journal, "source_type")["errors"][0]["location"] == "query"
    assert_refused(await client.get(f"{API}/invoices/INV%00x", headers=as_hq), "path")
    accrual = {"store_id": "\x00W", "month": "2026-10"}
    assert_refused(
        await client.post(f"{API}/floorplan/accruals", json=accrual, headers=as_hq), "store_id"
    )

    assert await count(finance, ExpenseClaimRow, STORE) == 0


def multipart(fields: dict[str, str], filename: str, content: bytes) -> bytes:
    """A multipart body written by hand, so that a field or file name can carry a raw NUL."""
    body = b""
    for name, value in fields.items():
        body += f'--BB\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
    body += (
        f'--BB\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        "Content-Type: text/csv\r\n\r\n"
    ).encode()
    return body + content + b"\r\n--BB--\r\n"


async def test_nul_in_a_statement_upload_is_refused_or_dropped(
    client: httpx.AsyncClient, as_hq: dict[str, str], finance: Finance
) -> None:
    store = "BADB"
    headers = {**as_hq, "Content-Type": "multipart/form-data; boundary=BB"}
    csv = b"date,amount,reference\n2026-11-09,5.00,NUL-1\n"
    for field, fields in (
        ("store_id", {"store_id": f"{store}\x00"}),
        ("bank_account", {"store_id": store, "bank_account": "ICBC\x001"}),
    ):
        response = await client.post(
            f"{API}/bank/statements", content=multipart(fields, "s.csv", csv), headers=headers
        )
        assert_refused(response, field)
    # NUL inside the file: an Excel "Unicode text" (UTF-16) export looks like this.
    utf16ish = b"date,amount,reference\n2026-11-09,5.00,N\x00UL-2\n"
    response = await client.post(
        f"{API}/bank/statements",
        content=multipart({"store_id": store}, "s.csv", utf16ish),
        headers=headers,
    )
    assert "UTF-16" in assert_refused(response, "file")["detail"]
    assert await count(finance, BankStatement, store) == 0

    # The file name is the client's label: a NUL in it is dropped, the statement imported.
    response = await client.post(
        f"{API}/bank/statements",
        content=multipart({"store_id": store}, "nov\x00.csv", csv),
        headers=headers,
    )
    assert response.status_code == 201, response.text
    assert response.json()["filename"] == "nov.csv"


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("9999-12-31,100.00,FAR-1", "2999-12-31"),
        ("0001-01-01,100.00,FAR-2", "1900-01-01"),
        ("2026-11-09,99999999999999999999.00,HUGE-1", "statement line may carry"),
        ("2026-11-09,-92233720368547758.08,HUGE-2", "statement line may carry"),
    ],
)
async def test_statement_rows_off_the_calendar_or_beyond_bigint_are_refused(
    client: httpx.AsyncClient, as_hq: dict[str, str], finance: Finance, row: str, message: str
) -> None:
    store = "BADS"
    csv = f"date,amount,reference\n2026-11-09,1.00,OK-1\n{row}\n".encode()
    response = await client.post(
        f"{API}/bank/statements",
        data={"store_id": store},
        files={"file": ("s.csv", csv, "text/csv")},
        headers=as_hq,
    )
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["errors"] == [{"row": 3, "message": problem["errors"][0]["message"]}]
    assert message in problem["errors"][0]["message"]
    assert await count(finance, BankStatement, store) == 0


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"net_fen": BIGINT_MAX + 1}, "net_fen"),
        ({"net_fen": 9 * 10**18}, "net_fen"),
        ({"net_fen": 10**30}, "net_fen"),
        ({"vat_fen": BIGINT_MAX + 1}, "vat_fen"),
        ({"issued_on": "9999-12-31"}, "issued_on"),
        ({"due_on": "0001-01-01"}, "due_on"),
    ],
)
async def test_supplier_invoice_amounts_and_days_out_of_range_are_refused(
    client: httpx.AsyncClient,
    as_hq: dict[str, str],
    finance: Finance,
    fields: dict[str, Any],
    field: str,
) -> None:
    response = await client.post(f"{API}/payables", json=supplier_invoice(**fields), headers=as_hq)
    assert_refused(response, field)
    assert await count(finance, Payable, STORE) == 0


async def test_a_supplier_invoice_at_the_ceiling_is_booked(
    client: httpx.AsyncClient, as_hq: dict[str, str]
) -> None:
    store = "BADP"
    body = supplier_invoice(store_id=store, net_fen=10_000_000_000, vat_fen=1_300_000_000)
    response = await client.post(f"{API}/payables", json=body, headers=as_hq)
    assert response.status_code == 201, response.text
    over = supplier_invoice(store_id=store, net_fen=10_000_000_001)
    problem = assert_refused(
        await client.post(f"{API}/payables", json=over, headers=as_hq), "net_fen"
    )
    assert "100,000,000.00 CNY" in problem["detail"]


async def test_days_and_periods_off_the_calendar_are_refused(
    client: httpx.AsyncClient, as_hq: dict[str, str]
) -> None:
    invoice = {
        "store_id": STORE,
        "customer_id": "CUST-1",
        "reference_type": "sales_order",
        "reference": "SO-FAR",
        "issued_on": "9999-12-31",
        "lines": [{"description": "x", "business_line": "new_vehicles", "amount_fen": 100}],
    }
    response = await client.post(f"{API}/invoices", json=invoice, headers=as_hq)
    problem = assert_refused(response, "issued_on")
    assert "1900-01-01" in problem["detail"] and "2999-12-31" in problem["detail"]
    receipt = {
        "store_id": STORE,
        "customer_id": "CUST-1",
        "reference_type": "deposit",
        "method": "cash",
        "amount_fen": 100,
        "received_on": "0001-01-01",
    }
    response = await client.post(f"{API}/receipts", json=receipt, headers=as_hq)
    assert_refused(response, "received_on")
    ageing = await client.get(
        f"{API}/ar/ageing", params={"store_id": STORE, "as_of": "9999-12-31"}, headers=as_hq
    )
    assert_refused(ageing, "as_of")

    close = await client.post(
        f"{API}/stores/{STORE}/periods/9999-12/close", headers={**as_hq, "If-Match": '"0"'}
    )
    assert "1900 to 2999" in assert_refused(close, "period")["detail"]
    accrual = {"store_id": STORE, "month": "9999-12"}
    response = await client.post(f"{API}/floorplan/accruals", json=accrual, headers=as_hq)
    assert_refused(response, "period")
    read = await client.get(f"{API}/stores/{STORE}/periods/2999-12", headers=as_hq)
    assert read.status_code == 200, read.text
