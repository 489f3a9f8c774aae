"""Tags (标签), auto-tag rules, segments (客户分群) and campaigns (营销活动).

- `/api/v1/crm/tags`: the tag vocabulary (group tags and the caller's stores' tags). Managers
  create, rename and delete manual tags (`crm.tags:*`); the auto tags belong to their rules.
- `/api/v1/crm/customers/{id}/tags`: put manual tags on a customer, or take them off. Whoever may
  edit the customer may tag them (a consultant: their own customers).
- `/api/v1/crm/tags/rules`: the group's auto-tag parameters (HQ) and `POST .../run` to
  re-evaluate the auto tags of one store's customers (idempotent).
- `/api/v1/crm/segments`: saved filters; `GET /{id}/preview` counts the customers and shows the
  first page, masked.
- `/api/v1/crm/campaigns`: create, `POST /{id}/send` (sends now; a resend never messages a
  customer twice), `GET /{id}/recipients?status=` with each recipient's outcome.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlmodel import col

from marque_crm import marketing_service as svc
from marque_crm.api.deps import CrmDep
from marque_crm.domain import campaigns as campaign_rules
from marque_crm.domain.tags import AUTO_TAGS, SEGMENT_FIELDS, TagRuleParams
from marque_crm.models import Campaign, CampaignRecipient, Customer, CustomerFacts, Segment, Tag
from marque_crm.unit_of_work import Crm
from marque_kit.http import (
    CurrentPrincipal,
    IdempotencyDep,
    IfMatch,
    Instant,
    Page,
    PageQuery,
    etag,
    paginate,
    permission,
)

router = APIRouter(tags=["marketing"])

# Reading the tag vocabulary needs only what reading customers needs, so that a consultant (who
# holds crm.customers:* but not crm.tags:*) can tag their own customers.
TAG_VOCABULARY_READ = "crm.customers:read"
TAGS_WRITE = "crm.tags:write"
CUSTOMERS_READ = "crm.customers:read"
CUSTOMERS_WRITE = "crm.customers:write"
SEGMENTS_READ = "crm.segments:read"
SEGMENTS_WRITE = "crm.segments:write"
CAMPAIGNS_READ = "crm.campaigns:read"
CAMPAIGNS_WRITE = "crm.campaigns:write"
CAMPAIGNS_SEND = "crm.campaigns:send"


# ---- tags ---------------------------------------------------------------------------------------


class TagOut(BaseModel):
    id: str
    store_id: str = Field(description='"" for a group tag')
    name: str
    colour: str
    kind: str = Field(description="manual | auto")
    rule: str = Field(description="the auto rule keeping it; empty for manual tags")
    description: str
    version: int

    @classmethod
    def of(cls, tag: Tag) -> TagOut:
        return cls(
            id=tag.id,
            store_id=tag.store_id,
            name=tag.name,
            colour=tag.colour,
            kind=tag.kind,
            rule=tag.rule,
            description=tag.description,
            version=tag.version,
        )


class TagIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=40, examples=["试驾未成交 test-drove, not bought"])
    colour: str = Field("", max_length=7, examples=["#9B51E0"])
    store_id: str = Field(
        "", max_length=20, examples=["SH01"], description='"" (HQ only): a tag for every store'
    )
    description: str = Field("", max_length=200)


class TagPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(None, min_length=1, max_length=40)
    colour: str | None = Field(None, max_length=7)
    description: str | None = Field(None, max_length=200)


@router.get(
    "/api/v1/crm/tags", response_model=Page[TagOut], dependencies=[permission(TAG_VOCABULARY_READ)]
)
async def list_tags(
    principal: CurrentPrincipal,
    crm: CrmDep,
    page: PageQuery,
    kind: Literal["manual", "auto"] | None = None,
    store_id: str | None = None,
) -> Page[TagOut]:
    """Tags the caller can use: group tags and their stores' tags (`store_id=` "" : group only)."""
    async with crm.db.session() as session:
        rows, cursor = await paginate(
            session,
            svc.list_tags_query(principal, kind=kind, store_id=store_id),
            page,
            order=(col(Tag.name), col(Tag.id)),
        )
    return Page(items=[TagOut.of(t) for t in rows], next_cursor=cursor)


