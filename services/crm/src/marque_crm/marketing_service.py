"""Tags, auto-tag rules, segments and campaigns: storage, queries and sending.

The rules live in `domain/tags.py` and `domain/campaigns.py`; this module finds the facts in the
database, applies the rules and keeps the results.

Sending a campaign (`send_campaign`) runs in three steps so that no transaction stays open while
messages go out:
1. Decide, in one transaction under a group-wide lock (so two campaigns cannot both slip under a
   customer's frequency cap): every customer the segment matches gets a recipient row, claimed
   once (primary key campaign + customer). Those to message are claimed `sending` and logged in
   `marketing_sends` (the frequency-cap log) before any message leaves.
2. Send through the channel's provider, a few at a time, outside any transaction.
3. Record each answer (`sent` / `failed`); a failed message is taken out of the cap log, and a
   sent one is written to the customer's timeline.

A resend only reaches customers never claimed, customers excluded before who can now be reached
(consent granted since, cap window passed) and failures the provider called temporary (5xx, no
answer), resent with the same ref so the vendor can drop a duplicate. `sent` is final.
Campaigns with `scheduled_at` are sent by the `campaign_scheduler` job when their time comes.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    and_,
    delete,
    exists,
    false,
    func,
    literal,
    or_,
    select,
    text,
    true,
    update,
)
from sqlalchemy.dialects.postgresql import array as pg_array
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlmodel import col

from marque_crm import customers_service, timeline_service
from marque_crm.customers_service import resolve
from marque_crm.domain import campaigns as rules
from marque_crm.domain import tags as tag_rules
from marque_crm.domain.tags import (
    AUTO_TAGS,
    SegmentFilter,
    TagRuleParams,
    applicable_rules,
    check_colour,
    check_tag_name,
    parse_segment_filter,
    reconcile,
)
from marque_crm.models import (
    Campaign,
    CampaignRecipient,
    Customer,
    CustomerConsent,
    CustomerFacts,
    CustomerTag,
    Lead,
    LeadTransition,
    MarketingSend,
    OwnedVehicle,
    Segment,
    Tag,
    TagRuleConfig,
    TimelineEntry,
)
from marque_crm.notify import OutboundMessage, Provider, provider_for
from marque_crm.unit_of_work import Crm
from marque_kit.auth import Principal
from marque_kit.errors import AlreadyExists, Conflict, Forbidden, InvalidInput, NotFound
from marque_kit.http import check_version

log = logging.getLogger("marque.crm.campaigns")

SYSTEM = "system:campaigns"
RULES_ACTOR = "system:tag-rules"
# Messages in flight at once, and recipients recorded per transaction, while sending.
SEND_CONCURRENCY = 8
SEND_CHUNK = 200
_INSERT_BATCH = 1000
# Group-wide advisory locks (pg_advisory_xact_lock keys).
_MARKETING_LOCK = "crm.marketing.decide"
_RULES_LOCK = "crm.tags.rules"


async def _lock(session: AsyncSession, name: str) -> None:
    await session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:n))"), {"n": name})


def _batches(rows: Sequence[Any], size: int = _INSERT_BATCH) -> Iterable[Sequence[Any]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


# ---- who sees which customer --------------------------------------------------------------------


def in_stores(stores: Sequence[str]) -> ColumnElement[bool]:
    """A customer belongs to a store's book when it is their preferred store or they (or a record
    merged into them) have a lead there."""
    return or_(
        col(Customer.store_id).in_(stores), *(customers_service.in_store_by_lead(s) for s in stores)
    )


async def visible_customer(
    session: AsyncSession, principal: Principal, customer_id: str
) -> Customer:
    """The live customer, if the caller may see them (a consultant: their own book), else 404."""
    return (await customers_service.load_visible(session, principal, customer_id)).customer


# ---- tags ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewTag:
    name: str
    colour: str = ""
    store_id: str = ""  # "" : a group tag (HQ only)
    description: str = ""


def tag_visible(principal: Principal) -> ColumnElement[bool]:
    """Group tags and the tags of the caller's stores."""
    stores = principal.store_filter()
    if stores is None:
        return true()
    return or_(col(Tag.store_id) == "", col(Tag.store_id).in_(stores))


async def get_tag(
    session: AsyncSession, principal: Principal, tag_id: str, *, lock: bool = False
) -> Tag:
    stmt = select(Tag).where(col(Tag.id) == tag_id, tag_visible(principal))
    if lock:
        stmt = stmt.with_for_update()
    tag = (await session.execute(stmt)).scalars().first()
    if tag is None:
        raise NotFound(f"No tag {tag_id} among the tags you can see.")
    return tag


def list_tags_query(principal: Principal, *, kind: str | None, store_id: str | None) -> Select[Any]:
    stmt = select(Tag).where(tag_visible(principal))
    if kind:
        stmt = stmt.where(col(Tag.kind) == kind)
    if store_id is not None:
        stmt = stmt.where(col(Tag.store_id) == store_id)
    return stmt


def _may_edit_tag_scope(principal: Principal, store_id: str) -> None:
    if store_id == "":
        if not principal.is_hq:
            raise Forbidden(
                "Group tags (no store) are managed by HQ; create the tag for your store instead."
            )
    else:
        principal.require_store(store_id, what=f"Store {store_id}")


