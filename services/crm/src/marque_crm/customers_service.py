"""Customers: the one door for finding or creating a person, used by every intake path
(walk-in, phone, partner portals, imports, gRPC FindOrCreateCustomer).

`find_or_create` is safe under concurrency: the blind indexes of the mobile and ID number are
unique among live customers, so two channels racing with the same person make one row; the loser
of the race reads the winner's row.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from marque.crm.v1 import crm_pb2
from marque.crm.v1 import events_pb2 as cev
from marque_crm.domain.contact import (
    birthday_of,
    check_national_id,
    mask_mobile,
    mask_national_id,
    normalise_mobile,
)
from marque_crm.events import outgoing, timestamp
from marque_crm.models import Customer
from marque_crm.unit_of_work import Crm
from marque_kit.db import write_outbox
from marque_kit.errors import Conflict, InvalidInput, NotFound

SOURCE = "marque/crm"


@dataclass(frozen=True)
class NewCustomer:
    store_id: str
    name: str
    mobile: str
    kind: str = "person"
    national_id: str = ""
    source: str = ""  # the lead channel through which they became known
    owner: str = ""


@dataclass(frozen=True)
class Found:
    customer: Customer
    created: bool


def _check_name(name: str) -> str:
    name = (name or "").strip()
    if not name or len(name) > 200:
        raise InvalidInput(
            "A customer needs a name of 1 to 200 characters.",
            errors=[{"field": "name", "rule": "length"}],
        )
    return name


async def find_or_create(session: AsyncSession, crm: Crm, new: NewCustomer) -> Found:
    """The live customer with this mobile (or ID number), or a new one; never two."""
    if new.kind not in ("person", "company"):
        raise InvalidInput(
            f"Customer kind {new.kind!r} is not person or company.",
            errors=[{"field": "kind", "rule": "enum"}],
        )
    name = _check_name(new.name)
    mobile = normalise_mobile(new.mobile)
    national_id = check_national_id(new.national_id) if new.national_id else ""
    mobile_index = crm.pii.index(mobile, "mobile")
    id_index = crm.pii.index(national_id, "national_id") if national_id else None
    existing = await _live_by_index(session, mobile_index, id_index)
    if existing is not None:
        return Found(existing, created=False)
    customer_id = str(uuid.uuid4())
    values = {
        "id": customer_id,
        "kind": new.kind,
        "name": name,
        "mobile_sealed": crm.pii.seal(mobile, "mobile"),
        "mobile_index": mobile_index,
        "mobile_masked": mask_mobile(mobile),
        "national_id_sealed": crm.pii.seal(national_id, "national_id") if national_id else None,
        "national_id_index": id_index,
        "national_id_masked": mask_national_id(national_id) if national_id else None,
        "birthday": birthday_of(national_id) if national_id else None,
        "store_id": new.store_id,
        "owner": new.owner,
        "source": new.source,
        "updated_at": crm.now(),
    }
    inserted = await session.execute(
        pg_insert(Customer).values(**values).on_conflict_do_nothing().returning(col(Customer.id))
    )
    if inserted.first() is None:
        # Another channel created this person a moment ago: theirs is the one record.
        existing = await _live_by_index(session, mobile_index, id_index)
        if existing is None:
            raise Conflict("The customer is being created by another request; try again.")
        return Found(existing, created=False)
    customer = await session.get(Customer, customer_id)
    assert customer is not None
    await write_outbox(session, [customer_created_event(customer)], source=SOURCE)
    return Found(customer, created=True)


async def _live_by_index(
    session: AsyncSession, mobile_index: str, id_index: str | None
) -> Customer | None:
    clauses = [col(Customer.mobile_index) == mobile_index]
    if id_index:
        clauses.append(col(Customer.national_id_index) == id_index)
    rows = await session.execute(
        select(Customer)
        .where(col(Customer.merged_into).is_(None), or_(*clauses))
        .order_by(col(Customer.created_at))
        .limit(1)
    )
    return rows.scalars().first()


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


def customer_created_event(customer: Customer):  # type: ignore[no-untyped-def]
    channel = f"LEAD_CHANNEL_{customer.source.upper()}" if customer.source else ""
    source = crm_pb2.LeadChannel.Value(channel) if channel in crm_pb2.LeadChannel.keys() else 0  # noqa: SIM118
    return outgoing(
        cev.CustomerCreated(
            occurred_at=timestamp(customer.created_at),
            customer=customer_ref(customer),
            source=source,  # type: ignore[arg-type]
        ),
        "crm.customer.created",
        subject=customer.id,
        store_id=customer.store_id,
        seq=customer.version,
    )
