"""gRPC FinanceService over a real grpc.aio channel to the running app: RecordReceipt is idempotent
on request_id, GetInvoice and GetBalance answer what the books hold, errors map to status codes."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import grpc
import httpx
import pytest
from fastapi import FastAPI

from marque.common.v1 import common_pb2
from marque.finance.v1 import finance_pb2 as fpb
from marque.finance.v1 import finance_service_pb2 as svc
from marque.finance.v1 import finance_service_pb2_grpc
from marque_finance.settings import FinanceSettings
from marque_kit.auth import Principal, sign_principal

API = "/api/v1/finance"


@pytest.fixture
async def stub(
    finance_app: FastAPI, finance_settings: FinanceSettings
) -> AsyncIterator[finance_service_pb2_grpc.FinanceServiceStub]:
    # A bare channel: the principal travels only when a test puts it in the metadata.
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{finance_settings.grpc_port}")
    async with channel:
        yield finance_service_pb2_grpc.FinanceServiceStub(channel)


@pytest.fixture
def metadata(finance_settings: FinanceSettings) -> Callable[..., Any]:
    def make(role: str = "hq_admin", stores: tuple[str, ...] = ("*",)) -> Any:
        token = sign_principal(
            Principal(subject="sales-service", roles=(role,), stores=stores),
            finance_settings.internal_secret,
        )
        return (("x-marque-principal", token),)

    return make


def receipt_request(store: str, reference: str, amount: int, request_id: str) -> Any:
    return svc.RecordReceiptRequest(
        request_id=request_id,
        store_id=store,
        customer_id="CUST-RPC",
        reference_type=fpb.RECEIPT_REFERENCE_SALES_ORDER,
        reference=reference,
        method=fpb.PAYMENT_METHOD_POS_CARD,
        amount=common_pb2.Money(amount_fen=amount, currency_code="CNY"),
        received_on="2026-03-02",
        payer_name="李娜",
        bank_reference="POS-889911",
    )


async def test_record_receipt_twice_with_one_request_id_records_one_receipt(
    stub: finance_service_pb2_grpc.FinanceServiceStub,
    metadata: Callable[..., Any],
    client: httpx.AsyncClient,
    as_hq: dict[str, str],
) -> None:
    order = f"SO-RPC1-{uuid.uuid4().hex[:6]}"
    request = receipt_request("RPC1", order, 1_000_000, f"sales-{uuid.uuid4()}")
    first = await stub.RecordReceipt(request, metadata=metadata("finance", ("RPC1",)), timeout=20)
    again = await stub.RecordReceipt(request, metadata=metadata("finance", ("RPC1",)), timeout=20)
    assert first.receipt.receipt_id == again.receipt.receipt_id
    assert first.receipt.amount.amount_fen == 1_000_000
    assert first.receipt.method == fpb.PAYMENT_METHOD_POS_CARD
    assert first.receipt.received_on == "2026-03-02"
    listed = await client.get(f"{API}/receipts", params={"reference": order}, headers=as_hq)
    assert [r["id"] for r in listed.json()["items"]] == [first.receipt.receipt_id]

    changed = receipt_request("RPC1", order, 1_000_001, request.request_id)
    with pytest.raises(grpc.aio.AioRpcError) as reused:
        await stub.RecordReceipt(changed, metadata=metadata(), timeout=20)
    assert reused.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert request.request_id in (reused.value.details() or "")


async def test_bad_receipts_are_invalid_arguments(
    stub: finance_service_pb2_grpc.FinanceServiceStub, metadata: Callable[..., Any]
) -> None:
    no_method = receipt_request("RPC1", "SO-RPC1-X", 100, f"r-{uuid.uuid4()}")
    no_method.method = fpb.PAYMENT_METHOD_UNSPECIFIED
    zero = receipt_request("RPC1", "SO-RPC1-X", 0, f"r-{uuid.uuid4()}")
    no_key = receipt_request("RPC1", "SO-RPC1-X", 100, "")
    for request, words in (
        (no_method, "Payment method"),
        (zero, "more than zero"),
        (no_key, "request_id"),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stub.RecordReceipt(request, metadata=metadata(), timeout=20)
        assert refused.value.code() is grpc.StatusCode.INVALID_ARGUMENT
        assert words in (refused.value.details() or "")


async def test_get_invoice_and_the_receivable_balance(
    stub: finance_service_pb2_grpc.FinanceServiceStub,
    metadata: Callable[..., Any],
    client: httpx.AsyncClient,
    as_hq: dict[str, str],
) -> None:
    store = "RPC2"
    before = await stub.GetBalance(
        svc.GetBalanceRequest(store_id=store, account_code="1122"), metadata=metadata(), timeout=20
    )
    issued = await client.post(
        f"{API}/invoices",
        json={
            "store_id": store,
            "customer_id": "CUST-RPC",
            "customer_name": "李娜",
            "reference_type": "repair_order",
            "reference": f"RO-RPC2-{uuid.uuid4().hex[:6]}",
            "issued_on": "2026-03-05",
            "lines": [
                {"description": "更换刹车片", "business_line": "parts", "amount_fen": 45_200},
                {"description": "工时", "business_line": "service_labor", "amount_fen": 33_900},
            ],
        },
        headers=as_hq,
    )
    assert issued.status_code == 201, issued.text
    inv = issued.json()

    got = await stub.GetInvoice(
        svc.GetInvoiceRequest(invoice_id=inv["id"]),
        metadata=metadata("finance", (store,)),
        timeout=20,
    )
    assert got.invoice.total.amount_fen == 79_100
    assert got.invoice.vat.amount_fen == 5_200 + 3_900
    assert got.invoice.outstanding.amount_fen == 79_100
    assert got.invoice.status == "open" and got.invoice.customer_name == "李娜"
    assert got.invoice.reference_type == fpb.RECEIPT_REFERENCE_REPAIR_ORDER
    assert [line.business_line for line in got.invoice.lines] == [
        fpb.BUSINESS_LINE_PARTS,
        fpb.BUSINESS_LINE_SERVICE_LABOR,
    ]
    assert [line.net.amount_fen for line in got.invoice.lines] == [40_000, 30_000]

    after = await stub.GetBalance(
        svc.GetBalanceRequest(store_id=store, account_code="1122", period="2026-03"),
        metadata=metadata("finance", (store,)),
        timeout=20,
    )
    assert after.debit_balance.amount_fen == 79_100
    assert after.account_name == "应收账款"
    vat = await stub.GetBalance(
        svc.GetBalanceRequest(store_id=store, account_code="2221"), metadata=metadata(), timeout=20
    )
    assert vat.debit_balance.amount_fen == -9_100  # output VAT is a credit
    earlier = await stub.GetBalance(
        svc.GetBalanceRequest(store_id=store, account_code="1122", period="2026-02"),
        metadata=metadata(),
        timeout=20,
    )
    assert earlier.debit_balance.amount_fen == before.debit_balance.amount_fen == 0
    group = await stub.GetBalance(
        svc.GetBalanceRequest(store_id="*", account_code="1122"), metadata=metadata(), timeout=20
    )
    assert group.debit_balance.amount_fen >= after.debit_balance.amount_fen

    with pytest.raises(grpc.aio.AioRpcError) as elsewhere:
        await stub.GetInvoice(
            svc.GetInvoiceRequest(invoice_id=inv["id"]),
            metadata=metadata("finance", ("RPC3",)),
            timeout=20,
        )
    assert elsewhere.value.code() is grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.aio.AioRpcError) as not_hq:
        await stub.GetBalance(
            svc.GetBalanceRequest(store_id="*", account_code="1122"),
            metadata=metadata("finance", (store,)),
            timeout=20,
        )
    assert not_hq.value.code() is grpc.StatusCode.PERMISSION_DENIED

    # A credit note (红字发票) on the labour line: what GetInvoice says is owed follows it.
    credited = await client.post(
        f"{API}/invoices/{inv['id']}/credit-notes",
        json={"lines": [{"line_no": 2, "amount_fen": 11_300}], "reason": "price_adjustment"},
        headers=as_hq,
    )
    assert credited.status_code == 201, credited.text
    again = await stub.GetInvoice(
        svc.GetInvoiceRequest(invoice_id=inv["id"]),
        metadata=metadata("finance", (store,)),
        timeout=20,
    )
    assert again.invoice.credited.amount_fen == 11_300
    assert again.invoice.outstanding.amount_fen == 79_100 - 11_300
    assert again.invoice.status == "open"


async def test_errors_map_to_status_codes(
    stub: finance_service_pb2_grpc.FinanceServiceStub, metadata: Callable[..., Any]
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await stub.GetInvoice(
            svc.GetInvoiceRequest(invoice_id=str(uuid.uuid4())), metadata=metadata(), timeout=20
        )
    assert missing.value.code() is grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.aio.AioRpcError) as nobody:
        await stub.GetInvoice(svc.GetInvoiceRequest(invoice_id=str(uuid.uuid4())), timeout=20)
    assert nobody.value.code() is grpc.StatusCode.UNAUTHENTICATED
    with pytest.raises(grpc.aio.AioRpcError) as no_account:
        await stub.GetBalance(
            svc.GetBalanceRequest(store_id="RPC2", account_code="9999"),
            metadata=metadata(),
            timeout=20,
        )
    assert no_account.value.code() is grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.aio.AioRpcError) as bad_period:
        await stub.GetBalance(
            svc.GetBalanceRequest(store_id="RPC2", account_code="1122", period="March"),
            metadata=metadata(),
            timeout=20,
        )
    assert bad_period.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.aio.AioRpcError) as no_permission:
        await stub.RecordReceipt(
            receipt_request("RPC2", "SO-1", 100, f"r-{uuid.uuid4()}"),
            metadata=metadata("technician", ("RPC2",)),
            timeout=20,
        )
    assert no_permission.value.code() is grpc.StatusCode.PERMISSION_DENIED
