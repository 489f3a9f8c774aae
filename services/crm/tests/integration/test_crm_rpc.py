"""gRPC CrmService over a real grpc.aio channel to the running app: FindOrCreateCustomer is one
customer per person and idempotent on request_id, GetCustomer masks PII without pii:read and
answers a merged id with the survivor, GetCustomerSummary gathers the customer 360, and errors
map to status codes."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import grpc
import httpx
import pytest
from fastapi import FastAPI

from marque.crm.v1 import crm_pb2, crm_service_pb2_grpc
from marque.crm.v1 import crm_service_pb2 as svc
from marque_crm.domain.contact import with_id_check_digit
from marque_crm.models import Lead
from marque_crm.settings import CrmSettings
from marque_crm.unit_of_work import Crm
from marque_kit.auth import Principal, sign_principal
from marque_kit.testing.vins import with_check_digit

API = "/api/v1/crm/customers"
STORE = "RPC1"


@pytest.fixture
async def stub(
    crm_app: FastAPI, crm_settings: CrmSettings
) -> AsyncIterator[crm_service_pb2_grpc.CrmServiceStub]:
    # A bare channel: the principal travels only when a test puts it in the metadata.
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{crm_settings.grpc_port}")
    async with channel:
        yield crm_service_pb2_grpc.CrmServiceStub(channel)


@pytest.fixture
def metadata(crm_settings: CrmSettings) -> Callable[..., Any]:
    def make(role: str = "sales_manager", stores: tuple[str, ...] = (STORE,), sub: str = "") -> Any:
        token = sign_principal(
            Principal(subject=sub or f"rpc.{role}", roles=(role,), stores=stores),
            crm_settings.internal_secret,
        )
        return (("x-marque-principal", token),)

    return make


def fresh_mobile() -> str:
    return f"+86 137{uuid.uuid4().int % 10**8:08d}"


def find_or_create(mobile: str, request_id: str = "", **fields: Any) -> Any:
    return svc.FindOrCreateCustomerRequest(
        request_id=request_id or f"sales-{uuid.uuid4()}",
        store_id=STORE,
        kind=crm_pb2.CUSTOMER_KIND_PERSON,
        name=fields.pop("name", "陈静"),
        mobile=mobile,
        source=crm_pb2.LEAD_CHANNEL_WALK_IN,
        **fields,
    )


async def test_find_or_create_twice_is_one_customer_and_says_whether_it_was_new(
    stub: crm_service_pb2_grpc.CrmServiceStub, metadata: Callable[..., Any]
) -> None:
    mobile = fresh_mobile()
    request = find_or_create(mobile)
    first = await stub.FindOrCreateCustomer(request, metadata=metadata(), timeout=20)
    retried = await stub.FindOrCreateCustomer(request, metadata=metadata(), timeout=20)
    other_call = await stub.FindOrCreateCustomer(
        find_or_create(mobile.replace("+86 ", "0086-"), name="陈 静"),
        metadata=metadata(),
        timeout=20,
    )
    assert first.created and retried.created  # a retry gets the first answer back
    assert not other_call.created
    assert first.customer.customer_id == retried.customer.customer_id
    assert other_call.customer.customer_id == first.customer.customer_id
    assert first.customer.mobile == mobile.replace(" ", "")  # sales_manager holds pii:read

    reused = find_or_create(fresh_mobile(), request_id=request.request_id)
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await stub.FindOrCreateCustomer(reused, metadata=metadata(), timeout=20)
    assert refused.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert request.request_id in (refused.value.details() or "")


async def test_bad_input_is_invalid_argument_with_the_reason(
    stub: crm_service_pb2_grpc.CrmServiceStub, metadata: Callable[..., Any]
) -> None:
    bad_id = find_or_create(fresh_mobile(), national_id="110105194912310021")
    for request, words in (
        (find_or_create("12345"), "not a Chinese mobile"),
        (bad_id, "check digit"),
        (find_or_create(fresh_mobile(), request_id=" "), "request_id"),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stub.FindOrCreateCustomer(request, metadata=metadata(), timeout=20)
        assert refused.value.code() is grpc.StatusCode.INVALID_ARGUMENT
        assert words in (refused.value.details() or "")


async def test_get_customer_masks_pii_without_pii_read(
    stub: crm_service_pb2_grpc.CrmServiceStub, metadata: Callable[..., Any]
) -> None:
    mobile = fresh_mobile()
    national_id = with_id_check_digit(f"44030519920817{uuid.uuid4().int % 1000:03d}")
    created = await stub.FindOrCreateCustomer(
        find_or_create(mobile, national_id=national_id),
        metadata=metadata("sales_consultant", sub="rpc.consultant"),
        timeout=20,
    )
    customer_id = created.customer.customer_id
    assert created.customer.owner == "rpc.consultant"
    request = svc.GetCustomerRequest(customer_id=customer_id)
    masked = await stub.GetCustomer(
        request, metadata=metadata("sales_consultant", sub="rpc.consultant"), timeout=20
    )
    assert masked.customer.mobile == f"+86 {mobile[4:7]}****{mobile[-4:]}"
    assert masked.customer.national_id == national_id[:4] + "*" * 10 + national_id[-4:]
    full = await stub.GetCustomer(request, metadata=metadata("store_manager"), timeout=20)
    assert full.customer.mobile == mobile.replace(" ", "")
    assert full.customer.national_id == national_id


async def test_get_customer_of_a_merged_id_answers_the_survivor(
    stub: crm_service_pb2_grpc.CrmServiceStub,
    metadata: Callable[..., Any],
    client: httpx.AsyncClient,
    as_user: Callable[..., dict[str, str]],
) -> None:
    one = await stub.FindOrCreateCustomer(
        find_or_create(fresh_mobile()), metadata=metadata(), timeout=20
    )
    two = await stub.FindOrCreateCustomer(
        find_or_create(fresh_mobile()), metadata=metadata(), timeout=20
    )
    merged = await client.post(
        f"{API}/{one.customer.customer_id}/merge",
        json={"merged_customer_id": two.customer.customer_id},
        headers=as_user("store_manager", STORE),
    )
    assert merged.status_code == 200
    answer = await stub.GetCustomer(
        svc.GetCustomerRequest(customer_id=two.customer.customer_id),
        metadata=metadata(),
        timeout=20,
    )
    assert answer.customer.customer_id == one.customer.customer_id
    assert answer.customer.merged_into == ""


async def test_customer_summary_has_profile_open_leads_timeline_and_vehicles(
    stub: crm_service_pb2_grpc.CrmServiceStub,
    metadata: Callable[..., Any],
    client: httpx.AsyncClient,
    as_user: Callable[..., dict[str, str]],
    crm: Crm,
) -> None:
    created = await stub.FindOrCreateCustomer(
        find_or_create(fresh_mobile()), metadata=metadata(), timeout=20
    )
    customer_id = created.customer.customer_id
    staff = as_user("sales_manager", STORE)
    vin = with_check_digit("LGXCE4CB5R0" + f"{uuid.uuid4().int % 10**6:06d}")
    await client.post(
        f"{API}/{customer_id}/vehicles",
        json={"vin": vin, "bought": "elsewhere", "plate": "沪A12345", "model_code": "BYD-HAN"},
        headers=staff,
    )
    for n in range(3):
        await client.post(
            f"{API}/{customer_id}/timeline",
            json={"kind": "call", "summary": f"call {n}"},
            headers=staff,
        )
    open_lead, won_lead = str(uuid.uuid4()), str(uuid.uuid4())
    async with crm.uow() as uow:
        uow.session.add_all(
            [
                Lead(
                    id=open_lead,
                    store_id=STORE,
                    customer_id=customer_id,
                    channel="autohome",
                    status="test_drive",
                    grade="H",
                    model_code="BYD-HAN",
                    assigned_to="rpc.consultant",
                ),
                Lead(
                    id=won_lead,
                    store_id=STORE,
                    customer_id=customer_id,
                    channel="walk_in",
                    status="won",
                ),
            ]
        )
        await uow.commit()

    summary = await stub.GetCustomerSummary(
        svc.GetCustomerSummaryRequest(customer_id=customer_id, timeline_limit=2),
        metadata=metadata(),
        timeout=20,
    )
    assert summary.customer.customer_id == customer_id
    assert [lead.lead_id for lead in summary.open_leads] == [open_lead]
    lead = summary.open_leads[0]
    assert lead.status == crm_pb2.LEAD_STATUS_TEST_DRIVE
    assert lead.grade == crm_pb2.INTENT_GRADE_H
    assert lead.channel == crm_pb2.LEAD_CHANNEL_AUTOHOME
    assert [e.summary for e in summary.timeline] == ["call 2", "call 1"]
    assert [(v.vin, v.plate, v.bought) for v in summary.vehicles] == [
        (vin, "沪A12345", "elsewhere")
    ]


async def test_unknown_or_invisible_customers_are_not_found(
    stub: crm_service_pb2_grpc.CrmServiceStub, metadata: Callable[..., Any]
) -> None:
    created = await stub.FindOrCreateCustomer(
        find_or_create(fresh_mobile()), metadata=metadata(), timeout=20
    )
    for customer_id, caller in (
        (str(uuid.uuid4()), metadata()),
        (created.customer.customer_id, metadata("store_manager", ("RPC9",))),
        (created.customer.customer_id, metadata("sales_consultant", sub="rpc.somebody")),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as missing:
            await stub.GetCustomer(
                svc.GetCustomerRequest(customer_id=customer_id), metadata=caller, timeout=20
            )
        assert missing.value.code() is grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.aio.AioRpcError) as summary:
        await stub.GetCustomerSummary(
            svc.GetCustomerSummaryRequest(customer_id=str(uuid.uuid4())),
            metadata=metadata(),
            timeout=20,
        )
    assert summary.value.code() is grpc.StatusCode.NOT_FOUND


async def test_calls_without_a_principal_or_permission_are_refused(
    stub: crm_service_pb2_grpc.CrmServiceStub, metadata: Callable[..., Any]
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as anonymous:
        await stub.GetCustomer(svc.GetCustomerRequest(customer_id="x"), timeout=20)
    assert anonymous.value.code() is grpc.StatusCode.UNAUTHENTICATED
    with pytest.raises(grpc.aio.AioRpcError) as forbidden:
        await stub.FindOrCreateCustomer(
            find_or_create(fresh_mobile()), metadata=metadata("technician"), timeout=20
        )
    assert forbidden.value.code() is grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.aio.AioRpcError) as other_store:
        await stub.FindOrCreateCustomer(
            find_or_create(fresh_mobile()), metadata=metadata(stores=("RPC9",)), timeout=20
        )
    assert other_store.value.code() is grpc.StatusCode.NOT_FOUND
