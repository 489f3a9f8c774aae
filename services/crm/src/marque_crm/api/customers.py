"""Customers under /api/v1/crm/customers: find-or-create, list and search, profile, merge,
marketing consent, vehicles owned and the timeline.

Every route answers only about customers the caller may see (404 otherwise; see
customers_service). Mobile, national ID and address are masked without `pii:read`.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field
from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import aliased
from sqlmodel import col

from marque_crm import customers_service as customers
from marque_crm import timeline_service
from marque_crm.api.deps import CrmDep
from marque_crm.domain.contact import check_national_id, normalise_mobile
from marque_crm.domain.customers import CONSENT_CHANNELS
from marque_crm.models import (
    Customer,
    CustomerConsent,
    CustomerTag,
    OwnedVehicle,
    Tag,
    TimelineEntry,
)
from marque_crm.unit_of_work import Crm
from marque_kit.auth import Principal
from marque_kit.errors import Forbidden, InvalidInput
from marque_kit.http import (
    CurrentPrincipal,
    Day,
    IdempotencyDep,
    IfMatch,
    Instant,
    Page,
    PageQuery,
    etag,
    paginate,
    permission,
)

router = APIRouter(prefix="/api/v1/crm/customers", tags=["customers"])

READ = permission("crm.customers:read")
WRITE = permission("crm.customers:write")
_SOURCE = re.compile(r"^[a-z_]{0,20}$")
_PHONE_LIKE = re.compile(r"^[+\d][\d\s\-()]*$")
_ID_LIKE = re.compile(r"^\d{17}[\dXx]$")


# ---- Schemas ------------------------------------------------------------------------------------


class CustomerIn(BaseModel):
    store_id: str = Field(min_length=1, max_length=20, examples=["SH01"])
    name: str = Field(examples=["张伟"])
    mobile: str = Field(examples=["138 0013 8000"])
    kind: Literal["person", "company"] = "person"
    national_id: str = Field("", description="身份证号; checked, sealed at rest")
    source: str = Field("", description="Channel they became known through, e.g. walk_in")
    owner: str | None = Field(
        None, max_length=120, description="Owning consultant; a consultant's own default"
    )
    wechat_id: str = ""
    gender: Literal["male", "female", ""] = ""
    birthday: Day | None = None
    city: str = ""
    address: str = ""


class CustomerPatch(BaseModel):
    name: str | None = None
    mobile: str | None = None
    national_id: str | None = Field(None, description="Empty string or null removes it")
    wechat_id: str | None = None
    gender: str | None = None
    birthday: Day | None = None
    city: str | None = None
    address: str | None = None
    store_id: str | None = Field(None, max_length=20)
    owner: str | None = Field(None, max_length=120)


class CustomerOut(BaseModel):
    id: str
    kind: str
    name: str
    mobile: str = Field(description="E.164 with pii:read, masked otherwise")
    national_id: str | None = Field(description="Full with pii:read, masked otherwise")
    wechat_id: str
    gender: str
    birthday: date | None
    city: str
    address: str = Field(description="Full with pii:read, masked otherwise")
    store_id: str
    owner: str
    source: str
    pii: Literal["full", "masked"]
    created_at: datetime | None
    updated_at: datetime | None
    version: int
    merged_from: str | None = Field(
        None, description="The id asked for, when it was merged into this customer"
    )
    created: bool | None = Field(None, description="On create: false when already known")

    @classmethod
    def of(
        cls,
        view: customers.CustomerView,
        *,
        merged_from: str | None = None,
        created: bool | None = None,
    ) -> CustomerOut:
        c = view.customer
        return cls(
            id=c.id,
            kind=c.kind,
            name=c.name,
            mobile=view.mobile,
            national_id=view.national_id,
            wechat_id=c.wechat_id,
            gender=c.gender,
            birthday=c.birthday,
            city=c.city,
            address=view.address,
            store_id=c.store_id,
            owner=c.owner,
            source=c.source,
            pii=view.pii,
            created_at=c.created_at,
            updated_at=c.updated_at,
            version=c.version,
            merged_from=merged_from,
            created=created,
        )


class MergeIn(BaseModel):
    merged_customer_id: str = Field(min_length=1, max_length=40)
    reason: str = Field("", max_length=500)


class MergeOut(BaseModel):
    survivor: CustomerOut
    merged_customer_id: str
    moved: dict[str, Any]


class ConsentIn(BaseModel):
    channel: Literal["sms", "wechat", "phone", "email"]
    granted: bool = Field(description="true: the customer agrees; false: they withdraw")
    source: str = Field(examples=["到店登记表 walk-in form"])
    at: Instant | None = Field(None, description="When the customer said it; default now")
    store_id: str = Field("", max_length=20)


class ConsentStateOut(BaseModel):
    channel: str
    status: Literal["none", "granted", "withdrawn"]
    source: str
    at: datetime | None
    recorded_by: str


class ConsentRecordOut(BaseModel):
    id: int
    channel: str
    granted: bool
    source: str
    at: datetime
    store_id: str
    recorded_by: str
    recorded_at: datetime | None
    given_by: str

    @classmethod
    def of(cls, row: CustomerConsent) -> ConsentRecordOut:
        assert row.id is not None and row.at is not None
        return cls(
            id=row.id,
            channel=row.channel,
            granted=row.granted,
            source=row.source,
            at=row.at,
            store_id=row.store_id,
            recorded_by=row.recorded_by,
            recorded_at=row.recorded_at,
            given_by=row.given_by,
        )


class ConsentsOut(BaseModel):
    customer_id: str
    channels: list[ConsentStateOut]
    history: list[ConsentRecordOut]


class VehicleIn(BaseModel):
    vin: str = Field(examples=["LSVAU2180N2183294"])
    bought: Literal["here", "elsewhere"]
    plate: str = Field("", examples=["沪A12345"])
    model_code: str = ""
    store_id: str = Field("", max_length=20, description="The selling store when bought here")
    purchased_on: Day | None = None


class VehiclePatch(BaseModel):
    vin: str | None = None
    plate: str | None = None
    model_code: str | None = None
    bought: Literal["here", "elsewhere"] | None = None
    store_id: str | None = Field(None, max_length=20)
    purchased_on: Day | None = None
    sold_on: Day | None = None


class VehicleOut(BaseModel):
    id: str
    customer_id: str
    vin: str
    plate: str
    model_code: str
    bought: str
    store_id: str
    purchased_on: date | None
    sold_on: date | None
    source: str
    created_at: datetime | None
    updated_at: datetime | None
    version: int

    @classmethod
    def of(cls, v: OwnedVehicle) -> VehicleOut:
        return cls.model_validate(v, from_attributes=True)


class TimelineIn(BaseModel):
    kind: Literal["call", "visit", "wechat", "note"]
    summary: str = Field(max_length=2000)
    at: Instant | None = Field(None, description="When it happened; default now")
    store_id: str = Field(
        "", max_length=20, description="Default: the customer's store, if it is yours"
    )
    ref: str = Field("", max_length=200)


class TimelineOut(BaseModel):
    id: int
    customer_id: str
    store_id: str
    kind: str
    summary: str
    actor: str
    ref: str
    at: datetime

    @classmethod
    def of(cls, e: TimelineEntry) -> TimelineOut:
        return cls.model_validate(e, from_attributes=True)


# ---- Helpers ------------------------------------------------------------------------------------


def _customer_out(
    crm: Crm,
    principal: Principal,
    loaded: customers.Loaded,
) -> CustomerOut:
    return CustomerOut.of(
        customers.view_of(crm, loaded.customer, principal), merged_from=loaded.merged_from
    )


def _etagged(response: Response, out: CustomerOut) -> CustomerOut:
    response.headers["ETag"] = etag(out.version)
    return out


def _search(crm: Crm, q: str) -> ColumnElement[bool]:
    """Exact mobile or ID number (also a merged record's), else a name prefix."""
    text = q.strip()
    if _ID_LIKE.match(text):
        index = crm.pii.index(check_national_id(text, field="q"), "national_id")
        column = "national_id_index"
    elif _PHONE_LIKE.match(text) and sum(ch.isdigit() for ch in text) >= 5:
        index = crm.pii.index(normalise_mobile(text, field="q"), "mobile")
        column = "mobile_index"
    else:
        escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return col(Customer.name).ilike(escaped + "%", escape="\\")
    merged = aliased(Customer)
    return or_(
        getattr(Customer, column) == index,
        col(Customer.id).in_(
            select(col(merged.merged_into)).where(getattr(merged, column) == index)
        ),
    )


def _tag_filter(tag: str) -> ColumnElement[bool]:
    """Customers carrying the tag (its id or name); tags themselves are the tags area's."""
    tagged = (
        select(col(CustomerTag.customer_id))
        .join(Tag, col(Tag.id) == col(CustomerTag.tag_id))
        .where(or_(col(Tag.id) == tag, col(Tag.name) == tag))
    )
    return col(Customer.id).in_(tagged)


# ---- Customers ----------------------------------------------------------------------------------


@router.post(
    "",
    status_code=201,
    response_model=CustomerOut,
    responses={200: {"model": CustomerOut, "description": "Already known (created: false)"}},
    dependencies=[WRITE],
)
async def create_customer(
    body: CustomerIn, principal: CurrentPrincipal, crm: CrmDep, idem: IdempotencyDep
) -> Response:
    """Find-or-create: the same mobile (or ID number) is one customer however often it arrives:
    201 with a new customer, or 200 with the one already known and `"created": false`."""
    principal.require_store(body.store_id, what=f"Store {body.store_id}")
    if not _SOURCE.match(body.source):
        raise InvalidInput(
            "source is a channel name like walk_in, phone or autohome.",
            errors=[{"field": "source", "rule": "format"}],
        )
    owner = body.owner
    if customers.sees_only_own_book(principal):
        if owner not in (None, "", principal.subject):
            raise Forbidden("A sales consultant creates customers for their own book only.")
        owner = principal.subject
    async with crm.uow() as uow:
        if replay := await idem.begin(uow.session, body):
            return replay
        found = await customers.find_or_create(
            uow.session,
            crm,
            customers.NewCustomer(
                store_id=body.store_id,
                name=body.name,
                mobile=body.mobile,
                kind=body.kind,
                national_id=body.national_id,
                source=body.source,
                owner=(owner or "").strip(),
                wechat_id=body.wechat_id,
                gender=body.gender,
                birthday=body.birthday,
                city=body.city,
                address=body.address,
                actor=principal.subject,
            ),
        )
        visible = found.created or await customers.is_visible(
            uow.session, principal, found.customer.id
        )
        view = customers.view_of(crm, found.customer, principal, visible=visible)
        out = CustomerOut.of(view, created=found.created)
        response = await idem.complete(
            uow.session,
            201 if found.created else 200,
            out,
            headers={"ETag": etag(out.version)},
        )
        await uow.commit()
    return response


@router.get("", response_model=Page[CustomerOut], dependencies=[READ])
async def list_customers(
    principal: CurrentPrincipal,
    crm: CrmDep,
    page: PageQuery,
    store_id: Annotated[str | None, Query(max_length=20)] = None,
    owner: Annotated[str | None, Query(max_length=120)] = None,
    q: Annotated[
        str | None,
        Query(max_length=100, description="Name prefix, or an exact mobile / ID number"),
    ] = None,
    tag: Annotated[str | None, Query(max_length=40, description="Tag id or name")] = None,
) -> Page[CustomerOut]:
    """Live customers you may see, newest first."""
    stmt = select(Customer).where(
        col(Customer.merged_into).is_(None), customers.visible_to(principal)
    )
    if store_id:
        principal.require_store(store_id, what=f"Store {store_id}")
        stmt = stmt.where(
            or_(col(Customer.store_id) == store_id, customers.in_store_by_lead(store_id))
        )
    if owner is not None:
        stmt = stmt.where(col(Customer.owner) == owner)
    if q and q.strip():
        stmt = stmt.where(_search(crm, q))
    if tag:
        stmt = stmt.where(_tag_filter(tag))
    async with crm.db.session() as session:
        rows, next_cursor = await paginate(
            session,
            stmt,
            page,
            order=(col(Customer.created_at), col(Customer.id)),
            descending=True,
        )
    return Page(
        items=[CustomerOut.of(customers.view_of(crm, c, principal)) for c in rows],
        next_cursor=next_cursor,
    )


@router.get("/{customer_id}", response_model=CustomerOut, dependencies=[READ])
async def get_customer(
    customer_id: str, principal: CurrentPrincipal, crm: CrmDep, response: Response
) -> CustomerOut:
    """One customer; a merged id answers the survivor, with `merged_from` naming the id asked."""
    async with crm.db.session() as session:
        loaded = await customers.load_visible(session, principal, customer_id)
    return _etagged(response, _customer_out(crm, principal, loaded))


@router.patch("/{customer_id}", response_model=CustomerOut, dependencies=[WRITE])
async def update_customer(
    customer_id: str,
    body: CustomerPatch,
    expected: IfMatch,
    principal: CurrentPrincipal,
    crm: CrmDep,
    response: Response,
) -> CustomerOut:
    """Change profile fields (send only those that change) with `If-Match: "<version>"`."""
    async with crm.uow() as uow:
        customer = await customers.update_profile(
            uow.session,
            crm,
            principal,
            customer_id,
            body.model_dump(exclude_unset=True),
            expected_version=expected,
        )
        out = CustomerOut.of(customers.view_of(crm, customer, principal))
        await uow.commit()
    return _etagged(response, out)


@router.post(
    "/{customer_id}/merge",
    response_model=MergeOut,
    dependencies=[permission("crm.customers:merge")],
)
async def merge_customer(
    customer_id: str,
    body: MergeIn,
    principal: CurrentPrincipal,
    crm: CrmDep,
    idem: IdempotencyDep,
) -> Response:
    """Merge the duplicate `merged_customer_id` into this customer (managers only). Its history
    now reads under this customer and its id becomes a tombstone pointing here."""
    async with crm.uow() as uow:
        if replay := await idem.begin(uow.session, body):
            return replay
        outcome = await customers.merge_customers(
            uow.session,
            crm,
            principal,
            survivor_id=customer_id,
            merged_id=body.merged_customer_id,
            reason=body.reason,
        )
        out = MergeOut(
            survivor=CustomerOut.of(customers.view_of(crm, outcome.survivor, principal)),
            merged_customer_id=outcome.merged.id,
            moved=outcome.log.moved,
        )
        response = await idem.complete(
            uow.session, 200, out, headers={"ETag": etag(outcome.survivor.version)}
        )
        await uow.commit()
    return response


# ---- Consent ------------------------------------------------------------------------------------


async def _consents_out(crm: Crm, session: Any, customer_id: str) -> ConsentsOut:
    history = await customers.consent_history(session, customer_id)
    standing = customers.standing_consents(history)
    return ConsentsOut(
        customer_id=customer_id,
        channels=[
            ConsentStateOut(
                channel=s.channel,
                status=s.status,
                source=s.source,
                at=s.at,
                recorded_by=s.recorded_by,
            )
            for s in (standing[c] for c in CONSENT_CHANNELS)
        ],
        history=[ConsentRecordOut.of(row) for row in history],
    )


@router.get("/{customer_id}/consents", response_model=ConsentsOut, dependencies=[READ])
async def get_consents(customer_id: str, principal: CurrentPrincipal, crm: CrmDep) -> ConsentsOut:
    """Marketing consent per channel (none until the customer says yes) and every statement."""
    async with crm.db.session() as session:
        loaded = await customers.load_visible(session, principal, customer_id)
        return await _consents_out(crm, session, loaded.customer.id)


@router.post(
    "/{customer_id}/consents", status_code=201, response_model=ConsentsOut, dependencies=[WRITE]
)
async def record_consent(
    customer_id: str,
    body: ConsentIn,
    principal: CurrentPrincipal,
    crm: CrmDep,
    idem: IdempotencyDep,
) -> Response:
    """Record that the customer granted or withdrew marketing consent on a channel (PIPL)."""
    async with crm.uow() as uow:
        if replay := await idem.begin(uow.session, body):
            return replay
        loaded = await customers.load_visible(uow.session, principal, customer_id)
        if body.store_id:
            principal.require_store(body.store_id, what=f"Store {body.store_id}")
        await customers.record_consent(
            uow.session,
            crm,
            principal,
            loaded.customer,
            channel=body.channel,
            granted=body.granted,
            source=body.source,
            at=body.at,
            store_id=body.store_id,
        )
        out = await _consents_out(crm, uow.session, loaded.customer.id)
        response = await idem.complete(uow.session, 201, out)
        await uow.commit()
    return response


# ---- Vehicles owned -----------------------------------------------------------------------------


@router.get("/{customer_id}/vehicles", response_model=Page[VehicleOut], dependencies=[READ])
async def list_vehicles(
    customer_id: str, principal: CurrentPrincipal, crm: CrmDep, page: PageQuery
) -> Page[VehicleOut]:
    async with crm.db.session() as session:
        loaded = await customers.load_visible(session, principal, customer_id)
        rows, next_cursor = await paginate(
            session,
            customers.vehicles_of(loaded.customer.id),
            page,
            order=(col(OwnedVehicle.created_at), col(OwnedVehicle.id)),
        )
    return Page(items=[VehicleOut.of(v) for v in rows], next_cursor=next_cursor)


@router.post(
    "/{customer_id}/vehicles", status_code=201, response_model=VehicleOut, dependencies=[WRITE]
)
async def add_vehicle(
    customer_id: str,
    body: VehicleIn,
    principal: CurrentPrincipal,
    crm: CrmDep,
    idem: IdempotencyDep,
) -> Response:
    """Add a vehicle the customer owns (VIN check digit verified; plate optional)."""
    async with crm.uow() as uow:
        if replay := await idem.begin(uow.session, body):
            return replay
        loaded = await customers.load_visible(uow.session, principal, customer_id)
        vehicle = await customers.add_owned_vehicle(
            uow.session,
            crm,
            loaded.customer,
            customers.NewOwnedVehicle(
                vin=body.vin,
                bought=body.bought,
                plate=body.plate,
                model_code=body.model_code,
                store_id=body.store_id,
                purchased_on=body.purchased_on,
            ),
            actor=principal.subject,
            principal=principal,
        )
        out = VehicleOut.of(vehicle)
        response = await idem.complete(
            uow.session, 201, out, headers={"ETag": etag(vehicle.version)}
        )
        await uow.commit()
    return response


@router.patch(
    "/{customer_id}/vehicles/{vehicle_id}", response_model=VehicleOut, dependencies=[WRITE]
)
async def update_vehicle(
    customer_id: str,
    vehicle_id: str,
    body: VehiclePatch,
    expected: IfMatch,
    principal: CurrentPrincipal,
    crm: CrmDep,
    response: Response,
) -> VehicleOut:
    """Correct a vehicle entry (plate, dates, sold…) with `If-Match: "<version>"`."""
    async with crm.uow() as uow:
        loaded = await customers.load_visible(uow.session, principal, customer_id)
        vehicle = await customers.update_owned_vehicle(
            uow.session,
            crm,
            principal,
            loaded.customer,
            vehicle_id,
            body.model_dump(exclude_unset=True),
            expected_version=expected,
        )
        out = VehicleOut.of(vehicle)
        await uow.commit()
    response.headers["ETag"] = etag(out.version)
    return out


# ---- Timeline -----------------------------------------------------------------------------------


@router.get("/{customer_id}/timeline", response_model=Page[TimelineOut], dependencies=[READ])
async def get_timeline(
    customer_id: str,
    principal: CurrentPrincipal,
    crm: CrmDep,
    page: PageQuery,
    kind: Annotated[
        list[Literal["call", "visit", "wechat", "note", "system"]] | None, Query()
    ] = None,
) -> Page[TimelineOut]:
    """The customer's history, newest first, including records merged into them."""
    async with crm.db.session() as session:
        loaded = await customers.load_visible(session, principal, customer_id)
        rows, next_cursor = await paginate(
            session,
            timeline_service.timeline_of(loaded.customer.id, kinds=tuple(kind or ())),
            page,
            order=timeline_service.TIMELINE_ORDER,
            descending=True,
        )
    return Page(items=[TimelineOut.of(e) for e in rows], next_cursor=next_cursor)


def _entry_store(principal: Principal, customer: Customer, wanted: str) -> str:
    if wanted:
        principal.require_store(wanted, what=f"Store {wanted}")
        return wanted
    if principal.sees_store(customer.store_id):
        return customer.store_id
    if len(principal.stores) == 1:
        return principal.stores[0]
    raise InvalidInput(
        "Say which of your stores this contact happened in (store_id).",
        errors=[{"field": "store_id", "rule": "required"}],
    )


@router.post(
    "/{customer_id}/timeline", status_code=201, response_model=TimelineOut, dependencies=[WRITE]
)
async def add_timeline_entry(
    customer_id: str,
    body: TimelineIn,
    principal: CurrentPrincipal,
    crm: CrmDep,
    idem: IdempotencyDep,
) -> Response:
    """Log a call, visit, WeChat conversation or note on the customer's timeline."""
    async with crm.uow() as uow:
        if replay := await idem.begin(uow.session, body):
            return replay
        loaded = await customers.load_visible(uow.session, principal, customer_id)
        entry = await timeline_service.append_entry(
            uow.session,
            crm,
            customer_id=loaded.customer.id,
            store_id=_entry_store(principal, loaded.customer, body.store_id),
            kind=body.kind,
            summary=body.summary,
            actor=principal.subject,
            at=body.at,
            ref=body.ref,
            by_staff=True,
        )
        out = TimelineOut.of(entry)
        response = await idem.complete(uow.session, 201, out)
        await uow.commit()
    return response