async def _name_taken(session: AsyncSession, name: str, store_id: str, but: str = "") -> bool:
    """A name already used by a group tag or by the same store's tags."""
    stmt = select(literal(1)).where(
        func.lower(col(Tag.name)) == name.lower(),
        or_(col(Tag.store_id) == "", col(Tag.store_id) == store_id),
        col(Tag.id) != but,
    )
    return (await session.execute(stmt)).first() is not None


async def create_tag(session: AsyncSession, crm: Crm, principal: Principal, new: NewTag) -> Tag:
    name = check_tag_name(new.name)
    colour = check_colour(new.colour)
    store_id = (new.store_id or "").strip()
    _may_edit_tag_scope(principal, store_id)
    if await _name_taken(session, name, store_id):
        raise AlreadyExists(f"A tag named {name!r} already exists; use it or pick another name.")
    tag_id = str(uuid.uuid4())
    inserted = await session.execute(
        pg_insert(Tag)
        .values(
            id=tag_id,
            store_id=store_id,
            name=name,
            colour=colour,
            kind="manual",
            rule="",
            description=(new.description or "").strip()[:200],
            created_by=principal.subject,
            updated_at=crm.now(),
        )
        .on_conflict_do_nothing()
        .returning(col(Tag.id))
    )
    if inserted.first() is None:
        raise AlreadyExists(f"A tag named {name!r} already exists; use it or pick another name.")
    tag = await session.get(Tag, tag_id)
    assert tag is not None
    return tag


async def update_tag(
    session: AsyncSession,
    crm: Crm,
    principal: Principal,
    tag_id: str,
    expected_version: int,
    *,
    name: str | None = None,
    colour: str | None = None,
    description: str | None = None,
) -> Tag:
    tag = await get_tag(session, principal, tag_id, lock=True)
    _may_edit_tag_scope(principal, tag.store_id)
    check_version(tag.version, expected_version)
    if name is not None:
        new_name = check_tag_name(name)
        if tag.kind == "auto" and new_name != tag.name:
            raise Conflict(f"{tag.name!r} is kept by the {tag.rule} rule; its name cannot change.")
        if await _name_taken(session, new_name, tag.store_id, but=tag.id):
            raise AlreadyExists(f"A tag named {new_name!r} already exists; pick another name.")
        tag.name = new_name
    if colour is not None:
        tag.colour = check_colour(colour)
    if description is not None:
        tag.description = description.strip()[:200]
    tag.version += 1
    tag.updated_at = crm.now()
    await session.flush()
    return tag


async def delete_tag(session: AsyncSession, principal: Principal, tag_id: str) -> None:
    """A manual tag goes, and with it every customer's use of it; auto tags stay (409)."""
    tag = await get_tag(session, principal, tag_id, lock=True)
    _may_edit_tag_scope(principal, tag.store_id)
    if tag.kind == "auto":
        raise Conflict(
            f"{tag.name!r} is kept by the {tag.rule} rule; switch the rule off instead of "
            "deleting its tag."
        )
    in_use = await session.execute(
        select(col(Segment.id)).where(
            or_(
                col(Segment.spec)["tags_all"].contains([tag.id]),
                col(Segment.spec)["tags_any"].contains([tag.id]),
            )
        )
    )
    if (segment_id := in_use.scalars().first()) is not None:
        raise Conflict(f"Segment {segment_id} filters on {tag.name!r}; change that segment first.")
    await session.execute(delete(CustomerTag).where(col(CustomerTag.tag_id) == tag.id))
    await session.delete(tag)
    await session.flush()


@dataclass(frozen=True)
class TagOnCustomer:
    tag: Tag
    link: CustomerTag


async def customer_tags(
    session: AsyncSession, principal: Principal, customer_id: str
) -> list[TagOnCustomer]:
    customer = await visible_customer(session, principal, customer_id)
    rows = await session.execute(
        select(Tag, CustomerTag)
        .join(CustomerTag, col(CustomerTag.tag_id) == col(Tag.id))
        .where(col(CustomerTag.customer_id) == customer.id, tag_visible(principal))
        .order_by(col(Tag.name))
    )
    return [TagOnCustomer(tag, link) for tag, link in rows.all()]


async def tag_customer(
    session: AsyncSession, crm: Crm, principal: Principal, customer_id: str, tag_id: str
) -> tuple[TagOnCustomer, bool]:
    """Put a manual tag on a customer (again: nothing changes). Returns (the tag, added now)."""
    customer = await visible_customer(session, principal, customer_id)
    tag = await get_tag(session, principal, tag_id)
    if tag.kind == "auto":
        raise Conflict(f"{tag.name!r} is put on and taken off by its rule, not by hand.")
    inserted = await session.execute(
        pg_insert(CustomerTag)
        .values(
            customer_id=customer.id,
            tag_id=tag.id,
            source="manual",
            at=crm.now(),
            by=principal.subject,
        )
        .on_conflict_do_nothing()
        .returning(col(CustomerTag.tag_id))
    )
    added = inserted.first() is not None
    link = await session.get(CustomerTag, (customer.id, tag.id))
    assert link is not None
    return TagOnCustomer(tag, link), added


async def untag_customer(
    session: AsyncSession, principal: Principal, customer_id: str, tag_id: str
) -> None:
    customer = await visible_customer(session, principal, customer_id)
    tag = await get_tag(session, principal, tag_id)
    link = await session.get(CustomerTag, (customer.id, tag.id), with_for_update=True)
    if link is None:
        raise NotFound(f"Customer {customer_id} does not carry the tag {tag.name!r}.")
    if link.source == "rule":
        raise Conflict(
            f"{tag.name!r} was put on by its rule and comes off when the rule no longer applies."
        )
    await session.delete(link)
    await session.flush()