@router.post(
    "/api/v1/crm/tags",
    status_code=201,
    response_model=TagOut,
    dependencies=[permission(TAGS_WRITE)],
)
async def create_tag(
    body: TagIn, principal: CurrentPrincipal, crm: CrmDep, idem: IdempotencyDep
) -> Response:
    """A manual tag for one store (or, HQ, for the group). 409 when the name is taken."""
    async with crm.uow() as uow:
        if replay := await idem.begin(uow.session, body):
            return replay
        tag = await svc.create_tag(
            uow.session,
            crm,
            principal,
            svc.NewTag(body.name, body.colour, body.store_id, body.description),
        )
        response = await idem.complete(
            uow.session, 201, TagOut.of(tag), headers={"ETag": etag(tag.version)}
        )
        await uow.commit()
    return response


class RulesOut(BaseModel):
    vip_lifetime_spend_fen: int
    churn_months: int
    enabled: list[str]
    version: int
    rules: dict[str, str]

    @classmethod
    def of(cls, params: TagRuleParams, version: int) -> RulesOut:
        return cls(
            vip_lifetime_spend_fen=params.vip_lifetime_spend_fen,
            churn_months=params.churn_months,
            enabled=list(params.enabled),
            version=version,
            rules={rule: auto.description for rule, auto in AUTO_TAGS.items()},
        )


@router.get("/api/v1/crm/tags/rules", dependencies=[permission(TAG_VOCABULARY_READ)])
async def get_rules(crm: CrmDep, response: Response) -> RulesOut:
    """The group's auto-tag parameters (ETag: the version; "0" while on the defaults)."""
    async with crm.db.session() as session:
        params, version = await svc.rule_config(session)
    response.headers["ETag"] = etag(version)
    return RulesOut.of(params, version)


class RulesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    vip_lifetime_spend_fen: int = Field(
        gt=0, examples=[30_000_000], description="VIP above this lifetime spend (fen)"
    )
    churn_months: int = Field(ge=1, le=120, examples=[12])
    enabled: list[str] = Field(examples=[["loan_intention", "first_car", "vip", "churn_risk"]])


@router.put(
    "/api/v1/crm/tags/rules", response_model=RulesOut, dependencies=[permission(TAGS_WRITE)]
)
async def set_rules(
    body: RulesIn, expected: IfMatch, principal: CurrentPrincipal, crm: CrmDep, response: Response
) -> RulesOut:
    """HQ sets the group's auto-tag parameters (If-Match: the version read, "0" at first)."""
    params = TagRuleParams(
        vip_lifetime_spend_fen=body.vip_lifetime_spend_fen,
        churn_months=body.churn_months,
        enabled=tuple(dict.fromkeys(body.enabled)),
    )
    async with crm.uow() as uow:
        params, version = await svc.set_rule_config(uow.session, crm, principal, params, expected)
        await uow.commit()
    response.headers["ETag"] = etag(version)
    return RulesOut.of(params, version)


class RulesRunIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    store_id: str = Field(min_length=1, max_length=20, examples=["SH01"])


class RulesRunOut(BaseModel):
    store_id: str
    evaluated: int = Field(description="customers of the store looked at")
    added: dict[str, int] = Field(description="auto tags put on, per rule")
    removed: dict[str, int] = Field(description="auto tags taken off, per rule")


@router.post(
    "/api/v1/crm/tags/rules/run",
    response_model=RulesRunOut,
    dependencies=[permission(TAGS_WRITE)],
)
async def run_rules(body: RulesRunIn, principal: CurrentPrincipal, crm: CrmDep) -> RulesRunOut:
    """Re-evaluate the auto tags of one store's customers now. Idempotent: run it again and
    nothing changes unless the facts did."""
    principal.require_store(body.store_id, what=f"Store {body.store_id}")
    async with crm.uow() as uow:
        run = await svc.run_rules(uow.session, crm, body.store_id)
        await uow.commit()
    return RulesRunOut(
        store_id=run.store_id, evaluated=run.evaluated, added=run.added, removed=run.removed
    )


