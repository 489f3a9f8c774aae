"""Customers: the one door for finding or creating a person, used by every intake path
(walk-in, phone, partner portals, imports, gRPC FindOrCreateCustomer), and what staff do with a
customer afterwards: edit the profile, record consent, keep the vehicles owned, merge duplicates.

`find_or_create` is safe under concurrency: the blind indexes of the mobile and ID number are
unique among live customers, so two channels racing with the same person make one row; the loser
of the race reads the winner's row. A merged record's mobile and ID still lead to its survivor.

Who sees a customer (object-level access, answered as 404 otherwise):
- HQ sees every customer;
- a sales consultant sees the customers they own and those with a lead assigned to them;
- everyone else with CRM access (managers, service advisors, partners) sees the customers whose
  preferred store is one of theirs or who have a lead in one of their stores.
Full mobile, national ID and address are shown only to callers holding `pii:read`.

Merging: other parts of CRM whose rows name a customer either read through `lineage_ids`
(every record merged into a survivor) or register a hook with `on_customer_merged`, which runs
inside the merge's transaction.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, or_, select, true, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlmodel import col

from marque.crm.v1 import crm_pb2
from marque.crm.v1 import events_pb2 as cev
from marque_crm import timeline_service
from marque_crm.domain import customers as rules
from marque_crm.domain.contact import (
    birthday_of,
    check_national_id,
    mask_mobile,
    mask_national_id,
    normalise_mobile,
)
from marque_crm.events import outgoing, timestamp
from marque_crm.models import (
    Customer,
    CustomerConsent,
    CustomerMerge,
    Lead,
    OwnedVehicle,
)
from marque_crm.models.customers import lineage_ids
from marque_crm.unit_of_work import Crm
from marque_kit.auth import Principal
from marque_kit.db import OutgoingEvent, write_outbox
from marque_kit.errors import AlreadyExists, Conflict, Forbidden, InvalidInput, NotFound
from marque_kit.http import check_version
from marque_kit.permissions import MANAGER_ROLES

SOURCE = "marque/crm"
PII_READ = "pii:read"
log = logging.getLogger("marque.crm.customers")

# Roles that see a whole store's customers; a sales consultant alone sees only their own book.
STORE_WIDE_ROLES = frozenset(
    {"store_manager", "sales_manager", "service_advisor", "hq_admin", "hq_analyst"}
)


@dataclass(frozen=True)
class NewCustomer:
    store_id: str
    name: str
    mobile: str
    kind: str = "person"
    national_id: str = ""
    source: str = ""  # the lead channel through which they became known
    owner: str = ""
    wechat_id: str = ""
    gender: str = ""
    birthday: date | None = None
    city: str = ""
    address: str = ""
    actor: str = ""  # who created the record (timeline)


@dataclass(frozen=True)
class Found:
    customer: Customer
    created: bool


# ---- Finding and creating -----------------------------------------------------------------------


def _check_kind(kind: str) -> str:
    if kind not in ("person", "company"):
        raise InvalidInput(
            f"Customer kind {kind!r} is not person or company.",
            errors=[{"field": "kind", "rule": "enum"}],
        )
    return kind


async def find_or_create(session: AsyncSession, crm: Crm, new: NewCustomer) -> Found:
    """The live customer with this mobile (or ID number), or a new one; never two."""
    kind = _check_kind(new.kind)
    name = rules.check_name(new.name)
    mobile = normalise_mobile(new.mobile)
    national_id = check_national_id(new.national_id) if new.national_id else ""
    id_birthday = birthday_of(national_id) if national_id else None
    rules.check_birthday(new.birthday, today=crm.today(), national_id_birthday=id_birthday)
    wechat_id = rules.check_wechat_id(new.wechat_id)
    gender = rules.check_gender(new.gender)
    city = rules.check_city(new.city)
    address = rules.check_address(new.address)
    mobile_index = crm.pii.index(mobile, "mobile")
    id_index = crm.pii.index(national_id, "national_id") if national_id else None
    existing = await _known_by_index(session, mobile_index, id_index)
    if existing is not None:
        return Found(existing, created=False)
    customer_id = str(uuid.uuid4())
    now = crm.now()
    values = {
        "id": customer_id,
        "kind": kind,
        "name": name,
        "mobile_sealed": crm.pii.seal(mobile, "mobile"),
        "mobile_index": mobile_index,
        "mobile_masked": mask_mobile(mobile),
        "national_id_sealed": crm.pii.seal(national_id, "national_id") if national_id else None,
        "national_id_index": id_index,
        "national_id_masked": mask_national_id(national_id) if national_id else None,
        "birthday": id_birthday or new.birthday,
        "wechat_id": wechat_id,
        "gender": gender,
        "city": city,
        "address_sealed": crm.pii.seal(address, "address") if address else None,
        "address_masked": rules.mask_address(address),
        "store_id": new.store_id,
        "owner": new.owner,
        "source": new.source,
        "created_at": now,
        "updated_at": now,
    }
    inserted = await session.execute(
        pg_insert(Customer).values(**values).on_conflict_do_nothing().returning(col(Customer.id))
    )
    if inserted.first() is None:
        # Another channel created this person a moment ago: theirs is the one record.
        existing = await _known_by_index(session, mobile_index, id_index)
        if existing is None:
            raise Conflict("The customer is being created by another request; try again.")
        return Found(existing, created=False)
    customer = await session.get(Customer, customer_id)
    assert customer is not None
    await timeline_service.append(
        session,
        crm,
        customer_id=customer.id,
        store_id=customer.store_id,
        kind="system",
        summary=f"Customer record created 建档 (source: {customer.source or 'staff'})",
        actor=new.actor,
        at=now,
        ref=f"customer:{customer.id}",
    )
    await write_outbox(session, [customer_created_event(customer)], source=SOURCE)
    return Found(customer, created=True)


async def _known_by_index(
    session: AsyncSession, mobile_index: str, id_index: str | None
) -> Customer | None:
    """The live customer with this mobile or ID; failing that, the survivor of a tombstone."""
    clauses = [col(Customer.mobile_index) == mobile_index]
    if id_index:
        clauses.append(col(Customer.national_id_index) == id_index)
    rows = await session.execute(
        select(Customer)
        .where(or_(*clauses))
        .order_by(col(Customer.merged_into).is_not(None), col(Customer.created_at))
        .limit(1)
    )
    found = rows.scalars().first()
    if found is None or found.merged_into is None:
        return found
    return await resolve(session, found.id)


async def resolve(session: AsyncSession, customer_id: str) -> Customer:
    """The customer, following merge tombstones to the survivor; NotFound if unknown."""
    seen: set[str] = set()
    current = customer_id
    while current not in seen:
        seen.add(current)
        customer = await session.get(Customer, current)
        if customer is None:
            break
        if customer.merged_into is None:
            return customer
        current = customer.merged_into
    raise NotFound(f"No customer {customer_id}.")


async def lineage(session: AsyncSession, customer_id: str) -> list[str]:
    """This customer's id and the ids of every record merged into it."""
    return list((await session.execute(lineage_ids(customer_id))).scalars().all())