# ---- auto-tag rules -----------------------------------------------------------------------------


async def rule_config(session: AsyncSession) -> tuple[TagRuleParams, int]:
    """The group's auto-tag parameters and their version (0: never changed, the defaults)."""
    row = await session.get(TagRuleConfig, "group")
    if row is None:
        return TagRuleParams(), 0
    return (
        TagRuleParams(
            vip_lifetime_spend_fen=row.vip_lifetime_spend_fen,
            churn_months=row.churn_months,
            enabled=tuple(row.enabled),
        ),
        row.version,
    )


async def set_rule_config(
    session: AsyncSession,
    crm: Crm,
    principal: Principal,
    params: TagRuleParams,
    expected_version: int,
) -> tuple[TagRuleParams, int]:
    """HQ sets the group's parameters (If-Match: the version read; "0" before the first change)."""
    if not principal.is_hq:
        raise Forbidden("The auto-tag parameters are the same for the whole group; HQ sets them.")
    await session.execute(
        pg_insert(TagRuleConfig)
        .values(
            id="group",
            vip_lifetime_spend_fen=TagRuleParams().vip_lifetime_spend_fen,
            churn_months=TagRuleParams().churn_months,
            enabled=list(TagRuleParams().enabled),
            version=0,
        )
        .on_conflict_do_nothing()
    )
    row = await session.get(TagRuleConfig, "group", with_for_update=True)
    assert row is not None
    check_version(row.version, expected_version)
    row.vip_lifetime_spend_fen = params.vip_lifetime_spend_fen
    row.churn_months = params.churn_months
    row.enabled = list(params.enabled)
    row.version += 1
    row.updated_at = crm.now()
    row.updated_by = principal.subject
    await session.flush()
    return params, row.version


async def ensure_auto_tags(session: AsyncSession) -> dict[str, str]:
    """The group tag of every rule (created on first use); rule -> tag id."""
    for auto in AUTO_TAGS.values():
        await session.execute(
            pg_insert(Tag)
            .values(
                id=str(uuid.uuid4()),
                store_id="",
                name=auto.name,
                colour=auto.colour,
                kind="auto",
                rule=auto.rule,
                description=auto.description,
                created_by=RULES_ACTOR,
            )
            .on_conflict_do_nothing()
        )
    rows = await session.execute(select(col(Tag.rule), col(Tag.id)).where(col(Tag.rule) != ""))
    return {rule: tag_id for rule, tag_id in rows.all()}


@dataclass
class RulesRun:
    store_id: str
    evaluated: int = 0
    added: dict[str, int] = field(default_factory=dict)
    removed: dict[str, int] = field(default_factory=dict)


def _store_book(store_id: str) -> Select[Any]:
    """The live customers of one store, as a self-contained subquery (never correlated to an
    outer query over customers, which would silently narrow it)."""
    return (
        select(col(Customer.id))
        .where(col(Customer.merged_into).is_(None), in_stores([store_id]))
        .correlate(None)
    )


async def gather_facts(
    session: AsyncSession, book: Select[Any]
) -> dict[str, tag_rules.CustomerFacts]:
    """The facts the rules read, for every customer id `book` selects."""
    customers = await session.execute(
        select(col(Customer.id), col(Customer.created_at)).where(col(Customer.id).in_(book))
    )
    known = {cid: created for cid, created in customers.all() if created is not None}
    # Leads, visits and services count for the customer and any record merged into them.
    owner = func.coalesce(col(Customer.merged_into), col(Customer.id))
    intentions: dict[str, set[str]] = defaultdict(set)
    rows = await session.execute(
        select(owner, col(Lead.payment_intention))
        .join(Customer, col(Customer.id) == col(Lead.customer_id))
        .where(
            owner.in_(book),
            col(Lead.status) != "invalid",
            col(Lead.payment_intention) != "",
        )
        .distinct()
    )
    for cid, intention in rows.all():
        intentions[cid].add(intention)
    vehicles = dict(
        (
            await session.execute(
                select(col(OwnedVehicle.customer_id), func.count())
                .where(col(OwnedVehicle.customer_id).in_(book), col(OwnedVehicle.sold_on).is_(None))
                .group_by(col(OwnedVehicle.customer_id))
            )
        )
        .tuples()
        .all()
    )
    facts_rows = {
        row.customer_id: row
        for row in (
            await session.execute(
                select(CustomerFacts).where(col(CustomerFacts.customer_id).in_(book))
            )
        ).scalars()
    }
    last_visit: dict[str, datetime] = {}

    def seen(cid: str, at: datetime | None) -> None:
        if at is not None and (cid not in last_visit or at > last_visit[cid]):
            last_visit[cid] = at

    # Store visits and services on the timeline.
    visits = await session.execute(
        select(owner, func.max(col(TimelineEntry.at)))
        .join(Customer, col(Customer.id) == col(TimelineEntry.customer_id))
        .where(
            owner.in_(book),
            or_(
                col(TimelineEntry.kind) == "visit",
                and_(
                    col(TimelineEntry.kind) == "system",
                    col(TimelineEntry.ref).like("repair_order:%"),
                ),
            ),
        )
        .group_by(owner)
    )
    for cid, at in visits.all():
        seen(cid, at)
    # A lead reaching the showroom (到店, test drive) is a visit too.
    funnel = await session.execute(
        select(owner, func.max(col(LeadTransition.at)))
        .join(Lead, col(Lead.id) == col(LeadTransition.lead_id))
        .join(Customer, col(Customer.id) == col(Lead.customer_id))
        .where(
            owner.in_(book),
            col(LeadTransition.to_status).in_(("visited", "test_drive")),
        )
        .group_by(owner)
    )
    for cid, at in funnel.all():
        seen(cid, at)
    for cid, fact_row in facts_rows.items():
        seen(cid, fact_row.last_service_at)
    out: dict[str, tag_rules.CustomerFacts] = {}
    for cid, created in known.items():
        row = facts_rows.get(cid)
        out[cid] = tag_rules.CustomerFacts(
            customer_id=cid,
            known_since=created,
            payment_intentions=frozenset(intentions.get(cid, ())),
            vehicles_owned=int(vehicles.get(cid, 0)),
            first_purchase=row.first_purchase if row else None,
            lifetime_spend_fen=row.lifetime_spend_fen if row else 0,
            last_visit_at=last_visit.get(cid),
        )
    return out