@router.get(
    "/api/v1/crm/tags/{tag_id}",
    response_model=TagOut,
    dependencies=[permission(TAG_VOCABULARY_READ)],
)
async def get_tag(
    tag_id: str, principal: CurrentPrincipal, crm: CrmDep, response: Response
) -> TagOut:
    async with crm.db.session() as session:
        tag = await svc.get_tag(session, principal, tag_id)
    response.headers["ETag"] = etag(tag.version)
    return TagOut.of(tag)


@router.patch(
    "/api/v1/crm/tags/{tag_id}", response_model=TagOut, dependencies=[permission(TAGS_WRITE)]
)
async def update_tag(
    tag_id: str,
    body: TagPatch,
    expected: IfMatch,
    principal: CurrentPrincipal,
    crm: CrmDep,
    response: Response,
) -> TagOut:
    """Rename a manual tag, or recolour / redescribe any tag (If-Match)."""
    async with crm.uow() as uow:
        tag = await svc.update_tag(
            uow.session,
            crm,
            principal,
            tag_id,
            expected,
            name=body.name,
            colour=body.colour,
            description=body.description,
        )
        await uow.commit()
    response.headers["ETag"] = etag(tag.version)
    return TagOut.of(tag)


@router.delete("/api/v1/crm/tags/{tag_id}", status_code=204, dependencies=[permission(TAGS_WRITE)])
async def delete_tag(tag_id: str, principal: CurrentPrincipal, crm: CrmDep) -> Response:
    """Delete a manual tag and take it off every customer (409 for auto tags, and while a
    segment filters on it)."""
    async with crm.uow() as uow:
        await svc.delete_tag(uow.session, principal, tag_id)
        await uow.commit()
    return Response(status_code=204)


# ---- a customer's tags --------------------------------------------------------------------------


class CustomerTagOut(BaseModel):
    tag_id: str
    name: str
    colour: str
    kind: str
    source: str = Field(description="manual (a person) | rule")
    at: datetime | None
    by: str

    @classmethod
    def of(cls, item: svc.TagOnCustomer) -> CustomerTagOut:
        return cls(
            tag_id=item.tag.id,
            name=item.tag.name,
            colour=item.tag.colour,
            kind=item.tag.kind,
            source=item.link.source,
            at=item.link.at,
            by=item.link.by,
        )


class CustomerTagIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tag_id: str = Field(min_length=1, max_length=40)


@router.get(
    "/api/v1/crm/customers/{customer_id}/tags",
    response_model=list[CustomerTagOut],
    dependencies=[permission(CUSTOMERS_READ)],
)
async def list_customer_tags(
    customer_id: str, principal: CurrentPrincipal, crm: CrmDep
) -> list[CustomerTagOut]:
    async with crm.db.session() as session:
        items = await svc.customer_tags(session, principal, customer_id)
    return [CustomerTagOut.of(i) for i in items]


@router.post(
    "/api/v1/crm/customers/{customer_id}/tags",
    status_code=201,
    response_model=CustomerTagOut,
    dependencies=[permission(CUSTOMERS_WRITE)],
)
async def tag_customer(
    customer_id: str,
    body: CustomerTagIn,
    principal: CurrentPrincipal,
    crm: CrmDep,
    response: Response,
) -> CustomerTagOut:
    """Put a manual tag on the customer (201; 200 when it was already there)."""
    async with crm.uow() as uow:
        item, added = await svc.tag_customer(uow.session, crm, principal, customer_id, body.tag_id)
        await uow.commit()
    response.status_code = 201 if added else 200
    return CustomerTagOut.of(item)


