"""gRPC CrmService: proto <-> domain mapping lives only here; the kit's interceptor verifies the
caller's principal (metadata `x-marque-principal`) and maps domain errors to status codes
(NOT_FOUND, INVALID_ARGUMENT, PERMISSION_DENIED, UNAUTHENTICATED, ...).

FindOrCreateCustomer is idempotent twice over: the person is one customer whatever the channel
(the mobile/ID blind indexes are unique among live customers), and the call itself is keyed by
`request_id` in `crm_rpc_requests`, so a retried call gets the first answer back, `created` flag
included, while the same request_id with another request is refused.
"""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from marque.crm.v1 import crm_pb2, crm_service_pb2_grpc
from marque.crm.v1 import crm_service_pb2 as svc
from marque_crm import customers_service as customers
from marque_crm import timeline_service
from marque_crm.domain.leads import CLOSED
from marque_crm.events import timestamp
from marque_crm.models import CrmRpcRequest, Customer, CustomerTag, Lead, Tag
from marque_crm.models.customers import lineage_ids
from marque_crm.unit_of_work import Crm
from marque_kit.auth import Principal
from marque_kit.errors import InvalidInput
from marque_kit.rpc import current_principal

READ = "crm.customers:read"
WRITE = "crm.customers:write"
DEFAULT_TIMELINE = 20
MAX_TIMELINE = 100
MAX_STORE_ID = 20


def _required(value: str, field: str) -> str:
    if not value.strip():
        raise InvalidInput(f"{field} is required.", errors=[{"field": field, "rule": "required"}])
    return value.strip()


def _enum(enum: Any, prefix: str, value: str) -> int:
    name = f"{prefix}{value.upper()}"
    return int(enum.Value(name)) if name in enum.keys() else 0  # noqa: SIM118


def _known(enum: Any, value: int, field: str) -> int:
    """Proto3 enums are open: a number this build has no name for (a newer caller's value, a
    bug) is refused naming the field and the values it knows, never guessed at."""
    if value not in enum.values():
        known = ", ".join(n for n in enum.keys() if not n.endswith("_UNSPECIFIED"))  # noqa: SIM118
        raise InvalidInput(
            f"{field} {value} is not a {enum.DESCRIPTOR.name} this service knows; "
            f"use one of: {known}.",
            errors=[{"field": field, "rule": "one_of", "allowed": known}],
        )
    return value


def _enum_name(enum: Any, value: int, prefix: str, field: str) -> str:
    """`LEAD_CHANNEL_WALK_IN` -> `walk_in`; UNSPECIFIED (0) -> ""."""
    if not _known(enum, value, field):
        return ""
    return str(enum.Name(value)).removeprefix(prefix).lower()


async def _tags_of(session: AsyncSession, customer_id: str) -> list[str]:
    rows = await session.execute(
        select(col(Tag.name))
        .join(CustomerTag, col(CustomerTag.tag_id) == col(Tag.id))
        .where(col(CustomerTag.customer_id).in_(lineage_ids(customer_id)))
        .order_by(col(Tag.name))
        .distinct()
    )
    return list(rows.scalars().all())


def customer_message(view: customers.CustomerView, tags: list[str]) -> svc.Customer:
    c = view.customer
    return svc.Customer(
        customer_id=c.id,
        kind=crm_pb2.CUSTOMER_KIND_COMPANY if c.kind == "company" else crm_pb2.CUSTOMER_KIND_PERSON,
        name=c.name,
        mobile=view.mobile,
        wechat_id=c.wechat_id,
        national_id=view.national_id or "",
        city=c.city,
        store_id=c.store_id,
        owner=c.owner,
        tags=tags,
        merged_into=c.merged_into or "",
        version=c.version,
    )


def lead_snapshot(lead: Lead) -> crm_pb2.LeadSnapshot:
    snapshot = crm_pb2.LeadSnapshot(
        lead_id=lead.id,
        store_id=lead.store_id,
        customer_id=lead.customer_id,
        channel=_enum(crm_pb2.LeadChannel, "LEAD_CHANNEL_", lead.channel),  # type: ignore[arg-type]
        status=_enum(crm_pb2.LeadStatus, "LEAD_STATUS_", lead.status),  # type: ignore[arg-type]
        grade=_enum(crm_pb2.IntentGrade, "INTENT_GRADE_", lead.grade),  # type: ignore[arg-type]
        model_code=lead.model_code,
        trim_code=lead.trim_code,
        assigned_to=lead.assigned_to,
        version=lead.version,
    )
    if lead.created_at is not None:
        snapshot.created_at.CopyFrom(timestamp(lead.created_at))
    return snapshot