async def run_rules(session: AsyncSession, crm: Crm, store_id: str) -> RulesRun:
    """Re-evaluate every auto tag for the customers of one store. Idempotent: a second run with
    nothing changed adds and removes nothing. Runs are serialised group-wide (customers are
    shared between stores)."""
    await _lock(session, _RULES_LOCK)
    params, _ = await rule_config(session)
    tag_ids = await ensure_auto_tags(session)
    rule_of = {tag_id: rule for rule, tag_id in tag_ids.items()}
    book = _store_book(store_id)
    facts = await gather_facts(session, book)
    existing = await session.execute(
        select(
            col(CustomerTag.customer_id), col(CustomerTag.tag_id), col(CustomerTag.source)
        ).where(col(CustomerTag.customer_id).in_(book), col(CustomerTag.tag_id).in_(list(rule_of)))
    )
    by_rule: dict[str, set[str]] = defaultdict(set)
    by_hand: dict[str, set[str]] = defaultdict(set)
    for cid, tag_id, source in existing.all():
        (by_rule if source == "rule" else by_hand)[cid].add(rule_of[tag_id])
    now = crm.now()
    run = RulesRun(store_id=store_id, evaluated=len(facts))
    additions: list[dict[str, Any]] = []
    removals: list[tuple[str, str]] = []
    added: Counter[str] = Counter()
    removed: Counter[str] = Counter()
    for cid, fact in facts.items():
        wanted = applicable_rules(fact, params, now)
        change = reconcile(by_rule.get(cid, ()), by_hand.get(cid, ()), wanted)
        for rule in sorted(change.add):
            additions.append(
                {
                    "customer_id": cid,
                    "tag_id": tag_ids[rule],
                    "source": "rule",
                    "at": now,
                    "by": RULES_ACTOR,
                }
            )
            added[rule] += 1
        for rule in sorted(change.remove):
            removals.append((cid, tag_ids[rule]))
            removed[rule] += 1
    for batch in _batches(additions):
        await session.execute(pg_insert(CustomerTag).values(list(batch)).on_conflict_do_nothing())
    removals_by_tag: dict[str, list[str]] = defaultdict(list)
    for cid, tag_id in removals:
        removals_by_tag[tag_id].append(cid)
    for tag_id, cids in removals_by_tag.items():
        for batch in _batches(cids):
            await session.execute(
                delete(CustomerTag).where(
                    col(CustomerTag.tag_id) == tag_id,
                    col(CustomerTag.customer_id).in_(list(batch)),
                    col(CustomerTag.source) == "rule",
                )
            )
    run.added = {rule: added.get(rule, 0) for rule in AUTO_TAGS}
    run.removed = {rule: removed.get(rule, 0) for rule in AUTO_TAGS}
    return run


async def add_lifetime_spend(
    session: AsyncSession, crm: Crm, customer_id: str, amount_fen: int
) -> int:
    """Add to a customer's lifetime spend (sales deliveries, aftersales invoices: their consumers
    call this once those events exist). Returns the new total in fen."""
    if not isinstance(amount_fen, int):
        raise InvalidInput("Spend is an integer number of fen.", errors=[{"field": "amount_fen"}])
    customer = await resolve(session, customer_id)
    insert = pg_insert(CustomerFacts).values(
        customer_id=customer.id, lifetime_spend_fen=amount_fen, updated_at=crm.now()
    )
    stmt = insert.on_conflict_do_update(
        index_elements=[col(CustomerFacts.customer_id)],
        set_={
            "lifetime_spend_fen": col(CustomerFacts.lifetime_spend_fen) + amount_fen,
            "updated_at": crm.now(),
        },
    ).returning(col(CustomerFacts.lifetime_spend_fen))
    total = (await session.execute(stmt)).scalar_one()
    return int(total)


async def set_first_purchase(
    session: AsyncSession, crm: Crm, principal: Principal, customer_id: str, first: bool | None
) -> CustomerFacts:
    """Record what the customer said: this is (True) or is not (False) their first car."""
    customer = await visible_customer(session, principal, customer_id)
    stmt = pg_insert(CustomerFacts).values(
        customer_id=customer.id, first_purchase=first, updated_at=crm.now()
    )
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[col(CustomerFacts.customer_id)],
            set_={"first_purchase": first, "updated_at": crm.now()},
        )
    )
    facts = await session.get(CustomerFacts, customer.id, populate_existing=True)
    assert facts is not None
    return facts