@router.delete(
    "/api/v1/crm/customers/{customer_id}/tags/{tag_id}",
    status_code=204,
    dependencies=[permission(CUSTOMERS_WRITE)],
)
async def untag_customer(
    customer_id: str, tag_id: str, principal: CurrentPrincipal, crm: CrmDep
) -> Response:
    """Take a manual tag off the customer (a rule's tag comes off when the rule stops applying)."""
    async with crm.uow() as uow:
        await svc.untag_customer(uow.session, principal, customer_id, tag_id)
        await uow.commit()
    return Response(status_code=204)


class FactsOut(BaseModel):
    customer_id: str
    lifetime_spend_fen: int
    first_purchase: bool | None
    last_service_at: datetime | None

    @classmethod
    def of(cls, facts: CustomerFacts) -> FactsOut:
        return cls(
            customer_id=facts.customer_id,
            lifetime_spend_fen=facts.lifetime_spend_fen or 0,
            first_purchase=facts.first_purchase,
            last_service_at=facts.last_service_at,
        )


class FactsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    first_purchase: bool | None = Field(
        description="The customer says this is (true) or is not (false) their first car; "
        "null: unknown"
    )


@router.get(
    "/api/v1/crm/customers/{customer_id}/facts",
    response_model=FactsOut,
    dependencies=[permission(CUSTOMERS_READ)],
)
async def get_facts(customer_id: str, principal: CurrentPrincipal, crm: CrmDep) -> FactsOut:
    """What the auto-tag rules know of the customer beyond leads, vehicles and the timeline."""
    async with crm.db.session() as session:
        facts = await svc.customer_facts(session, principal, customer_id)
    return FactsOut.of(facts)


@router.put(
    "/api/v1/crm/customers/{customer_id}/facts",
    response_model=FactsOut,
    dependencies=[permission(CUSTOMERS_WRITE)],
)
async def set_facts(
    customer_id: str, body: FactsIn, principal: CurrentPrincipal, crm: CrmDep
) -> FactsOut:
    """Record whether this is the customer's first car (首购). Spend comes from sales and
    aftersales, not from here."""
    async with crm.uow() as uow:
        facts = await svc.set_first_purchase(
            uow.session, crm, principal, customer_id, body.first_purchase
        )
        await uow.commit()
    return FactsOut.of(facts)


# ---- segments -----------------------------------------------------------------------------------


class SegmentOut(BaseModel):
    id: str
    name: str
    store_ids: list[str]
    filter: dict[str, Any]
    created_by: str
    created_at: datetime | None
    version: int

    @classmethod
    def of(cls, segment: Segment) -> SegmentOut:
        return cls(
            id=segment.id,
            name=segment.name,
            store_ids=list(segment.store_ids),
            filter=dict(segment.spec),
            created_by=segment.created_by,
            created_at=segment.created_at,
            version=segment.version,
        )


_FILTER_DOC = "Fields: " + "; ".join(f"`{k}`: {v}" for k, v in SEGMENT_FIELDS.items())


class SegmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100, examples=["汉EV 意向客户 Han EV prospects"])
    filter: dict[str, Any] = Field(
        description=_FILTER_DOC,
        examples=[{"stores": ["SH01"], "model_interest": ["BYD-HAN"], "lead_grade": ["H", "A"]}],
    )


class SegmentPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(None, min_length=1, max_length=100)
    filter: dict[str, Any] | None = Field(None, description=_FILTER_DOC)


def _segment_answer(response: Response, segment: Segment) -> SegmentOut:
    response.headers["ETag"] = etag(segment.version)
    return SegmentOut.of(segment)


@router.get(
    "/api/v1/crm/segments",
    response_model=Page[SegmentOut],
    dependencies=[permission(SEGMENTS_READ)],
)
async def list_segments(
    principal: CurrentPrincipal, crm: CrmDep, page: PageQuery
) -> Page[SegmentOut]:
    """Segments whose stores are all the caller's, newest first."""
    async with crm.db.session() as session:
        rows, cursor = await paginate(
            session,
            select(Segment).where(svc.segment_visible(principal)),
            page,
            order=(col(Segment.created_at), col(Segment.id)),
            descending=True,
        )
    return Page(items=[SegmentOut.of(s) for s in rows], next_cursor=cursor)