# ---- Who sees whom ------------------------------------------------------------------------------


def sees_only_own_book(principal: Principal) -> bool:
    """A sales consultant (without a store-wide role) sees only their own customers."""
    if principal.is_hq or principal.kind != "user":
        return False
    roles = set(principal.roles)
    return "sales_consultant" in roles and not STORE_WIDE_ROLES & roles


def _has_lead(condition: ColumnElement[bool]) -> ColumnElement[bool]:
    """The (outer) customer, or a record merged into it, has a lead matching `condition`."""
    merged = aliased(Customer)
    return exists(
        select(col(Lead.id)).where(
            condition,
            or_(
                col(Lead.customer_id) == col(Customer.id),
                col(Lead.customer_id).in_(
                    select(col(merged.id))
                    .where(col(merged.merged_into) == col(Customer.id))
                    .correlate(Customer)
                ),
            ),
        )
    )


def visible_to(principal: Principal) -> ColumnElement[bool]:
    """The condition, over `Customer`, of the customers this caller may see."""
    if principal.is_hq:
        return true()
    stores = list(principal.stores)
    in_stores = col(Lead.store_id).in_(stores)
    if sees_only_own_book(principal):
        return or_(
            col(Customer.owner) == principal.subject,
            _has_lead(and_(col(Lead.assigned_to) == principal.subject, in_stores)),
        )
    return or_(col(Customer.store_id).in_(stores), _has_lead(in_stores))


