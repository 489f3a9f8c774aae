"""Leads (线索) over HTTP: intake from staff and lead portals (JSON or ADF/XML), the list and one
lead with its funnel history, edits and status moves (If-Match), and the funnel report.

Who sees what: HQ every lead, managers their stores' leads, a sales consultant the leads assigned
to them; anything else is 404. Partner API keys with `crm.leads:create` push leads into the stores
their key names.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlmodel import col

from marque_crm.api.deps import CrmDep
from marque_crm.domain.adf import parse_adf
from marque_crm.domain.leads import CHANNELS, PARTNER_CHANNELS, LeadDetails, TradeIn
from marque_crm.leads_service import (
    CREATE,
    READ,
    WRITE,
    FunnelReport,
    Intake,
    NewLead,
    change_status,
    check_partner_lead,
    create_lead,
    funnel_report,
    get_lead,
    transitions_of,
    update_lead,
    visible_leads,
)
from marque_crm.models import Customer, Lead, LeadTransition
from marque_crm.unit_of_work import Crm
from marque_kit.auth import Principal
from marque_kit.errors import InvalidInput
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

router = APIRouter(prefix="/api/v1/crm/leads", tags=["leads"])


class TradeInIn(BaseModel):
    brand: str = Field("", max_length=60, examples=["Toyota"])
    model: str = Field("", max_length=60, examples=["Corolla"])
    year: int | None = Field(None, examples=[2018])
    mileage_km: int | None = Field(None, examples=[86000])

    def domain(self) -> TradeIn:
        return TradeIn(self.brand, self.model, self.year, self.mileage_km)


class LeadIn(BaseModel):
    """A new enquiry. The customer is found by mobile (or ID number) or created."""

    model_config = ConfigDict(extra="forbid")
    store_id: str = Field(min_length=1, max_length=20, examples=["SH01"])
    channel: str = Field(description=f"One of {', '.join(CHANNELS)}", examples=["autohome"])
    name: str = Field(max_length=200, examples=["王伟"])
    mobile: str = Field(max_length=40, examples=["138 0013 8000"])
    kind: str = Field("person", description="person | company")
    national_id: str = Field("", max_length=18)
    grade: str = Field("", description="H | A | B | C | N; default: from the timeframe")
    model_code: str = Field("", max_length=60, examples=["ID4"])
    trim_code: str = Field("", max_length=60, examples=["ID4-PRO"])
    budget_min_fen: int | None = Field(None, examples=[20_000_000])
    budget_max_fen: int | None = Field(None, examples=[25_000_000])
    timeframe: str = Field(
        "unknown",
        description="within_7_days | within_15_days | within_30_days | within_90_days | "
        "over_90_days | unknown",
    )
    payment_intention: str = Field("", description="cash | loan | lease, or empty")
    trade_in: TradeInIn | None = None
    comments: str = Field("", max_length=2000)
    source_ref: str = Field(
        "", max_length=120, description="The partner's own lead id (required for partner keys)"
    )


class LeadPatch(BaseModel):
    """Only the fields sent change; `null` empties a budget bound or the trade-in."""

    model_config = ConfigDict(extra="forbid")
    grade: str | None = None
    model_code: str | None = Field(None, max_length=60)
    trim_code: str | None = Field(None, max_length=60)
    budget_min_fen: int | None = None
    budget_max_fen: int | None = None
    timeframe: str | None = None
    payment_intention: str | None = None
    trade_in: TradeInIn | None = None
    comments: str | None = Field(None, max_length=2000)


class StatusIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: str = Field(examples=["contacted"])
    reason: str = Field("", max_length=200, description="Required for lost / invalid / reopening")


class TransitionOut(BaseModel):
    from_status: str
    to_status: str
    at: datetime | None
    actor: str
    reason: str


class CustomerBrief(BaseModel):
    id: str
    name: str
    mobile_masked: str


class LeadOut(BaseModel):
    id: str
    store_id: str
    customer_id: str
    customer: CustomerBrief | None = None
    channel: str
    status: str
    grade: str
    model_code: str
    trim_code: str
    budget_min_fen: int | None
    budget_max_fen: int | None
    timeframe: str
    payment_intention: str
    trade_in: dict[str, Any] | None
    comments: str
    assigned_to: str
    assigned_at: datetime | None
    first_contacted_at: datetime | None
    first_response_business_minutes: int | None
    first_response_after_hours: bool
    closed_at: datetime | None
    closed_reason: str
    source_ref: str
    duplicate_count: int
    last_enquiry_at: datetime | None
    created_at: datetime | None
    updated_at: datetime | None
    version: int
    transitions: list[TransitionOut] | None = None

    @classmethod
    def of(
        cls,
        lead: Lead,
        customer: Customer | None = None,
        transitions: list[LeadTransition] | None = None,
    ) -> LeadOut:
        data = {name: getattr(lead, name) for name in cls.model_fields if hasattr(lead, name)}
        data.pop("customer", None)
        data.pop("transitions", None)
        return cls(
            **data,
            customer=None
            if customer is None
            else CustomerBrief(
                id=customer.id, name=customer.name, mobile_masked=customer.mobile_masked
            ),
            transitions=None
            if transitions is None
            else [
                TransitionOut(
                    from_status=t.from_status,
                    to_status=t.to_status,
                    at=t.at,
                    actor=t.actor,
                    reason=t.reason,
                )
                for t in transitions
            ],
        )


class IntakeOut(LeadOut):
    """The lead the enquiry went to; `duplicate_of` is set when it was attached to the customer's
    open lead instead of making a new one, `resent` when a partner sent the same lead again."""

    duplicate_of: str | None = None
    resent: bool = False


class AdfIntakeOut(BaseModel):
    items: list[IntakeOut]
    created: int
    attached: int
    resent: int


class FunnelOut(BaseModel):
    store_id: str | None
    from_date: date | None = Field(None, serialization_alias="from")
    to_date: date | None = Field(None, serialization_alias="to")
    total: int
    by_status: dict[str, int]
    reached: dict[str, int]
    conversion: dict[str, float | None]
    win_rate: float | None
    first_response_p50_minutes: float | None
    first_response_p90_minutes: float | None
    responded: int
    not_yet_contacted: int
    after_hours: int
    after_hours_share: float | None


async def _intake_out(crm: Crm, session: Any, intake: Intake) -> IntakeOut:
    customer = await session.get(Customer, intake.lead.customer_id)
    out = LeadOut.of(intake.lead, customer)
    return IntakeOut(
        **out.model_dump(exclude={"transitions"}),
        duplicate_of=intake.duplicate_of,
        resent=intake.outcome == "resent",
    )


def _actor(principal: Principal) -> str:
    return principal.subject if principal.kind == "user" else principal.label()


@router.post(
    "",
    status_code=201,
    response_model=IntakeOut,
    dependencies=[permission(CREATE)],
    responses={200: {"description": "Attached to the customer's open lead, or a resend"}},
)
async def create(
    body: LeadIn, principal: CurrentPrincipal, crm: CrmDep, idem: IdempotencyDep
) -> Response:
    """Take in an enquiry: 201 with a new lead, or 200 with the customer's open lead in that
    store (`duplicate_of`) or the lead a partner already sent (`resent`)."""
    principal.require_store(body.store_id, what=f"Store {body.store_id}")
    check_partner_lead(principal, body.channel, body.source_ref)
    async with crm.uow() as uow:
        if replay := await idem.begin(uow.session, body):
            return replay
        intake = await create_lead(
            uow.session,
            crm,
            NewLead(
                store_id=body.store_id,
                channel=body.channel,
                name=body.name,
                mobile=body.mobile,
                kind=body.kind,
                national_id=body.national_id,
                source_ref=body.source_ref,
                actor=_actor(principal),
                details=LeadDetails(
                    model_code=body.model_code,
                    trim_code=body.trim_code,
                    budget_min_fen=body.budget_min_fen,
                    budget_max_fen=body.budget_max_fen,
                    timeframe=body.timeframe,
                    payment_intention=body.payment_intention,
                    trade_in=body.trade_in.domain() if body.trade_in else None,
                    grade=body.grade,
                    comments=body.comments,
                ),
            ),
        )
        out = await _intake_out(crm, uow.session, intake)
        response = await idem.complete(
            uow.session,
            201 if intake.outcome == "created" else 200,
            out,
            headers={"ETag": etag(intake.lead.version)},
        )
        await uow.commit()
    return response


XML_TYPES = ("application/xml", "text/xml", "application/adf+xml")


@router.post(
    "/adf",
    status_code=201,
    response_model=AdfIntakeOut,
    dependencies=[permission(CREATE)],
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/xml": {"schema": {"type": "string"}}},
            "description": "An ADF/XML 1.0 document: <adf><prospect>…</prospect></adf>",
        }
    },
)
async def create_from_adf(
    request: Request,
    principal: CurrentPrincipal,
    crm: CrmDep,
    idem: IdempotencyDep,
    store_id: Annotated[str, Query(min_length=1, max_length=20)],
    channel: Annotated[
        str | None,
        Query(description="Channel when the ADF provider is not a known lead portal"),
    ] = None,
) -> Response:
    """Take in every `<prospect>` of an ADF document as a lead (all or nothing: one bad prospect
    refuses the document, naming it). 201 when any lead is new, else 200."""
    principal.require_store(store_id, what=f"Store {store_id}")
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in XML_TYPES:
        raise InvalidInput(
            f"Send the ADF document as XML (Content-Type: application/xml), not {content_type!r}.",
            errors=[{"field": "Content-Type", "location": "header", "rule": "media_type"}],
        )
    document = await request.body()
    prospects = parse_adf(document, received_at=crm.now())
    async with crm.uow() as uow:
        if replay := await idem.begin(uow.session, document):
            return replay
        items: list[IntakeOut] = []
        for prospect in prospects:
            lead_channel = (
                channel or prospect.channel or ("" if principal.kind == "partner" else "website")
            )
            if principal.kind == "partner" and lead_channel not in PARTNER_CHANNELS:
                raise InvalidInput(
                    f"A partner key pushes lead-portal leads: ?channel= must be one of "
                    f"{', '.join(PARTNER_CHANNELS)}.",
                    errors=[{"field": "channel", "location": "query", "rule": "partner_channel"}],
                )
            intake = await create_lead(
                uow.session,
                crm,
                NewLead(
                    store_id=store_id,
                    channel=lead_channel,
                    name=prospect.name,
                    mobile=prospect.mobile,
                    source_ref=prospect.source_ref,
                    actor=_actor(principal),
                    details=prospect.details,
                ),
            )
            items.append(await _intake_out(crm, uow.session, intake))
        created = sum(1 for i in items if i.duplicate_of is None and not i.resent)
        attached = sum(1 for i in items if i.duplicate_of is not None)
        out = AdfIntakeOut(
            items=items, created=created, attached=attached, resent=len(items) - created - attached
        )
        response = await idem.complete(uow.session, 201 if created else 200, out)
        await uow.commit()
    return response


def _instant(value: datetime, crm: Crm) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=crm.zone)


@router.get("", response_model=Page[LeadOut], dependencies=[permission(READ)])
async def list_leads(
    principal: CurrentPrincipal,
    crm: CrmDep,
    page: PageQuery,
    store_id: str | None = None,
    status: str | None = None,
    grade: str | None = None,
    channel: str | None = None,
    assigned_to: str | None = None,
    customer_id: str | None = None,
    created_from: Annotated[
        Instant | None, Query(description="From this instant (naive: store time)")
    ] = None,
    created_to: Annotated[Instant | None, Query(description="Before this instant")] = None,
) -> Page[LeadOut]:
    """The leads the caller can see, newest first (a consultant: their own)."""
    # (Lead, Customer) rows; typed loosely because paginate takes a one-parameter Select.
    stmt: Any = select(Lead, Customer).join(Customer, col(Customer.id) == col(Lead.customer_id))
    stmt = stmt.where(visible_leads(principal))
    for column, value in (
        (Lead.store_id, store_id),
        (Lead.status, status),
        (Lead.grade, grade),
        (Lead.channel, channel),
        (Lead.assigned_to, assigned_to),
        (Lead.customer_id, customer_id),
    ):
        if value is not None:
            stmt = stmt.where(col(column) == value)
    if created_from is not None:
        stmt = stmt.where(col(Lead.created_at) >= _instant(created_from, crm))
    if created_to is not None:
        stmt = stmt.where(col(Lead.created_at) < _instant(created_to, crm))
    order = (col(Lead.created_at), col(Lead.id))
    async with crm.db.session() as session:
        rows, cursor = await paginate(
            session,
            stmt,
            page,
            order=order,
            descending=True,
            scalars=False,
            key=lambda row: (row[0].created_at, row[0].id),
        )
    return Page(items=[LeadOut.of(lead, customer) for lead, customer in rows], next_cursor=cursor)


@router.get("/funnel", response_model=FunnelOut, dependencies=[permission(READ)])
async def funnel(
    principal: CurrentPrincipal,
    crm: CrmDep,
    store_id: str | None = None,
    from_date: Annotated[
        Day | None, Query(alias="from", description="First business day (store time)")
    ] = None,
    to_date: Annotated[
        Day | None, Query(alias="to", description="Last business day, included")
    ] = None,
) -> FunnelOut:
    """Leads created in the period, per status and along the funnel, with conversion ratios,
    first-response business minutes (p50, p90) and the share that arrived after hours."""
    if from_date and to_date and from_date > to_date:
        raise InvalidInput(
            "`from` is after `to`; give the period's first and last day.",
            errors=[{"field": "from", "location": "query", "rule": "order"}],
        )
    since = datetime.combine(from_date, time(), tzinfo=crm.zone) if from_date else None
    until = (
        datetime.combine(to_date + timedelta(days=1), time(), tzinfo=crm.zone) if to_date else None
    )
    async with crm.db.session() as session:
        report: FunnelReport = await funnel_report(
            session, principal, store_id=store_id, since=since, until=until
        )
    return FunnelOut(
        store_id=store_id,
        from_date=from_date,
        to_date=to_date,
        **report.__dict__,
    )


@router.get("/{lead_id}", response_model=LeadOut, dependencies=[permission(READ)])
async def read(
    lead_id: str, principal: CurrentPrincipal, crm: CrmDep, response: Response
) -> LeadOut:
    """One lead with its funnel history (every transition, timestamped)."""
    async with crm.db.session() as session:
        lead = await get_lead(session, principal, lead_id)
        customer = await session.get(Customer, lead.customer_id)
        transitions = await transitions_of(session, lead.id)
    response.headers["ETag"] = etag(lead.version)
    return LeadOut.of(lead, customer, transitions)


async def _answer(crm: Crm, session: Any, lead: Lead, response: Response) -> LeadOut:
    customer = await session.get(Customer, lead.customer_id)
    transitions = await transitions_of(session, lead.id)
    response.headers["ETag"] = etag(lead.version)
    return LeadOut.of(lead, customer, transitions)


@router.patch("/{lead_id}", response_model=LeadOut, dependencies=[permission(WRITE)])
async def patch(
    lead_id: str,
    body: LeadPatch,
    principal: CurrentPrincipal,
    crm: CrmDep,
    version: IfMatch,
    response: Response,
) -> LeadOut:
    """Change the model, budget, timeframe, payment intention, trade-in, grade or comments."""
    changes = body.model_dump(exclude_unset=True)
    async with crm.uow() as uow:
        lead = await update_lead(uow.session, crm, principal, lead_id, version, changes)
        out = await _answer(crm, uow.session, lead, response)
        await uow.commit()
    return out


@router.post("/{lead_id}/status", response_model=LeadOut, dependencies=[permission(WRITE)])
async def move(
    lead_id: str,
    body: StatusIn,
    principal: CurrentPrincipal,
    crm: CrmDep,
    version: IfMatch,
    response: Response,
) -> LeadOut:
    """Move the lead along the funnel: forward (skipping allowed), won, lost or invalid with a
    reason from the store's list; a manager may reopen a lost or invalid lead to contacted."""
    async with crm.uow() as uow:
        lead = await change_status(
            uow.session, crm, principal, lead_id, version, body.status, body.reason
        )
        out = await _answer(crm, uow.session, lead, response)
        await uow.commit()
    return out