@router.post(
    "/api/v1/crm/segments",
    status_code=201,
    response_model=SegmentOut,
    dependencies=[permission(SEGMENTS_WRITE)],
)
async def create_segment(
    body: SegmentIn, principal: CurrentPrincipal, crm: CrmDep, idem: IdempotencyDep
) -> Response:
    """Save a filter. Unknown fields or values answer 422 naming each one."""
    async with crm.uow() as uow:
        if replay := await idem.begin(uow.session, body):
            return replay
        segment = await svc.create_segment(uow.session, crm, principal, body.name, body.filter)
        response = await idem.complete(
            uow.session, 201, SegmentOut.of(segment), headers={"ETag": etag(segment.version)}
        )
        await uow.commit()
    return response


@router.get(
    "/api/v1/crm/segments/{segment_id}",
    response_model=SegmentOut,
    dependencies=[permission(SEGMENTS_READ)],
)
async def get_segment(
    segment_id: str, principal: CurrentPrincipal, crm: CrmDep, response: Response
) -> SegmentOut:
    async with crm.db.session() as session:
        segment = await svc.get_segment(session, principal, segment_id)
    return _segment_answer(response, segment)


@router.patch(
    "/api/v1/crm/segments/{segment_id}",
    response_model=SegmentOut,
    dependencies=[permission(SEGMENTS_WRITE)],
)
async def update_segment(
    segment_id: str,
    body: SegmentPatch,
    expected: IfMatch,
    principal: CurrentPrincipal,
    crm: CrmDep,
    response: Response,
) -> SegmentOut:
    async with crm.uow() as uow:
        segment = await svc.update_segment(
            uow.session, crm, principal, segment_id, expected, name=body.name, raw=body.filter
        )
        await uow.commit()
    return _segment_answer(response, segment)


@router.delete(
    "/api/v1/crm/segments/{segment_id}",
    status_code=204,
    dependencies=[permission(SEGMENTS_WRITE)],
)
async def delete_segment(segment_id: str, principal: CurrentPrincipal, crm: CrmDep) -> Response:
    """Delete a segment no campaign was sent to (409 otherwise)."""
    async with crm.uow() as uow:
        await svc.delete_segment(uow.session, principal, segment_id)
        await uow.commit()
    return Response(status_code=204)


class PreviewCustomer(BaseModel):
    id: str
    name: str
    mobile_masked: str
    city: str
    store_id: str
    owner: str
    created_at: datetime | None


class PreviewOut(BaseModel):
    count: int
    items: list[PreviewCustomer]
    next_cursor: str | None = None


@router.get(
    "/api/v1/crm/segments/{segment_id}/preview",
    response_model=PreviewOut,
    dependencies=[permission(SEGMENTS_READ)],
)
async def preview_segment(
    segment_id: str, principal: CurrentPrincipal, crm: CrmDep, page: PageQuery
) -> PreviewOut:
    """How many customers match now, and a page of them (mobiles masked)."""
    async with crm.db.session() as session:
        segment = await svc.get_segment(session, principal, segment_id)
        spec = svc.spec_of(segment)
        count = await svc.count_matching(session, spec, crm)
        rows, cursor = await paginate(
            session,
            svc.matching_customers(spec, crm),
            page,
            order=(col(Customer.created_at), col(Customer.id)),
        )
    return PreviewOut(
        count=count,
        items=[
            PreviewCustomer(
                id=c.id,
                name=c.name,
                mobile_masked=c.mobile_masked,
                city=c.city,
                store_id=c.store_id,
                owner=c.owner,
                created_at=c.created_at,
            )
            for c in rows
        ],
        next_cursor=cursor,
    )


# ---- campaigns ----------------------------------------------------------------------------------


class CapIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    max_messages: int = Field(2, ge=1, le=100)
    per_days: int = Field(7, ge=1, le=365)


class CampaignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100, examples=["汉EV 上市品鉴会 Han EV launch"])
    segment_id: str = Field(min_length=1, max_length=40)
    channel: Literal["sms", "wechat"]
    template: str = Field(
        min_length=1,
        max_length=500,
        examples=["{name}您好，比亚迪汉EV新车品鉴会本周六14:00在本店举行，诚邀莅临。回T退订"],
        description="{name} is replaced by the customer's name; {{ and }} are literal braces",
    )
    store_ids: list[str] = Field(
        default_factory=list, max_length=50, description="Default: the segment's stores"
    )
    scheduled_at: Instant | None = Field(
        None, description="Send automatically at this time; leave out to send by hand"
    )
    frequency_cap: CapIn = Field(
        default_factory=lambda: CapIn(max_messages=2, per_days=7),
        description="At most max_messages marketing messages per customer in per_days days, "
        "counted across all campaigns",
    )


class CampaignOut(BaseModel):
    id: str
    name: str
    segment_id: str
    store_ids: list[str]
    channel: str
    template: str
    scheduled_at: datetime | None
    frequency_cap: CapIn
    status: str = Field(description="draft | scheduled | sending | sent")
    last_sent_at: datetime | None
    created_by: str
    created_at: datetime | None
    version: int
    recipients: dict[str, Any] = Field(
        default_factory=dict, description="counts per outcome, exclusions per reason"
    )

    @classmethod
    def of(cls, campaign: Campaign, recipients: dict[str, Any] | None = None) -> CampaignOut:
        return cls(
            id=campaign.id,
            name=campaign.name,
            segment_id=campaign.segment_id,
            store_ids=list(campaign.store_ids),
            channel=campaign.channel,
            template=campaign.template,
            scheduled_at=campaign.scheduled_at,
            frequency_cap=CapIn(
                max_messages=campaign.cap_max_messages, per_days=campaign.cap_per_days
            ),
            status=campaign.status,
            last_sent_at=campaign.last_sent_at,
            created_by=campaign.created_by,
            created_at=campaign.created_at,
            version=campaign.version,
            recipients=recipients or {},
        )


@router.post(
    "/api/v1/crm/campaigns",
    status_code=201,
    response_model=CampaignOut,
    dependencies=[permission(CAMPAIGNS_WRITE)],
)
async def create_campaign(
    body: CampaignIn, principal: CurrentPrincipal, crm: CrmDep, idem: IdempotencyDep
) -> Response:
    """A campaign to a segment; with `scheduled_at` it goes out by itself, else `POST /send`."""
    async with crm.uow() as uow:
        if replay := await idem.begin(uow.session, body):
            return replay
        campaign = await svc.create_campaign(
            uow.session,
            crm,
            principal,
            svc.NewCampaign(
                name=body.name,
                segment_id=body.segment_id,
                channel=body.channel,
                template=body.template,
                store_ids=tuple(body.store_ids),
                scheduled_at=body.scheduled_at,
                cap=campaign_rules.FrequencyCap(
                    body.frequency_cap.max_messages, body.frequency_cap.per_days
                ),
            ),
        )
        response = await idem.complete(
            uow.session, 201, CampaignOut.of(campaign), headers={"ETag": etag(campaign.version)}
        )
        await uow.commit()
    return response


@router.get(
    "/api/v1/crm/campaigns",
    response_model=Page[CampaignOut],
    dependencies=[permission(CAMPAIGNS_READ)],
)
async def list_campaigns(
    principal: CurrentPrincipal,
    crm: CrmDep,
    page: PageQuery,
    status: Literal["draft", "scheduled", "sending", "sent"] | None = None,
) -> Page[CampaignOut]:
    """Campaigns whose stores are all the caller's, newest first."""
    stmt = select(Campaign).where(svc.campaign_visible(principal))
    if status:
        stmt = stmt.where(col(Campaign.status) == status)
    async with crm.db.session() as session:
        rows, cursor = await paginate(
            session,
            stmt,
            page,
            order=(col(Campaign.created_at), col(Campaign.id)),
            descending=True,
        )
    return Page(items=[CampaignOut.of(c) for c in rows], next_cursor=cursor)