def in_store_by_lead(store_id: str) -> ColumnElement[bool]:
    """The (outer) customer has a lead in this store."""
    return _has_lead(col(Lead.store_id) == store_id)


async def is_visible(session: AsyncSession, principal: Principal, customer_id: str) -> bool:
    if principal.is_hq:
        return True
    found = await session.execute(
        select(col(Customer.id)).where(col(Customer.id) == customer_id, visible_to(principal))
    )
    return found.first() is not None


@dataclass(frozen=True)
class Loaded:
    customer: Customer  # the live record (the survivor when a merged id was asked for)
    merged_from: str | None  # the id asked for, when it was merged into `customer`


async def load_visible(
    session: AsyncSession, principal: Principal, customer_id: str, *, for_update: bool = False
) -> Loaded:
    """The live customer for this id (following tombstones), or 404 if the caller may not see it."""
    not_found = NotFound(f"Customer {customer_id} was not found among your customers.")
    try:
        customer = await resolve(session, customer_id)
    except NotFound:
        raise not_found from None
    if not await is_visible(session, principal, customer.id):
        raise not_found
    if for_update:
        customer = await _lock(session, customer.id)
        if customer.merged_into is not None:
            raise Conflict(f"Customer {customer.id} was merged a moment ago; reload it.")
    return Loaded(customer, customer_id if customer.id != customer_id else None)