async def customer_facts(
    session: AsyncSession, principal: Principal, customer_id: str
) -> CustomerFacts:
    customer = await visible_customer(session, principal, customer_id)
    facts = await session.get(CustomerFacts, customer.id)
    return facts or CustomerFacts(customer_id=customer.id)


# ---- segments -----------------------------------------------------------------------------------


def consent_granted(channel: str) -> ColumnElement[bool]:
    """The customer's standing consent on `channel` is a grant (the latest statement wins)."""
    latest = (
        select(col(CustomerConsent.granted))
        .where(
            col(CustomerConsent.customer_id) == col(Customer.id),
            col(CustomerConsent.channel) == channel,
        )
        .order_by(col(CustomerConsent.at).desc(), col(CustomerConsent.id).desc())
        .limit(1)
        .scalar_subquery()
    )
    return func.coalesce(latest, false()).is_(True)


def segment_clauses(spec: SegmentFilter, crm: Crm) -> list[ColumnElement[bool]]:
    """SQL for "the customer matches the segment" (live customers only)."""
    clauses: list[ColumnElement[bool]] = [
        col(Customer.merged_into).is_(None),
        in_stores(spec.stores),
    ]
    for tag_id in spec.tags_all:
        clauses.append(
            exists().where(
                col(CustomerTag.customer_id) == col(Customer.id), col(CustomerTag.tag_id) == tag_id
            )
        )
    if spec.tags_any:
        clauses.append(
            exists().where(
                col(CustomerTag.customer_id) == col(Customer.id),
                col(CustomerTag.tag_id).in_(spec.tags_any),
            )
        )
    if spec.has_lead_conditions:
        merged = aliased(Customer)
        # The customer's leads, and those of any record merged into them (one level suffices).
        theirs = or_(
            col(Lead.customer_id) == col(Customer.id),
            col(Lead.customer_id).in_(
                select(col(merged.id)).where(col(merged.merged_into) == col(Customer.id))
            ),
        )
        lead = [theirs, col(Lead.store_id).in_(spec.stores)]
        if spec.lead_status:
            lead.append(col(Lead.status).in_(spec.lead_status))
        if spec.lead_grade:
            lead.append(col(Lead.grade).in_(spec.lead_grade))
        if spec.model_interest:
            lead.append(col(Lead.model_code).in_(spec.model_interest))
        clauses.append(exists().where(*lead))
    if spec.city:
        clauses.append(col(Customer.city).in_(spec.city))
    if spec.consent_channel:
        clauses.append(consent_granted(spec.consent_channel))
    if spec.created_from:
        start = datetime.combine(spec.created_from, time(), tzinfo=crm.zone)
        clauses.append(col(Customer.created_at) >= start)
    if spec.created_to:
        end = datetime.combine(spec.created_to + timedelta(days=1), time(), tzinfo=crm.zone)
        clauses.append(col(Customer.created_at) < end)
    return clauses


def _within(column: Any, stores: Sequence[str]) -> ColumnElement[bool]:
    """Every store of the row's `store_ids` array is one of `stores` (`<@`)."""
    result: ColumnElement[bool] = column.op("<@")(pg_array(list(stores), type_=String(20)))
    return result


def segment_visible(principal: Principal) -> ColumnElement[bool]:
    """A segment is seen by those who see every one of its stores."""
    stores = principal.store_filter()
    if stores is None:
        return true()
    return _within(col(Segment.store_ids), stores)


async def get_segment(
    session: AsyncSession, principal: Principal, segment_id: str, *, lock: bool = False
) -> Segment:
    stmt = select(Segment).where(col(Segment.id) == segment_id, segment_visible(principal))
    if lock:
        stmt = stmt.with_for_update()
    segment = (await session.execute(stmt)).scalars().first()
    if segment is None:
        raise NotFound(f"No segment {segment_id} among the segments you can see.")
    return segment


def spec_of(segment: Segment) -> SegmentFilter:
    return parse_segment_filter(segment.spec)


async def _checked_spec(
    session: AsyncSession, principal: Principal, raw: dict[str, Any]
) -> SegmentFilter:
    spec = parse_segment_filter(raw)
    for store in spec.stores:
        principal.require_store(store, what=f"Store {store}")
    if spec.tag_ids:
        found = set(
            (
                await session.execute(
                    select(col(Tag.id)).where(col(Tag.id).in_(spec.tag_ids), tag_visible(principal))
                )
            ).scalars()
        )
        unknown = [t for t in spec.tag_ids if t not in found]
        if unknown:
            raise InvalidInput(
                f"The segment filter names tag(s) that do not exist or you cannot see: "
                f"{', '.join(unknown)}. Use ids from GET /api/v1/crm/tags.",
                errors=[{"field": "tags", "rule": "unknown tag", "unknown": unknown}],
            )
    return spec


def _check_segment_name(name: str) -> str:
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise InvalidInput(
            "A segment name is 1 to 100 characters.", errors=[{"field": "name", "rule": "length"}]
        )
    return name


async def create_segment(
    session: AsyncSession, crm: Crm, principal: Principal, name: str, raw: dict[str, Any]
) -> Segment:
    spec = await _checked_spec(session, principal, raw)
    segment = Segment(
        id=str(uuid.uuid4()),
        name=_check_segment_name(name),
        store_ids=list(spec.stores),
        spec=spec.to_json(),
        created_by=principal.subject,
        created_at=crm.now(),
        updated_at=crm.now(),
    )
    session.add(segment)
    await session.flush()
    return segment


