"""Every unary RPC of CrmService, fuzzed through a real grpc.aio channel to the running app on its
real PostgreSQL: whatever the request holds (odd or 10,000-character text, extreme integers,
unknown enum numbers, other stores' ids and customers, absent fields), the answer is never
INTERNAL or UNKNOWN, and a refused FindOrCreateCustomer leaves the database as it was.

Requests are built from the proto descriptors (`marque_kit.testing.proto_fuzz`), so a field
added to a request is fuzzed without touching this file.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from fastapi import FastAPI
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from marque.crm.v1 import crm_pb2
from marque.crm.v1 import crm_service_pb2 as svc
from marque_crm.domain.contact import with_id_check_digit
from marque_crm.settings import CrmSettings
from marque_kit.auth import METADATA_KEY, Principal, sign_principal
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

SERVICE = svc.DESCRIPTOR.services_by_name["CrmService"]
METHODS = unary_methods(SERVICE)
WRITES = frozenset({"FindOrCreateCustomer"})
HOME, ELSEWHERE = "FZ01", "FZ02"
PRINCIPALS = (
    Principal(subject="sales", kind="service", roles=("hq_admin",), stores=("*",)),
    Principal(subject="fz.manager", roles=("sales_manager",), stores=(HOME,)),
    Principal(subject="fz.consultant", roles=("sales_consultant",), stores=(HOME,)),
    Principal(subject="fz.advisor", roles=("service_advisor",), stores=(HOME,)),
    Principal(subject="fz.tech", roles=("technician",), stores=(HOME,)),
)
# Unless fuzzed: a new request id, and a new mobile so that the create runs to its insert.
RENEW = {
    "request_id": st.uuids().map(str),
    "mobile": st.uuids().map(lambda u: f"+86 139{u.int % 10**8:08d}"),
}
FRESH = {"request_id": lambda: str(uuid.uuid4()), "mobile": lambda: _mobile()}
FUZZ = settings(
    max_examples=250,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _mobile() -> str:
    return f"+86 139{uuid.uuid4().int % 10**8:08d}"


def _metadata(who: Principal, settings_: CrmSettings) -> Any:
    return ((METADATA_KEY, sign_principal(who, settings_.internal_secret)),)


@pytest.fixture(scope="module")
async def channel(crm_app: FastAPI, crm_settings: CrmSettings) -> AsyncIterator[grpc.aio.Channel]:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{crm_settings.grpc_port}") as chan:
        yield chan


@pytest.fixture(scope="module")
async def world(channel: grpc.aio.Channel, crm_settings: CrmSettings) -> dict[str, Any]:
    """Hints and valid base requests: real customers in this store and in another."""
    method = SERVICE.methods_by_name["FindOrCreateCustomer"]
    ids = []
    mobiles = [_mobile(), _mobile()]
    for store, mobile in zip((HOME, ELSEWHERE), mobiles, strict=True):
        code, details, reply = await call_unary(
            channel,
            method,
            svc.FindOrCreateCustomerRequest(
                request_id=str(uuid.uuid4()), store_id=store, name="陈静", mobile=mobile
            ),
            metadata=_metadata(PRINCIPALS[0], crm_settings),
        )
        assert code is grpc.StatusCode.OK and reply is not None, details
        ids.append(reply.customer.customer_id)
    national_id = with_id_check_digit("11010519491231002")
    return {
        "hints": {
            "store_id": [HOME, ELSEWHERE, "*", "SH01", f" {HOME} ", HOME.lower()],
            "customer_id": [*ids, ids[0].upper(), str(uuid.uuid4())],
            "mobile": [*mobiles, "13800000000", "+8613800000000", "12345", "+1 650 555 0100"],
            "national_id": [national_id, national_id[:-1] + "0", "110105194912310021"],
            "name": ["陈静", "Acme 汽车租赁有限公司", "A"],
            "timeline_limit": [0, 1, 20, 100, 101, -1],
            "request_id": st.uuids().map(str),
        },
        "bases": {
            "FindOrCreateCustomer": svc.FindOrCreateCustomerRequest(
                request_id="RQ-BASE",
                store_id=HOME,
                kind=crm_pb2.CUSTOMER_KIND_PERSON,
                name="陈静",
                mobile=mobiles[0],
                source=crm_pb2.LEAD_CHANNEL_WALK_IN,
            ),
            "GetCustomer": svc.GetCustomerRequest(customer_id=ids[0]),
            "GetCustomerSummary": svc.GetCustomerSummaryRequest(customer_id=ids[0]),
        },
    }


async def snapshot(app: FastAPI) -> tuple[Any, ...]:
    """What FindOrCreateCustomer writes: customers, its request claims, the timeline, the outbox."""
    async with app.state.crm.db.session() as session:
        row = (
            await session.execute(
                text(
                    "SELECT (SELECT count(*) FROM customers),"
                    " (SELECT count(*) FROM crm_rpc_requests),"
                    " (SELECT count(*) FROM timeline_entries),"
                    " (SELECT count(*) FROM outbox)"
                )
            )
        ).one()
    return tuple(row)


@pytest.mark.parametrize("method", METHODS, ids=[m.name for m in METHODS])
@FUZZ
@given(data=st.data())
async def test_crm_rpc_never_answers_internal(
    method: Any,
    data: st.DataObject,
    world: dict[str, Any],
    channel: grpc.aio.Channel,
    crm_app: FastAPI,
    crm_settings: CrmSettings,
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
    before = await snapshot(crm_app) if writes else None

    code, details, _ = await call_unary(
        channel, method, request, metadata=_metadata(who, crm_settings)
    )
    event(code.name)  # --hypothesis-show-statistics shows how deep the fuzz got

    assert code in ACCEPTABLE_CODES, (
        f"{method.name} answered {code.name} ({details}) as {who.subject} to\n{describe(request)}"
    )
    if writes and code is not grpc.StatusCode.OK:
        assert await snapshot(crm_app) == before, (
            f"{method.name} refused ({code.name}: {details}) but changed the database"
        )


@pytest.mark.parametrize("method", METHODS, ids=[m.name for m in METHODS])
@settings(FUZZ, max_examples=25)
@given(data=st.data())
async def test_crm_rpc_refuses_unreadable_bytes_as_invalid_argument(
    method: Any, data: st.DataObject, channel: grpc.aio.Channel, crm_settings: CrmSettings
) -> None:
    raw = data.draw(unreadable(method.input_type), label="bytes")
    await assert_unreadable_refused(
        channel, method, raw, metadata=_metadata(PRINCIPALS[0], crm_settings)
    )


@pytest.mark.parametrize("method", METHODS, ids=[m.name for m in METHODS])
async def test_crm_rpc_takes_every_field_edge_without_internal(
    method: Any,
    world: dict[str, Any],
    channel: grpc.aio.Channel,
    crm_app: FastAPI,
    crm_settings: CrmSettings,
) -> None:
    """The deterministic sweep beside the random fuzz: one field at a time at each edge value,
    the rest of a valid request as it is, as HQ (so no store check stops it early)."""
    writes = method.name in WRITES
    failures = await sweep_field_edges(
        channel,
        method,
        world["bases"][method.name],
        metadata=_metadata(PRINCIPALS[0], crm_settings),
        fresh=FRESH,
        snapshot=(lambda: snapshot(crm_app)) if writes else None,
    )
    assert not failures, "\n".join(failures)


# --- what the fuzz found, pinned as plain examples ------------------------------------------


def _find_or_create(world: dict[str, Any], **changes: Any) -> Any:
    request = svc.FindOrCreateCustomerRequest()
    request.CopyFrom(world["bases"]["FindOrCreateCustomer"])
    request.request_id, request.mobile = str(uuid.uuid4()), _mobile()
    for name, value in changes.items():
        setattr(request, name, value)
    return request


@pytest.mark.parametrize(
    ("change", "words"),
    [
        # HQ may name any store: 21 characters used to fail customers.store_id (VARCHAR(20)).
        ({"store_id": "S" * 21}, "store_id is a store code of at most 20 characters"),
        ({"store_id": "车" * 10_000}, "this one has 10,000"),
        # crm_pb2.LeadChannel.Name(999) used to raise ValueError.
        ({"source": 999}, "source 999 is not a LeadChannel this service knows"),
        ({"source": -1}, "source -1 is not a LeadChannel"),
        # An unknown kind used to be taken silently as a person.
        ({"kind": 7}, "kind 7 is not a CustomerKind this service knows"),
    ],
)
async def test_find_or_create_refuses_what_it_cannot_store_and_writes_nothing(
    change: dict[str, Any],
    words: str,
    world: dict[str, Any],
    channel: grpc.aio.Channel,
    crm_app: FastAPI,
    crm_settings: CrmSettings,
) -> None:
    before = await snapshot(crm_app)
    code, details, _ = await call_unary(
        channel,
        SERVICE.methods_by_name["FindOrCreateCustomer"],
        _find_or_create(world, **change),
        metadata=_metadata(PRINCIPALS[0], crm_settings),
    )
    assert code is grpc.StatusCode.INVALID_ARGUMENT, details
    assert words in details
    assert await snapshot(crm_app) == before


async def test_known_kinds_and_channels_still_create(
    world: dict[str, Any], channel: grpc.aio.Channel, crm_settings: CrmSettings
) -> None:
    request = _find_or_create(
        world,
        kind=crm_pb2.CUSTOMER_KIND_COMPANY,
        name="Acme 汽车租赁有限公司",
        source=crm_pb2.LEAD_CHANNEL_WALK_IN,
    )
    code, details, reply = await call_unary(
        channel,
        SERVICE.methods_by_name["FindOrCreateCustomer"],
        request,
        metadata=_metadata(PRINCIPALS[0], crm_settings),
    )
    assert code is grpc.StatusCode.OK and reply is not None, details
    assert reply.created and reply.customer.kind == crm_pb2.CUSTOMER_KIND_COMPANY