class CrmRpc(crm_service_pb2_grpc.CrmServiceServicer):
    def __init__(self, crm: Crm) -> None:
        self.crm = crm

    async def _message(
        self, session: AsyncSession, customer: Customer, principal: Principal, *, visible: bool
    ) -> svc.Customer:
        view = customers.view_of(self.crm, customer, principal, visible=visible)
        return customer_message(view, await _tags_of(session, customer.id))

    async def FindOrCreateCustomer(
        self, request: svc.FindOrCreateCustomerRequest, context: Any
    ) -> svc.FindOrCreateCustomerResponse:
        principal = current_principal()
        principal.require(WRITE)
        request_id = _required(request.request_id, "request_id")
        store_id = _required(request.store_id, "store_id")
        if len(store_id) > MAX_STORE_ID:
            # As the HTTP schema says; longer would fail customers.store_id (VARCHAR(20)).
            raise InvalidInput(
                f"store_id is a store code of at most {MAX_STORE_ID} characters, like SH01; "
                f"this one has {len(store_id):,}.",
                errors=[{"field": "store_id", "rule": f"at_most_{MAX_STORE_ID}"}],
            )
        principal.require_store(store_id, what=f"Store {store_id}")
        company = (
            _known(crm_pb2.CustomerKind, request.kind, "kind") == crm_pb2.CUSTOMER_KIND_COMPANY
        )
        kind = "company" if company else "person"
        source = _enum_name(crm_pb2.LeadChannel, request.source, "LEAD_CHANNEL_", "source")
        fingerprint = hashlib.sha256(request.SerializeToString(deterministic=True)).hexdigest()
        async with self.crm.uow() as uow:
            session = uow.session
            claimed = await session.execute(
                pg_insert(CrmRpcRequest)
                .values(
                    request_id=request_id[:200],
                    method="FindOrCreateCustomer",
                    request_hash=fingerprint,
                    at=self.crm.now(),
                )
                .on_conflict_do_nothing()
                .returning(col(CrmRpcRequest.request_id))
            )
            if claimed.first() is None:
                # The first call committed (a rollback would have let our insert through).
                first = (
                    (
                        await session.execute(
                            select(CrmRpcRequest)
                            .where(col(CrmRpcRequest.request_id) == request_id[:200])
                            .with_for_update()
                        )
                    )
                    .scalars()
                    .one()
                )
                if first.request_hash != fingerprint or first.customer_id is None:
                    raise InvalidInput(
                        f"request_id {request_id!r} was first used for another request; "
                        "use a new request_id for a new request.",
                        errors=[{"field": "request_id", "rule": "reused"}],
                    )
                customer = await customers.resolve(session, first.customer_id)
                visible = await customers.is_visible(session, principal, customer.id)
                return svc.FindOrCreateCustomerResponse(
                    customer=await self._message(session, customer, principal, visible=visible),
                    created=first.customer_created,
                )
            owner = principal.subject if customers.sees_only_own_book(principal) else ""
            found = await customers.find_or_create(
                session,
                self.crm,
                customers.NewCustomer(
                    store_id=store_id,
                    name=request.name,
                    mobile=request.mobile,
                    kind=kind,
                    national_id=request.national_id,
                    source=source,
                    owner=owner,
                    actor=principal.subject,
                ),
            )
            claim = await session.get(CrmRpcRequest, request_id[:200])
            assert claim is not None
            claim.customer_id, claim.customer_created = found.customer.id, found.created
            visible = found.created or await customers.is_visible(
                session, principal, found.customer.id
            )
            reply = svc.FindOrCreateCustomerResponse(
                customer=await self._message(session, found.customer, principal, visible=visible),
                created=found.created,
            )
            await uow.commit()
        return reply

    async def GetCustomer(
        self, request: svc.GetCustomerRequest, context: Any
    ) -> svc.GetCustomerResponse:
        principal = current_principal()
        principal.require(READ)
        customer_id = _required(request.customer_id, "customer_id")
        async with self.crm.db.session() as session:
            loaded = await customers.load_visible(session, principal, customer_id)
            message = await self._message(session, loaded.customer, principal, visible=True)
        return svc.GetCustomerResponse(customer=message)

    async def GetCustomerSummary(
        self, request: svc.GetCustomerSummaryRequest, context: Any
    ) -> svc.GetCustomerSummaryResponse:
        principal = current_principal()
        principal.require(READ)
        customer_id = _required(request.customer_id, "customer_id")
        if request.timeline_limit < 0:
            raise InvalidInput(
                "timeline_limit cannot be negative (0 means the default of 20).",
                errors=[{"field": "timeline_limit", "rule": "range"}],
            )
        limit = min(request.timeline_limit or DEFAULT_TIMELINE, MAX_TIMELINE)
        async with self.crm.db.session() as session:
            loaded = await customers.load_visible(session, principal, customer_id)
            customer = loaded.customer
            message = await self._message(session, customer, principal, visible=True)
            leads = select(Lead).where(
                col(Lead.customer_id).in_(lineage_ids(customer.id)),
                col(Lead.status).not_in(CLOSED),
            )
            if not principal.is_hq:
                leads = leads.where(col(Lead.store_id).in_(list(principal.stores)))
            open_leads = (
                (await session.execute(leads.order_by(col(Lead.created_at).desc()))).scalars().all()
            )
            entries = await timeline_service.recent(session, customer.id, limit)
            vehicles = (await session.execute(customers.vehicles_of(customer.id))).scalars().all()
        return svc.GetCustomerSummaryResponse(
            customer=message,
            open_leads=[lead_snapshot(lead) for lead in open_leads],
            timeline=[
                svc.TimelineEntry(
                    at=timestamp(e.at),
                    kind=e.kind,
                    summary=e.summary,
                    actor=e.actor,
                    store_id=e.store_id,
                )
                for e in entries
            ],
            vehicles=[
                svc.OwnedVehicle(vin=v.vin, plate=v.plate, model_code=v.model_code, bought=v.bought)
                for v in vehicles
            ],
        )