async def _campaign_out(crm: Crm, principal: Any, campaign_id: str) -> CampaignOut:
    async with crm.db.session() as session:
        campaign = await svc.get_campaign(session, principal, campaign_id)
        summary = await svc.recipient_summary(session, campaign.id)
    return CampaignOut.of(campaign, summary)


@router.get(
    "/api/v1/crm/campaigns/{campaign_id}",
    response_model=CampaignOut,
    dependencies=[permission(CAMPAIGNS_READ)],
)
async def get_campaign(
    campaign_id: str, principal: CurrentPrincipal, crm: CrmDep, response: Response
) -> CampaignOut:
    out = await _campaign_out(crm, principal, campaign_id)
    response.headers["ETag"] = etag(out.version)
    return out


class SendOut(BaseModel):
    campaign: CampaignOut
    this_send: dict[str, Any] = Field(
        description="What this send did: recipients decided, sent, failed, excluded by reason"
    )


@router.post(
    "/api/v1/crm/campaigns/{campaign_id}/send",
    response_model=SendOut,
    dependencies=[permission(CAMPAIGNS_SEND)],
)
async def send_campaign(campaign_id: str, principal: CurrentPrincipal, crm: CrmDep) -> SendOut:
    """Send now, in this request. Each customer the segment matches gets one outcome: sent,
    failed, or excluded (no_consent, no_address, frequency_capped). Sending again only reaches
    those not reached yet: nobody gets the message twice. 409 while another send runs."""
    report = await svc.send_campaign(crm, campaign_id, principal=principal)
    return SendOut(
        campaign=await _campaign_out(crm, principal, campaign_id),
        this_send={
            "decided": report.decided,
            "sent": report.sent,
            "failed": report.failed,
            "excluded": report.excluded,
        },
    )


class RecipientOut(BaseModel):
    customer_id: str
    name: str
    address_masked: str
    status: str = Field(description="sending | sent | failed | excluded")
    reason: str = Field(description="for excluded: no_consent | no_address | frequency_capped")
    provider_id: str
    error: str
    attempts: int
    decided_at: datetime | None
    sent_at: datetime | None


@router.get(
    "/api/v1/crm/campaigns/{campaign_id}/recipients",
    response_model=Page[RecipientOut],
    dependencies=[permission(CAMPAIGNS_READ)],
)
async def list_recipients(
    campaign_id: str,
    principal: CurrentPrincipal,
    crm: CrmDep,
    page: PageQuery,
    status: Literal["sending", "sent", "failed", "excluded"] | None = None,
    reason: Literal["no_consent", "no_address", "frequency_capped"] | None = None,
) -> Page[RecipientOut]:
    """Each recipient's outcome (names shown, addresses masked)."""
    async with crm.db.session() as session:
        campaign = await svc.get_campaign(session, principal, campaign_id)
        stmt = select(CampaignRecipient).where(col(CampaignRecipient.campaign_id) == campaign.id)
        if status:
            stmt = stmt.where(col(CampaignRecipient.status) == status)
        if reason:
            stmt = stmt.where(col(CampaignRecipient.reason) == reason)
        rows, cursor = await paginate(
            session, stmt, page, order=(col(CampaignRecipient.customer_id),)
        )
    return Page(
        items=[
            RecipientOut(
                customer_id=r.customer_id,
                name=r.name,
                address_masked=r.address_masked,
                status=r.status,
                reason=r.reason,
                provider_id=r.provider_id,
                error=r.error,
                attempts=r.attempts,
                decided_at=r.decided_at,
                sent_at=r.sent_at,
            )
            for r in rows
        ],
        next_cursor=cursor,
    )