async def update_segment(
    session: AsyncSession,
    crm: Crm,
    principal: Principal,
    segment_id: str,
    expected_version: int,
    *,
    name: str | None = None,
    raw: dict[str, Any] | None = None,
) -> Segment:
    segment = await get_segment(session, principal, segment_id, lock=True)
    check_version(segment.version, expected_version)
    if name is not None:
        segment.name = _check_segment_name(name)
    if raw is not None:
        spec = await _checked_spec(session, principal, raw)
        segment.spec = spec.to_json()
        segment.store_ids = list(spec.stores)
    segment.version += 1
    segment.updated_at = crm.now()
    await session.flush()
    return segment


async def delete_segment(session: AsyncSession, principal: Principal, segment_id: str) -> None:
    segment = await get_segment(session, principal, segment_id, lock=True)
    used = await session.execute(
        select(col(Campaign.id)).where(col(Campaign.segment_id) == segment.id).limit(1)
    )
    if (campaign_id := used.scalars().first()) is not None:
        raise Conflict(
            f"Campaign {campaign_id} was sent to this segment; it stays so that the campaign's "
            "audience remains known."
        )
    await session.delete(segment)
    await session.flush()


def matching_customers(spec: SegmentFilter, crm: Crm) -> Select[Any]:
    return select(Customer).where(*segment_clauses(spec, crm))


async def count_matching(session: AsyncSession, spec: SegmentFilter, crm: Crm) -> int:
    total = await session.execute(
        select(func.count()).select_from(Customer).where(*segment_clauses(spec, crm))
    )
    return int(total.scalar_one())


# ---- campaigns ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewCampaign:
    name: str
    segment_id: str
    channel: str
    template: str
    store_ids: tuple[str, ...] = ()  # default: the segment's stores
    scheduled_at: datetime | None = None
    cap: rules.FrequencyCap = field(default_factory=rules.FrequencyCap)


def campaign_visible(principal: Principal) -> ColumnElement[bool]:
    stores = principal.store_filter()
    if stores is None:
        return true()
    return _within(col(Campaign.store_ids), stores)


async def get_campaign(
    session: AsyncSession, principal: Principal, campaign_id: str, *, lock: bool = False
) -> Campaign:
    stmt = select(Campaign).where(col(Campaign.id) == campaign_id, campaign_visible(principal))
    if lock:
        stmt = stmt.with_for_update()
    campaign = (await session.execute(stmt)).scalars().first()
    if campaign is None:
        raise NotFound(f"No campaign {campaign_id} among the campaigns you can see.")
    return campaign


async def create_campaign(
    session: AsyncSession, crm: Crm, principal: Principal, new: NewCampaign
) -> Campaign:
    name = (new.name or "").strip()
    if not name or len(name) > 100:
        raise InvalidInput(
            "A campaign name is 1 to 100 characters.", errors=[{"field": "name", "rule": "length"}]
        )
    channel = rules.check_channel(new.channel)
    template = rules.check_template(new.template)
    segment = await get_segment(session, principal, new.segment_id)
    stores = tuple(dict.fromkeys(new.store_ids)) or tuple(segment.store_ids)
    outside = [s for s in stores if s not in segment.store_ids]
    if outside:
        raise InvalidInput(
            f"Store(s) {', '.join(outside)} are not in the segment's stores "
            f"({', '.join(segment.store_ids)}); a campaign sends within its segment.",
            errors=[{"field": "store_ids", "rule": "within segment", "unknown": outside}],
        )
    for store in stores:
        principal.require_store(store, what=f"Store {store}")
    now = crm.now()
    if new.scheduled_at is not None:
        if new.scheduled_at.tzinfo is None:
            raise InvalidInput(
                "scheduled_at needs its time zone, e.g. 2026-03-08T10:00:00+08:00.",
                errors=[{"field": "scheduled_at", "rule": "timezone"}],
            )
        if new.scheduled_at < now:
            raise InvalidInput(
                "scheduled_at is in the past; leave it out and send the campaign now instead.",
                errors=[{"field": "scheduled_at", "rule": "future"}],
            )
    campaign = Campaign(
        id=str(uuid.uuid4()),
        name=name,
        segment_id=segment.id,
        store_ids=list(stores),
        channel=channel,
        template=template,
        scheduled_at=new.scheduled_at,
        cap_max_messages=new.cap.max_messages,
        cap_per_days=new.cap.per_days,
        status="scheduled" if new.scheduled_at else "draft",
        created_by=principal.subject,
        created_at=now,
        updated_at=now,
    )
    session.add(campaign)
    await session.flush()
    return campaign


async def recipient_summary(session: AsyncSession, campaign_id: str) -> dict[str, Any]:
    rows = await session.execute(
        select(col(CampaignRecipient.status), col(CampaignRecipient.reason), func.count())
        .where(col(CampaignRecipient.campaign_id) == campaign_id)
        .group_by(col(CampaignRecipient.status), col(CampaignRecipient.reason))
    )
    pairs: list[tuple[str, str]] = []
    for status, reason, n in rows.all():
        pairs.extend([(status, reason)] * int(n))
    return rules.summarise(pairs)


@dataclass
class _Outgoing:
    customer_id: str
    store_id: str
    to: str
    text: str


@dataclass
class SendReport:
    campaign_id: str
    # What this send did: newly excluded (by reason), sent, failed.
    decided: int = 0
    sent: int = 0
    failed: int = 0
    excluded: dict[str, int] = field(default_factory=dict)