async def _lock(session: AsyncSession, customer_id: str) -> Customer:
    row = await session.execute(
        select(Customer)
        .where(col(Customer.id) == customer_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return row.scalars().one()


# ---- What a caller is shown ---------------------------------------------------------------------


@dataclass(frozen=True)
class CustomerView:
    """A customer as one caller may see it: PII in full with `pii:read`, masked otherwise."""

    customer: Customer
    mobile: str
    national_id: str | None
    address: str
    pii: str  # full | masked


def view_of(
    crm: Crm, customer: Customer, principal: Principal, *, visible: bool = True
) -> CustomerView:
    """Unseal the PII for callers with `pii:read` who may see the customer; mask it otherwise."""
    if visible and principal.can(PII_READ):
        log.info(
            "customer PII revealed",
            extra={"customer_id": customer.id, "principal": principal.label()},
        )
        return CustomerView(
            customer=customer,
            mobile=crm.pii.unseal(customer.mobile_sealed, "mobile"),
            national_id=(
                crm.pii.unseal(customer.national_id_sealed, "national_id")
                if customer.national_id_sealed
                else None
            ),
            address=(
                crm.pii.unseal(customer.address_sealed, "address")
                if customer.address_sealed
                else ""
            ),
            pii="full",
        )
    return CustomerView(
        customer=customer,
        mobile=customer.mobile_masked,
        national_id=customer.national_id_masked,
        address=customer.address_masked,
        pii="masked",
    )


# ---- Editing the profile ------------------------------------------------------------------------

PROFILE_FIELDS = (
    "name",
    "mobile",
    "national_id",
    "wechat_id",
    "gender",
    "birthday",
    "city",
    "address",
    "store_id",
    "owner",
)


def may_manage(principal: Principal) -> bool:
    """Managers (sales manager, store manager) and HQ administrators."""
    return principal.is_hq or bool(MANAGER_ROLES.intersection(principal.roles))


async def update_profile(
    session: AsyncSession,
    crm: Crm,
    principal: Principal,
    customer_id: str,
    changes: Mapping[str, Any],
    *,
    expected_version: int,
) -> Customer:
    """Apply the given profile fields (others untouched); 412 when `expected_version` is stale.

    A new mobile or ID number that belongs to another customer is a 409, naming that customer
    when the caller may see them. Changing the owner is for managers.
    """
    unknown = sorted(set(changes) - set(PROFILE_FIELDS))
    if unknown:
        raise InvalidInput(
            f"These fields cannot be changed here: {', '.join(unknown)}.",
            errors=[{"field": f, "rule": "read_only"} for f in unknown],
        )
    loaded = await load_visible(session, principal, customer_id, for_update=True)
    customer = loaded.customer
    check_version(customer.version, expected_version)
    if "name" in changes:
        customer.name = rules.check_name(changes["name"] or "")
    if "wechat_id" in changes:
        customer.wechat_id = rules.check_wechat_id(changes["wechat_id"] or "")
    if "gender" in changes:
        customer.gender = rules.check_gender(changes["gender"] or "")
    if "city" in changes:
        customer.city = rules.check_city(changes["city"] or "")
    if "address" in changes:
        address = rules.check_address(changes["address"] or "")
        customer.address_sealed = crm.pii.seal(address, "address") if address else None
        customer.address_masked = rules.mask_address(address)
    if "store_id" in changes:
        store_id = (changes["store_id"] or "").strip()
        if not store_id:
            raise InvalidInput(
                "A customer's preferred store cannot be empty.",
                errors=[{"field": "store_id", "rule": "required"}],
            )
        principal.require_store(store_id, what=f"Store {store_id}")
        customer.store_id = store_id
    if "owner" in changes and (changes["owner"] or "") != customer.owner:
        if not may_manage(principal):
            raise Forbidden("Only a sales manager or store manager can change a customer's owner.")
        customer.owner = (changes["owner"] or "").strip()
    if "mobile" in changes:
        await _change_mobile(session, crm, principal, customer, changes["mobile"] or "")
    if "national_id" in changes:
        await _change_national_id(session, crm, principal, customer, changes["national_id"] or "")
    id_birthday = (
        birthday_of(crm.pii.unseal(customer.national_id_sealed, "national_id"))
        if customer.national_id_sealed
        else None
    )
    if "birthday" in changes:
        customer.birthday = changes["birthday"]
    # The ID's birth date is the birthday: it fills a blank and follows a new ID number.
    follows_new_id = "national_id" in changes and "birthday" not in changes
    if id_birthday is not None and (customer.birthday is None or follows_new_id):
        customer.birthday = id_birthday
    rules.check_birthday(customer.birthday, today=crm.today(), national_id_birthday=id_birthday)
    customer.version += 1
    customer.updated_at = crm.now()
    try:
        await session.flush()
    except IntegrityError:
        raise AlreadyExists(
            "Another customer took this mobile or ID number a moment ago; reload and re-check."
        ) from None
    return customer


async def _change_mobile(
    session: AsyncSession, crm: Crm, principal: Principal, customer: Customer, raw: str
) -> None:
    mobile = normalise_mobile(raw)
    index = crm.pii.index(mobile, "mobile")
    if index == customer.mobile_index:
        return
    await _refuse_duplicate(
        session, principal, customer, col(Customer.mobile_index), index, "mobile"
    )
    customer.mobile_sealed = crm.pii.seal(mobile, "mobile")
    customer.mobile_index = index
    customer.mobile_masked = mask_mobile(mobile)


async def _change_national_id(
    session: AsyncSession, crm: Crm, principal: Principal, customer: Customer, raw: str
) -> None:
    if not raw.strip():
        customer.national_id_sealed = None
        customer.national_id_index = None
        customer.national_id_masked = None
        return
    national_id = check_national_id(raw)
    index = crm.pii.index(national_id, "national_id")
    if index == customer.national_id_index:
        return
    await _refuse_duplicate(
        session, principal, customer, col(Customer.national_id_index), index, "national_id"
    )
    customer.national_id_sealed = crm.pii.seal(national_id, "national_id")
    customer.national_id_index = index
    customer.national_id_masked = mask_national_id(national_id)


async def _refuse_duplicate(
    session: AsyncSession,
    principal: Principal,
    customer: Customer,
    column: Any,
    index: str,
    field: str,
) -> None:
    """409 if another person (live, or merged into someone else) already has this number."""
    what = "mobile number" if field == "mobile" else "national ID number"
    rows = await session.execute(select(Customer).where(column == index))
    for other in rows.scalars().all():
        holder = other if other.merged_into is None else await resolve(session, other.id)
        if holder.id == customer.id:
            continue
        if await is_visible(session, principal, holder.id):
            raise AlreadyExists(
                f"This {what} already belongs to customer {holder.id} ({holder.name}). If they "
                "are the same person, ask a manager to merge the two records.",
                errors=[{"field": field, "rule": "unique", "customer_id": holder.id}],
                existing_customer_id=holder.id,
            )
        raise AlreadyExists(
            f"This {what} already belongs to another customer of the group.",
            errors=[{"field": field, "rule": "unique"}],
        )


# ---- Merging duplicates -------------------------------------------------------------------------


@dataclass(frozen=True)
class MergeFacts:
    """What a merge hook learns: the duplicate `merged_id` now lives on as `survivor_id`."""

    survivor_id: str
    merged_id: str
    store_id: str
    actor: str
    at: datetime


MergeHook = Callable[[AsyncSession, MergeFacts], Awaitable[Any]]
_merge_hooks: list[MergeHook] = []


def on_customer_merged(hook: MergeHook) -> MergeHook:
    """Register `hook` to run inside every merge's transaction (e.g. re-point tasks)."""
    if hook not in _merge_hooks:
        _merge_hooks.append(hook)
    return hook


@dataclass(frozen=True)
class MergeOutcome:
    survivor: Customer
    merged: Customer
    log: CustomerMerge


def _side(customer: Customer) -> rules.MergeSide:
    return rules.MergeSide(
        id=customer.id,
        kind=customer.kind,
        live=customer.merged_into is None,
        national_id_index=customer.national_id_index,
        wechat_id=customer.wechat_id,
        gender=customer.gender,
        birthday=customer.birthday,
        city=customer.city,
        has_address=bool(customer.address_sealed),
        owner=customer.owner,
    )


async def merge_customers(
    session: AsyncSession,
    crm: Crm,
    principal: Principal,
    *,
    survivor_id: str,
    merged_id: str,
    reason: str = "",
) -> MergeOutcome:
    """Merge the duplicate `merged_id` into `survivor_id` (managers only), in one transaction."""
    if not may_manage(principal):
        raise Forbidden(
            "Only a sales manager, a store manager or HQ can merge customers; ask your manager."
        )
    if survivor_id == merged_id:
        rules.check_merge(
            rules.MergeSide(survivor_id, "", True), rules.MergeSide(merged_id, "", True)
        )
    # Lock both in id order, so two merges of the same pair cannot deadlock.
    rows = await session.execute(
        select(Customer)
        .where(col(Customer.id).in_([survivor_id, merged_id]))
        .order_by(col(Customer.id))
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    by_id = {c.id: c for c in rows.scalars().all()}
    for wanted in (survivor_id, merged_id):
        if wanted not in by_id or not await is_visible(session, principal, wanted):
            raise NotFound(f"Customer {wanted} was not found among your customers.")
    survivor, merged = by_id[survivor_id], by_id[merged_id]
    rules.check_merge(_side(survivor), _side(merged))
    fill = rules.profile_fill(_side(survivor), _side(merged))
    now = crm.now()

    # The duplicate becomes a tombstone first, so its mobile/ID leave the live unique indexes.
    merged.merged_into = survivor.id
    merged.version += 1
    merged.updated_at = now
    await session.flush()
    await session.execute(
        update(Customer)
        .where(col(Customer.merged_into) == merged.id)
        .values(merged_into=survivor.id, updated_at=now)
    )
    filled = _fill_profile(survivor, merged, fill)
    survivor.version += 1
    survivor.updated_at = now
    await session.flush()

    moved: dict[str, Any] = {"profile_filled": filled}
    moved.update(await _move_vehicles(session, survivor.id, merged.id, now, principal.subject))
    consents = await session.execute(
        update(CustomerConsent)
        .where(col(CustomerConsent.customer_id) == merged.id)
        .values(customer_id=survivor.id)
    )
    moved["consents_moved"] = int(getattr(consents, "rowcount", 0) or 0)
    facts = MergeFacts(survivor.id, merged.id, survivor.store_id, principal.subject, now)
    for hook in list(_merge_hooks):
        await hook(session, facts)
    entry = CustomerMerge(
        id=str(uuid.uuid4()),
        survivor_id=survivor.id,
        merged_id=merged.id,
        store_id=survivor.store_id,
        actor=principal.subject,
        reason=reason.strip()[:500],
        moved=moved,
        at=now,
    )
    session.add(entry)
    await timeline_service.append(
        session,
        crm,
        customer_id=survivor.id,
        store_id=survivor.store_id,
        kind="system",
        summary=f"Duplicate record {merged.name} ({merged.id}) merged into this customer 合并客户"
        + (f": {entry.reason}" if entry.reason else ""),
        actor=principal.subject,
        at=now,
        ref=f"customer:{merged.id}",
    )
    await session.flush()
    await write_outbox(session, [customer_merged_event(entry, merged)], source=SOURCE)
    return MergeOutcome(survivor, merged, entry)


def _fill_profile(survivor: Customer, merged: Customer, fill: rules.ProfileFill) -> list[str]:
    filled: list[str] = []
    if fill.national_id:
        survivor.national_id_sealed = merged.national_id_sealed
        survivor.national_id_index = merged.national_id_index
        survivor.national_id_masked = merged.national_id_masked
        filled.append("national_id")
    if fill.address:
        survivor.address_sealed = merged.address_sealed
        survivor.address_masked = merged.address_masked
        filled.append("address")
    for name in ("wechat_id", "gender", "birthday", "city", "owner"):
        if getattr(fill, name):
            setattr(survivor, name, getattr(merged, name))
            filled.append(name)
    return filled


def _car(row: OwnedVehicle) -> rules.OwnedCar:
    return rules.OwnedCar(row.id, row.vin, row.plate, row.model_code, row.purchased_on)


async def _move_vehicles(
    session: AsyncSession, survivor_id: str, merged_id: str, now: datetime, actor: str
) -> dict[str, int]:
    rows = await session.execute(
        select(OwnedVehicle).where(col(OwnedVehicle.customer_id).in_([survivor_id, merged_id]))
    )
    cars = list(rows.scalars().all())
    by_id = {car.id: car for car in cars}
    plan = rules.plan_vehicle_move(
        [_car(c) for c in cars if c.customer_id == survivor_id],
        [_car(c) for c in cars if c.customer_id == merged_id],
    )
    for merged_row_id, kept_id, filled in plan.collapse:
        await session.delete(by_id[merged_row_id])
        kept = by_id[kept_id]
        kept.plate, kept.model_code = filled.plate, filled.model_code
        kept.purchased_on = filled.purchased_on
        kept.version += 1
        kept.updated_at, kept.updated_by = now, actor
    await session.flush()
    if plan.move:
        await session.execute(
            update(OwnedVehicle)
            .where(col(OwnedVehicle.id).in_(plan.move))
            .values(customer_id=survivor_id, updated_at=now, updated_by=actor)
        )
    return {"vehicles_moved": len(plan.move), "vehicles_collapsed": len(plan.collapse)}


# ---- Marketing consent (PIPL) -------------------------------------------------------------------


def _statement(row: CustomerConsent) -> rules.ConsentStatement:
    assert row.at is not None
    return rules.ConsentStatement(
        row.channel, row.granted, row.source, row.at, row.recorded_by, row.id or 0
    )


async def consent_history(session: AsyncSession, customer_id: str) -> list[CustomerConsent]:
    """Every statement of the customer (and of records merged into it), newest first."""
    rows = await session.execute(
        select(CustomerConsent)
        .where(col(CustomerConsent.customer_id).in_(lineage_ids(customer_id)))
        .order_by(col(CustomerConsent.at).desc(), col(CustomerConsent.id).desc())
    )
    return list(rows.scalars().all())


def standing_consents(history: Sequence[CustomerConsent]) -> dict[str, rules.ConsentState]:
    return rules.current_consents(_statement(row) for row in history)


async def record_consent(
    session: AsyncSession,
    crm: Crm,
    principal: Principal,
    customer: Customer,
    *,
    channel: str,
    granted: bool,
    source: str,
    at: datetime | None = None,
    store_id: str = "",
) -> CustomerConsent:
    """Record a grant or withdrawal; the latest statement per channel is the standing consent."""
    now = crm.now()
    if at is not None and at.tzinfo is None:
        raise InvalidInput(
            "The time of a consent statement needs its time zone, e.g. 2026-03-02T10:30:00+08:00.",
            errors=[{"field": "at", "rule": "timezone"}],
        )
    when = at or now
    channel, source = rules.check_consent(channel, source, when, now=now)
    row = CustomerConsent(
        customer_id=customer.id,
        given_by=customer.id,
        channel=channel,
        granted=granted,
        source=source,
        at=when,
        store_id=store_id,
        recorded_by=principal.subject,
        recorded_at=now,
    )
    session.add(row)
    await session.flush()
    await timeline_service.append(
        session,
        crm,
        customer_id=customer.id,
        store_id=store_id or customer.store_id,
        kind="system",
        summary=f"Marketing consent for {channel} {'granted' if granted else 'withdrawn'} "
        f"{'同意' if granted else '撤回'} (source: {source})",
        actor=principal.subject,
        at=when,
        ref=f"consent:{row.id}",
    )
    return row


async def consenting_customers(
    session: AsyncSession, customer_ids: Sequence[str], channel: str
) -> set[str]:
    """Which of these (live) customers stand consented to marketing on `channel` right now."""
    if not customer_ids:
        return set()
    rows = await session.execute(
        select(CustomerConsent).where(
            col(CustomerConsent.customer_id).in_(list(customer_ids)),
            col(CustomerConsent.channel) == channel,
        )
    )
    by_customer: dict[str, list[CustomerConsent]] = {}
    for row in rows.scalars().all():
        by_customer.setdefault(row.customer_id, []).append(row)
    return {
        cid for cid, history in by_customer.items() if standing_consents(history)[channel].granted
    }


# ---- Vehicles owned -----------------------------------------------------------------------------


@dataclass(frozen=True)
class NewOwnedVehicle:
    vin: str
    bought: str
    plate: str = ""
    model_code: str = ""
    store_id: str = ""  # the selling store when bought here
    purchased_on: date | None = None
    source: str = "manual"  # manual | sales_delivery | aftersales


def _check_vehicle_store(principal: Principal | None, bought: str, store_id: str) -> str:
    store_id = (store_id or "").strip()
    if bought == "elsewhere":
        return ""
    if not store_id:
        raise InvalidInput(
            "A vehicle bought here needs the store that sold it (store_id).",
            errors=[{"field": "store_id", "rule": "required"}],
        )
    if principal is not None:
        principal.require_store(store_id, what=f"Store {store_id}")
    return store_id


async def add_owned_vehicle(
    session: AsyncSession,
    crm: Crm,
    customer: Customer,
    new: NewOwnedVehicle,
    *,
    actor: str,
    principal: Principal | None = None,
) -> OwnedVehicle:
    """Record a vehicle the customer owns; 409 if this VIN is already on their list."""
    vin = rules.check_vin(new.vin)
    bought = rules.check_bought(new.bought)
    plate = rules.normalise_plate(new.plate)
    rules.check_ownership_dates(new.purchased_on, None, today=crm.today())
    store_id = _check_vehicle_store(principal, bought, new.store_id)
    now = crm.now()
    vehicle_id = str(uuid.uuid4())
    inserted = await session.execute(
        pg_insert(OwnedVehicle)
        .values(
            id=vehicle_id,
            customer_id=customer.id,
            vin=vin,
            plate=plate,
            model_code=new.model_code.strip()[:60],
            bought=bought,
            store_id=store_id,
            purchased_on=new.purchased_on,
            source=new.source,
            created_at=now,
            updated_at=now,
            updated_by=actor,
        )
        .on_conflict_do_nothing()
        .returning(col(OwnedVehicle.id))
    )
    if inserted.first() is None:
        raise AlreadyExists(
            f"VIN {vin} is already on this customer's vehicles; edit that entry instead.",
            errors=[{"field": "vin", "rule": "unique"}],
        )
    vehicle = await session.get(OwnedVehicle, vehicle_id)
    assert vehicle is not None
    await timeline_service.append(
        session,
        crm,
        customer_id=customer.id,
        store_id=store_id or customer.store_id,
        kind="system",
        summary=f"Vehicle {vin}{' ' + plate if plate else ''} added to vehicles owned "
        f"(bought {bought})",
        actor=actor,
        at=now,
        ref=f"vehicle:{vin}",
    )
    return vehicle


VEHICLE_FIELDS = ("vin", "plate", "model_code", "bought", "store_id", "purchased_on", "sold_on")


async def update_owned_vehicle(
    session: AsyncSession,
    crm: Crm,
    principal: Principal,
    customer: Customer,
    vehicle_id: str,
    changes: Mapping[str, Any],
    *,
    expected_version: int,
) -> OwnedVehicle:
    unknown = sorted(set(changes) - set(VEHICLE_FIELDS))
    if unknown:
        raise InvalidInput(
            f"These fields cannot be changed here: {', '.join(unknown)}.",
            errors=[{"field": f, "rule": "read_only"} for f in unknown],
        )
    row = await session.execute(
        select(OwnedVehicle)
        .where(
            col(OwnedVehicle.id) == vehicle_id,
            col(OwnedVehicle.customer_id).in_(lineage_ids(customer.id)),
        )
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    vehicle = row.scalars().first()
    if vehicle is None:
        raise NotFound(f"Vehicle {vehicle_id} is not among this customer's vehicles.")
    check_version(vehicle.version, expected_version)
    if "vin" in changes:
        vehicle.vin = rules.check_vin(changes["vin"] or "")
    if "plate" in changes:
        vehicle.plate = rules.normalise_plate(changes["plate"] or "")
    if "model_code" in changes:
        vehicle.model_code = (changes["model_code"] or "").strip()[:60]
    if "bought" in changes:
        vehicle.bought = rules.check_bought(changes["bought"] or "")
    if "store_id" in changes or "bought" in changes:
        store_id = changes.get("store_id", vehicle.store_id)
        vehicle.store_id = _check_vehicle_store(principal, vehicle.bought, store_id or "")
    if "purchased_on" in changes:
        vehicle.purchased_on = changes["purchased_on"]
    if "sold_on" in changes:
        vehicle.sold_on = changes["sold_on"]
    rules.check_ownership_dates(vehicle.purchased_on, vehicle.sold_on, today=crm.today())
    vehicle.version += 1
    vehicle.updated_at = crm.now()
    vehicle.updated_by = principal.subject
    try:
        await session.flush()
    except IntegrityError:
        raise AlreadyExists(
            f"VIN {vehicle.vin} is already on this customer's vehicles.",
            errors=[{"field": "vin", "rule": "unique"}],
        ) from None
    return vehicle


def vehicles_of(customer_id: str) -> Any:
    return select(OwnedVehicle).where(col(OwnedVehicle.customer_id).in_(lineage_ids(customer_id)))


# ---- Events -------------------------------------------------------------------------------------


def customer_ref(customer: Customer) -> crm_pb2.CustomerRef:
    return crm_pb2.CustomerRef(
        customer_id=customer.id,
        kind=crm_pb2.CUSTOMER_KIND_COMPANY
        if customer.kind == "company"
        else crm_pb2.CUSTOMER_KIND_PERSON,
        name=customer.name,
        mobile_masked=customer.mobile_masked,
        store_id=customer.store_id,
        owner=customer.owner,
    )


def lead_channel(name: str) -> int:
    """`walk_in` -> LEAD_CHANNEL_WALK_IN (0 when unknown)."""
    channel = f"LEAD_CHANNEL_{name.upper()}" if name else ""
    return crm_pb2.LeadChannel.Value(channel) if channel in crm_pb2.LeadChannel.keys() else 0  # noqa: SIM118


def customer_created_event(customer: Customer) -> OutgoingEvent:
    return outgoing(
        cev.CustomerCreated(
            occurred_at=timestamp(customer.created_at),
            customer=customer_ref(customer),
            source=lead_channel(customer.source),  # type: ignore[arg-type]
        ),
        "crm.customer.created",
        subject=customer.id,
        store_id=customer.store_id,
        seq=customer.version,
    )


def customer_merged_event(entry: CustomerMerge, merged: Customer) -> OutgoingEvent:
    return outgoing(
        cev.CustomerMerged(
            occurred_at=timestamp(entry.at),
            survivor_customer_id=entry.survivor_id,
            merged_customer_id=entry.merged_id,
            store_id=entry.store_id,
            actor=entry.actor,
        ),
        "crm.customer.merged",
        subject=entry.merged_id,
        store_id=entry.store_id,
        seq=merged.version,
    )
