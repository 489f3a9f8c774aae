"""Every unary RPC of FinanceService, fuzzed through a real grpc.aio channel to the running app on
its real PostgreSQL: whatever the request holds (odd or 10,000-character text, amounts at the
int64 edges, unknown enum numbers, dates in year 1 or 9999, other stores' ids, absent fields),
the answer is never INTERNAL or UNKNOWN, and a refused RecordReceipt leaves the books as they were.

Requests are built from the proto descriptors (`marque_kit.testing.proto_fuzz`), so a field
added to a request is fuzzed without touching this file.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import grpc
import httpx
import pytest
from fastapi import FastAPI
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from marque.common.v1 import common_pb2
from marque.finance.v1 import finance_pb2 as fpb
from marque.finance.v1 import finance_service_pb2 as svc
from marque_finance.settings import FinanceSettings
from marque_kit.auth import METADATA_KEY, Principal, sign_principal
from marque_kit.http.fields import EARLIEST_DAY, LATEST_DAY
from marque_kit.testing.principals import principal_headers
from marque_kit.testing.proto_fuzz import (
    ACCEPTABLE_CODES,
    assert_unreadable_refused,
    call_unary,
    describe,
    requests,
    sweep_field_edges,
    unary_methods,
    unreadable,
)

API = "/api/v1/finance"
SERVICE = svc.DESCRIPTOR.services_by_name["FinanceService"]
METHODS = unary_methods(SERVICE)
WRITES = frozenset({"RecordReceipt"})
HOME, ELSEWHERE = "FZ01", "FZ02"
PRINCIPALS = (
    Principal(subject="sales", kind="service", roles=("hq_admin",), stores=("*",)),
    Principal(subject="fz.finance", roles=("finance",), stores=(HOME,)),
    Principal(subject="fz.tech", roles=("technician",), stores=(HOME,)),
    Principal(subject="hq.finance", roles=("hq_finance",), stores=("*",)),
)
RENEW = {"request_id": st.uuids().map(str)}  # a new request id unless fuzzed
FRESH = {"request_id": lambda: str(uuid.uuid4())}  # the same, for the sweep
FUZZ = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.fixture(scope="module")
async def world(finance_app: FastAPI, finance_settings: FinanceSettings) -> dict[str, Any]:
    """Hints and valid base requests: a real invoice in this store and one in another."""
    headers = principal_headers(finance_settings.internal_secret)
    invoices = []
    transport = httpx.ASGITransport(app=finance_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://finance") as client:
        for store in (HOME, ELSEWHERE):
            issued = await client.post(
                f"{API}/invoices",
                json={
                    "store_id": store,
                    "customer_id": "CUST-FUZZ",
                    "customer_name": "李娜",
                    "reference_type": "sales_order",
                    "reference": f"SO-{store}-FUZZ",
                    "issued_on": "2026-03-05",
                    "lines": [
                        {
                            "description": "整车",
                            "business_line": "new_vehicles",
                            "amount_fen": 10**7,
                        }
                    ],
                },
                headers=headers,
            )
            assert issued.status_code == 201, issued.text
            invoices.append(issued.json()["id"])
    receipt = svc.RecordReceiptRequest(
        request_id="RQ-BASE",
        store_id=HOME,
        customer_id="CUST-FUZZ",
        reference_type=fpb.RECEIPT_REFERENCE_SALES_ORDER,
        reference=f"SO-{HOME}-FUZZ",
        method=fpb.PAYMENT_METHOD_BANK_TRANSFER,
        amount=common_pb2.Money(amount_fen=100, currency_code="CNY"),
        received_on="2026-03-06",
        payer_name="李娜",
        bank_reference="BANK-1",
    )
    return {
        "hints": {
            "store_id": [HOME, ELSEWHERE, "*", "SH01", f" {HOME} ", HOME.lower()],
            "invoice_id": [*invoices, invoices[0].upper(), str(uuid.uuid4())],
            "account_code": ["1122", "1122.01", "2221", "1001", "6001", "9999", "1"],
            "period": ["2026-03", "0001-01", "9999-12", "2026-13", "1900-01", "2999-12"],
            "received_on": ["2026-03-06", "0001-01-01", "9999-12-31", "1899-12-31", "2026-02-30"],
            "reference": [f"SO-{HOME}-FUZZ", f"SO-{ELSEWHERE}-FUZZ"],
            "customer_id": ["CUST-FUZZ"],
            "amount_fen": [1, 100, 10**7, 2**62, 2**63 - 1, -(2**63), 0, -1],
            "currency_code": ["CNY", "USD", "cny", ""],
            "request_id": st.uuids().map(str),
        },
        "bases": {
            "GetBalance": svc.GetBalanceRequest(store_id=HOME, account_code="1122"),
            "GetInvoice": svc.GetInvoiceRequest(invoice_id=invoices[0]),
            "RecordReceipt": receipt,
        },
    }


@pytest.fixture(scope="module")
async def channel(
    finance_app: FastAPI, finance_settings: FinanceSettings
) -> AsyncIterator[grpc.aio.Channel]:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{finance_settings.grpc_port}") as chan:
        yield chan


async def snapshot(app: FastAPI) -> tuple[Any, ...]:
    """What RecordReceipt writes: receipts, their applications, invoices paid, the journal and
    the outbox."""
    async with app.state.finance.db.session() as session:
        row = (
            await session.execute(
                text(
                    "SELECT (SELECT count(*) FROM receipts),"
                    " (SELECT count(*) FROM receipt_applications),"
                    " (SELECT coalesce(sum(paid_fen), 0) FROM invoices),"
                    " (SELECT count(*) FROM journal_entries),"
                    " (SELECT count(*) FROM journal_lines),"
                    " (SELECT count(*) FROM outbox)"
                )
            )
        ).one()
    return tuple(row)


def _metadata(who: Principal, settings_: FinanceSettings) -> Any:
    return ((METADATA_KEY, sign_principal(who, settings_.internal_secret)),)


@pytest.mark.parametrize("method", METHODS, ids=[m.name for m in METHODS])
@FUZZ
@given(data=st.data())
async def test_finance_rpc_never_answers_internal(
    method: Any,
    data: st.DataObject,
    world: dict[str, Any],
    channel: grpc.aio.Channel,
    finance_app: FastAPI,
    finance_settings: FinanceSettings,
) -> None:
    request = data.draw(
        requests(
            method.input_type, world["hints"], base=world["bases"].get(method.name), renew=RENEW
        ),
        label="request",
    )
    # HQ (every store) more than half the time, so other stores' ids get past the store check.
    who = data.draw(st.one_of(st.just(PRINCIPALS[0]), st.sampled_from(PRINCIPALS)), label="who")
    writes = method.name in WRITES
    before = await snapshot(finance_app) if writes else None

    code, details, response = await call_unary(
        channel, method, request, metadata=_metadata(who, finance_settings)
    )
    event(code.name)  # --hypothesis-show-statistics shows how deep the fuzz got

    assert code in ACCEPTABLE_CODES, (
        f"{method.name} answered {code.name} ({details}) as {who.subject} to\n{describe(request)}"
    )
    if writes and code is not grpc.StatusCode.OK:
        assert await snapshot(finance_app) == before, (
            f"{method.name} refused ({code.name}: {details}) but changed the database"
        )
    if method.name == "RecordReceipt" and response is not None:
        # What the books record stays within the days they can compute with (as over HTTP).
        assert EARLIEST_DAY.isoformat() <= response.receipt.received_on <= LATEST_DAY.isoformat()


@pytest.mark.parametrize("method", METHODS, ids=[m.name for m in METHODS])
@settings(FUZZ, max_examples=25)
@given(data=st.data())
async def test_finance_rpc_refuses_unreadable_bytes_as_invalid_argument(
    method: Any, data: st.DataObject, channel: grpc.aio.Channel, finance_settings: FinanceSettings
) -> None:
    raw = data.draw(unreadable(method.input_type), label="bytes")
    await assert_unreadable_refused(
        channel, method, raw, metadata=_metadata(PRINCIPALS[0], finance_settings)
    )


@pytest.mark.parametrize("method", METHODS, ids=[m.name for m in METHODS])
async def test_finance_rpc_takes_every_field_edge_without_internal(
    method: Any,
    world: dict[str, Any],
    channel: grpc.aio.Channel,
    finance_app: FastAPI,
    finance_settings: FinanceSettings,
) -> None:
    """The deterministic sweep beside the random fuzz: one field at a time at each edge value,
    the rest of a valid request as it is, as HQ (so no store check stops it early)."""
    writes = method.name in WRITES
    failures = await sweep_field_edges(
        channel,
        method,
        world["bases"][method.name],
        metadata=_metadata(PRINCIPALS[0], finance_settings),
        fresh=FRESH,
        snapshot=(lambda: snapshot(finance_app)) if writes else None,
    )
    assert not failures, "\n".join(failures)


# --- what the fuzz found, pinned as plain examples ------------------------------------------


def _receipt(world: dict[str, Any], **changes: Any) -> Any:
    request = svc.RecordReceiptRequest()
    request.CopyFrom(world["bases"]["RecordReceipt"])
    request.request_id = str(uuid.uuid4())
    for name, value in changes.items():
        setattr(request, name, value)
    return request


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"method": 99}, "method 99 is not a PaymentMethod this service knows"),
        ({"method": -1}, "method -1 is not a PaymentMethod"),
        ({"reference_type": 4}, "reference_type 4 is not a ReceiptReference this service knows"),
        ({"reference_type": -(2**31)}, "reference_type -2147483648 is not a ReceiptReference"),
    ],
)
async def test_an_enum_number_this_build_does_not_know_is_invalid_argument(
    change: dict[str, int],
    words: str,
    world: dict[str, Any],
    channel: grpc.aio.Channel,
    finance_app: FastAPI,
    finance_settings: FinanceSettings,
) -> None:
    # fpb.PaymentMethod.Name(99) used to raise ValueError: INTERNAL.
    before = await snapshot(finance_app)
    code, details, _ = await call_unary(
        channel,
        SERVICE.methods_by_name["RecordReceipt"],
        _receipt(world, **change),
        metadata=_metadata(PRINCIPALS[0], finance_settings),
    )
    assert code is grpc.StatusCode.INVALID_ARGUMENT, details
    assert words in details and "use one of:" in details
    assert await snapshot(finance_app) == before


@pytest.mark.parametrize("day", ["0001-01-01", "1899-12-31", "3000-01-01", "9999-12-31"])
async def test_a_receipt_dated_outside_1900_to_2999_is_refused_as_over_http(
    day: str,
    world: dict[str, Any],
    channel: grpc.aio.Channel,
    finance_app: FastAPI,
    finance_settings: FinanceSettings,
) -> None:
    # These were recorded (and posted to period 0001-01 or 9999-12) over gRPC, while HTTP said 422.
    before = await snapshot(finance_app)
    code, details, _ = await call_unary(
        channel,
        SERVICE.methods_by_name["RecordReceipt"],
        _receipt(world, received_on=day),
        metadata=_metadata(PRINCIPALS[0], finance_settings),
    )
    assert code is grpc.StatusCode.INVALID_ARGUMENT, details
    assert f"received_on must be a day between 1900-01-01 and 2999-12-31; got {day}" in details
    assert await snapshot(finance_app) == before