def _mask_address(channel: str, customer: Any) -> str:
    if channel == "sms":
        return str(customer.mobile_masked)
    wechat = str(customer.wechat_id or "")
    return f"{wechat[:2]}****{wechat[-2:]}" if len(wechat) > 6 else ("****" if wechat else "")


async def _decide(
    crm: Crm, principal: Principal | None, campaign_id: str
) -> tuple[Campaign, list[_Outgoing], SendReport]:
    """Step 1: claim the recipients of this send, in one transaction."""
    async with crm.uow() as uow:
        session = uow.session
        await _lock(session, _MARKETING_LOCK)
        if principal is not None:
            campaign = await get_campaign(session, principal, campaign_id, lock=True)
        else:
            found = await session.get(Campaign, campaign_id, with_for_update=True)
            if found is None:
                raise NotFound(f"No campaign {campaign_id}.")
            if found.status != "scheduled":
                # The scheduler's turn came after someone sent it by hand: nothing to do.
                raise Conflict(f"Campaign {campaign_id} is no longer waiting for its time.")
            campaign = found
        now = crm.now()
        rules.check_can_send(campaign.status, campaign.updated_at, now)
        segment = await session.get(Segment, campaign.segment_id)
        if segment is None:
            raise Conflict("The campaign's segment is gone; create the campaign again.")
        spec = spec_of(segment).within(campaign.store_ids)
        cap = rules.FrequencyCap(campaign.cap_max_messages, campaign.cap_per_days)
        recent = (
            select(func.count())
            .where(
                col(MarketingSend.customer_id) == col(Customer.id),
                col(MarketingSend.at) >= cap.window_start(now),
            )
            .scalar_subquery()
        )
        settled = exists().where(
            col(CampaignRecipient.campaign_id) == campaign.id,
            col(CampaignRecipient.customer_id) == col(Customer.id),
            or_(
                col(CampaignRecipient.status).in_((rules.SENT, rules.SENDING)),
                and_(
                    col(CampaignRecipient.status) == rules.FAILED,
                    col(CampaignRecipient.retryable).is_(False),
                ),
            ),
        )
        rows = await session.execute(
            select(
                col(Customer.id),
                col(Customer.name),
                col(Customer.store_id),
                col(Customer.mobile_sealed),
                col(Customer.mobile_masked),
                col(Customer.wechat_id),
                recent.label("recent"),
            )
            .where(*segment_clauses(spec, crm), ~settled)
            .order_by(col(Customer.id))
        )
        report = SendReport(campaign_id=campaign.id)
        values: list[dict[str, Any]] = []
        outgoing: dict[str, _Outgoing] = {}
        matched = rows.all()
        # The standing consent per customer, by the customers' own rule (the latest statement).
        consenting = await customers_service.consenting_customers(
            session, [row.id for row in matched], campaign.channel
        )
        for row in matched:
            if campaign.channel == "sms":
                address = crm.pii.unseal(row.mobile_sealed, "mobile")
            else:
                address = row.wechat_id or ""
            decision = rules.decide(
                rules.Candidate(row.id, row.name, row.id in consenting, address, int(row.recent)),
                cap,
            )
            values.append(
                {
                    "campaign_id": campaign.id,
                    "customer_id": row.id,
                    "name": row.name,
                    "address_masked": _mask_address(campaign.channel, row),
                    "status": rules.SENDING if decision.send else rules.EXCLUDED,
                    "reason": decision.reason,
                    "provider_id": "",
                    "error": "",
                    "retryable": False,
                    "attempts": 1 if decision.send else 0,
                    "decided_at": now,
                }
            )
            if decision.send:
                outgoing[row.id] = _Outgoing(
                    row.id,
                    row.store_id,
                    address,
                    rules.render(campaign.template, name=row.name),
                )
        claimed: list[tuple[str, str, str]] = []
        for batch in _batches(values):
            insert = pg_insert(CampaignRecipient).values(list(batch))
            upsert = insert.on_conflict_do_update(
                index_elements=[
                    col(CampaignRecipient.campaign_id),
                    col(CampaignRecipient.customer_id),
                ],
                set_={
                    "name": insert.excluded.name,
                    "address_masked": insert.excluded.address_masked,
                    "status": insert.excluded.status,
                    "reason": insert.excluded.reason,
                    "provider_id": "",
                    "error": "",
                    "retryable": False,
                    "attempts": col(CampaignRecipient.attempts) + insert.excluded.attempts,
                    "decided_at": insert.excluded.decided_at,
                },
                # Only what is still open: a sent (or in-flight) recipient is never re-claimed.
                where=or_(
                    col(CampaignRecipient.status) == rules.EXCLUDED,
                    and_(
                        col(CampaignRecipient.status) == rules.FAILED,
                        col(CampaignRecipient.retryable).is_(True),
                    ),
                ),
            ).returning(
                col(CampaignRecipient.customer_id),
                col(CampaignRecipient.status),
                col(CampaignRecipient.reason),
            )
            claimed.extend((await session.execute(upsert)).tuples().all())
        to_send = [outgoing[cid] for cid, status, _ in claimed if status == rules.SENDING]
        excluded = Counter(reason for _, status, reason in claimed if status == rules.EXCLUDED)
        for batch in _batches(to_send):
            await session.execute(
                pg_insert(MarketingSend)
                .values(
                    [
                        {
                            "customer_id": o.customer_id,
                            "campaign_id": campaign.id,
                            "channel": campaign.channel,
                            "at": now,
                        }
                        for o in batch
                    ]
                )
                .on_conflict_do_nothing()
            )
        report.decided = len(claimed)
        report.excluded = {r: excluded.get(r, 0) for r in rules.EXCLUSION_REASONS}
        campaign.status = "sending"
        campaign.updated_at = now
        campaign.version += 1
        await uow.commit()
    return campaign, to_send, report


async def _deliver(
    provider: Provider, campaign: Campaign, batch: Sequence[_Outgoing]
) -> list[tuple[_Outgoing, Any]]:
    """Step 2: send one chunk, a few at a time."""
    gate = asyncio.Semaphore(SEND_CONCURRENCY)

    async def one(item: _Outgoing) -> tuple[_Outgoing, Any]:
        async with gate:
            result = await provider.send(
                OutboundMessage(
                    channel="sms" if campaign.channel == "sms" else "wechat",
                    to=item.to,
                    text=item.text,
                    ref=f"campaign:{campaign.id}:{item.customer_id}",
                )
            )
            return item, result

    return list(await asyncio.gather(*(one(item) for item in batch)))


async def _record(
    crm: Crm, campaign: Campaign, results: Sequence[tuple[_Outgoing, Any]], actor: str
) -> tuple[int, int]:
    """Step 3: keep each answer; beat the campaign's heartbeat."""
    now = crm.now()
    sent = failed = 0
    async with crm.uow() as uow:
        session = uow.session
        failed_ids: list[str] = []
        for item, result in results:
            values: dict[str, Any]
            if result.ok:
                sent += 1
                values = {"status": rules.SENT, "provider_id": result.provider_id, "sent_at": now}
            else:
                failed += 1
                failed_ids.append(item.customer_id)
                values = {
                    "status": rules.FAILED,
                    "error": (result.error or "refused")[:300],
                    "retryable": bool(getattr(result, "retryable", False)),
                }
            await session.execute(
                update(CampaignRecipient)
                .where(
                    col(CampaignRecipient.campaign_id) == campaign.id,
                    col(CampaignRecipient.customer_id) == item.customer_id,
                    col(CampaignRecipient.status) == rules.SENDING,
                )
                .values(**values)
            )
            if result.ok:
                await timeline_service.append(
                    session,
                    crm,
                    customer_id=item.customer_id,
                    store_id=item.store_id,
                    kind="system",
                    summary=f"Campaign {campaign.name!r} sent by {campaign.channel}",
                    actor=actor,
                    at=now,
                    ref=f"campaign:{campaign.id}",
                )
        if failed_ids:
            # Not delivered: it does not count against the customer's frequency cap.
            await session.execute(
                delete(MarketingSend).where(
                    col(MarketingSend.campaign_id) == campaign.id,
                    col(MarketingSend.customer_id).in_(failed_ids),
                )
            )
        await session.execute(
            update(Campaign).where(col(Campaign.id) == campaign.id).values(updated_at=now)
        )
        await uow.commit()
    return sent, failed


async def send_campaign(
    crm: Crm,
    campaign_id: str,
    *,
    principal: Principal | None,
    provider: Provider | None = None,
) -> SendReport:
    """Send the campaign now (see the module docstring). `principal` None: the scheduler, which
    only sends a campaign still waiting for its time (409 otherwise)."""
    actor = principal.subject if principal is not None else SYSTEM
    campaign, to_send, report = await _decide(crm, principal, campaign_id)
    channel_provider = provider or provider_for(crm, campaign.channel)
    try:
        for start in range(0, len(to_send), SEND_CHUNK):
            chunk = to_send[start : start + SEND_CHUNK]
            results = await _deliver(channel_provider, campaign, chunk)
            sent, failed = await _record(crm, campaign, results, actor)
            report.sent += sent
            report.failed += failed
    finally:
        async with crm.uow() as uow:
            await uow.session.execute(
                update(Campaign)
                .where(col(Campaign.id) == campaign.id)
                .values(
                    status="sent",
                    last_sent_at=crm.now(),
                    updated_at=crm.now(),
                    version=col(Campaign.version) + 1,
                )
            )
            await uow.commit()
    log.info(
        "campaign sent",
        extra={"campaign": campaign.id, "sent": report.sent, "failed": report.failed},
    )
    return report


async def send_due_campaigns(crm: Crm) -> int:
    """Send every scheduled campaign whose time has come; returns how many were sent."""
    async with crm.uow() as uow:
        due = (
            (
                await uow.session.execute(
                    select(col(Campaign.id))
                    .where(
                        col(Campaign.status) == "scheduled", col(Campaign.scheduled_at) <= crm.now()
                    )
                    .order_by(col(Campaign.scheduled_at))
                )
            )
            .scalars()
            .all()
        )
    done = 0
    for campaign_id in due:
        try:
            await send_campaign(crm, campaign_id, principal=None)
            done += 1
        except Conflict:
            continue  # someone pressed "send now" meanwhile
    return done


def campaign_scheduler(crm: Crm) -> Callable[[], Awaitable[None]]:
    """The background loop (runtime.add_job): scheduled campaigns, every task_sweep_seconds."""

    async def run() -> None:
        while True:
            try:
                await send_due_campaigns(crm)
            except Exception:
                log.exception("scheduled campaign sweep failed; trying again next round")
            await asyncio.sleep(crm.settings.task_sweep_seconds)

    return run
