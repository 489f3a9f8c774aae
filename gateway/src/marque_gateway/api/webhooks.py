"""Partner webhooks: `/api/v1/group/webhooks`.

Partners manage their own subscriptions with an API key holding `group.webhooks:write` (and
`group.webhooks:read` to list them); HQ administrators manage everyone's. Another partner's
subscription or delivery answers 404. Deliveries are POSTed by the deliverer in the background,
as CloudEvents JSON signed with `Marque-Signature` (see `marque_gateway.domain.webhooks`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlmodel import col

from marque_gateway.deps import GatewayDep, require
from marque_gateway.models import WebhookAttempt, WebhookDelivery, WebhookSubscription
from marque_gateway.webhooks import subscriptions as subs
from marque_gateway.webhooks.deliverer import wake_deliverer
from marque_kit.auth import Principal
from marque_kit.http import IfMatch, Page, PageQuery, etag, paginate

router = APIRouter(prefix="/api/v1/group/webhooks", tags=["group: webhooks"])

Reader = Annotated[Principal, Depends(require("group.webhooks:read"))]
Writer = Annotated[Principal, Depends(require("group.webhooks:write"))]

EVENT_TYPES_HELP = (
    "Routing-key patterns: 'inventory.transfer.*' (one word), 'inventory.#' (any words), "
    "'inventory.vehicle.arrived', or '*' for every event."
)


class SubscriptionIn(BaseModel):
    url: str = Field(max_length=2000, examples=["https://partner.example.com/marque/webhooks"])
    event_types: list[str] = Field(
        min_length=1,
        max_length=50,
        description=EVENT_TYPES_HELP,
        examples=[["inventory.transfer.*"]],
    )
    description: str = Field("", max_length=500)
    stores: list[str] | None = Field(
        None,
        max_length=200,
        description="Default: the stores of your API key. HQ must name them ('*' for all).",
    )
    partner: str | None = Field(
        None, max_length=80, description="HQ only: the partner the subscription is for."
    )


class SubscriptionPatch(BaseModel):
    url: str | None = Field(None, max_length=2000)
    event_types: list[str] | None = Field(None, min_length=1, max_length=50)
    description: str | None = Field(None, max_length=500)
    stores: list[str] | None = Field(None, max_length=200)
    active: bool | None = None


class SubscriptionOut(BaseModel):
    id: str
    partner: str
    url: str
    event_types: list[str]
    stores: list[str]
    active: bool
    description: str
    created_by: str
    created_at: datetime | None
    version: int

    @classmethod
    def of(cls, sub: WebhookSubscription) -> SubscriptionOut:
        return cls.model_validate(sub, from_attributes=True)


class SubscriptionWithSecret(SubscriptionOut):
    secret: str = Field(
        description="Signs every delivery (Marque-Signature). Shown only now: keep it safe."
    )


class DeliveryOut(BaseModel):
    id: str
    subscription_id: str
    event_id: str
    event_type: str
    routing_key: str
    subject: str
    store_id: str
    seq: int
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    created_at: datetime | None
    delivered_at: datetime | None

    @classmethod
    def of(cls, delivery: WebhookDelivery) -> DeliveryOut:
        return cls.model_validate(delivery, from_attributes=True)


class AttemptOut(BaseModel):
    attempted_at: datetime | None
    status_code: int | None
    error: str | None
    duration_ms: int


class DeliveryDetail(DeliveryOut):
    envelope: dict[str, Any]
    attempt_history: list[AttemptOut]


def _with_etag(response: Response, sub: WebhookSubscription) -> None:
    response.headers["ETag"] = etag(sub.version)


# --- deliveries (before /{subscription_id}, which would otherwise match "deliveries") ------------


@router.get("/deliveries/{delivery_id}", response_model=DeliveryDetail)
async def get_delivery(delivery_id: str, principal: Reader, gateway: GatewayDep) -> DeliveryDetail:
    """One delivery with the envelope sent and every attempt."""
    async with gateway.db.session() as session:
        delivery = await subs.load_delivery(session, principal=principal, delivery_id=delivery_id)
        attempts: list[WebhookAttempt] = await subs.attempts_of(session, delivery.id)
    return DeliveryDetail(
        **DeliveryOut.of(delivery).model_dump(),
        envelope=delivery.envelope,
        attempt_history=[AttemptOut.model_validate(a, from_attributes=True) for a in attempts],
    )


@router.post("/deliveries/{delivery_id}/resend", status_code=202, response_model=DeliveryOut)
async def resend(delivery_id: str, principal: Writer, gateway: GatewayDep) -> DeliveryOut:
    """Send a failed (or succeeded) delivery again, with a fresh set of attempts (409 while it
    is still pending)."""
    delivery = await subs.resend_delivery(gateway.db, principal=principal, delivery_id=delivery_id)
    wake_deliverer(gateway)
    return DeliveryOut.of(delivery)


# --- subscriptions -------------------------------------------------------------------------------


@router.post("", status_code=201, response_model=SubscriptionWithSecret)
async def create(
    body: SubscriptionIn, principal: Writer, gateway: GatewayDep, response: Response
) -> SubscriptionWithSecret:
    """Subscribe a URL to event types. The answer holds the signing secret, shown only now."""
    sub, secret = await subs.create_subscription(
        gateway.db,
        settings=gateway.settings,
        principal=principal,
        url=body.url,
        event_types=body.event_types,
        description=body.description,
        stores=body.stores,
        partner=body.partner,
    )
    _with_etag(response, sub)
    response.headers["Location"] = f"{router.prefix}/{sub.id}"
    response.headers["Cache-Control"] = "no-store"  # the secret is shown once
    return SubscriptionWithSecret(**SubscriptionOut.of(sub).model_dump(), secret=secret)


@router.get("", response_model=Page[SubscriptionOut])
async def list_subscriptions(
    principal: Reader,
    gateway: GatewayDep,
    page: PageQuery,
    active: Annotated[bool | None, Query(description="Only active (or inactive) ones")] = None,
    partner: Annotated[str | None, Query(max_length=80, description="HQ: one partner's")] = None,
) -> Page[SubscriptionOut]:
    """Your subscriptions (HQ: every partner's), oldest first."""
    stmt = subs.visible_subscriptions(principal)
    if active is not None:
        stmt = stmt.where(col(WebhookSubscription.active).is_(active))
    if partner is not None:
        stmt = stmt.where(col(WebhookSubscription.partner) == partner)
    async with gateway.db.session() as session:
        rows, next_cursor = await paginate(
            session,
            stmt,
            page,
            order=(col(WebhookSubscription.created_at), col(WebhookSubscription.id)),
        )
    return Page(items=[SubscriptionOut.of(r) for r in rows], next_cursor=next_cursor)


@router.get("/{subscription_id}", response_model=SubscriptionOut)
async def get_subscription(
    subscription_id: str, principal: Reader, gateway: GatewayDep, response: Response
) -> SubscriptionOut:
    async with gateway.db.session() as session:
        sub = await subs.load_subscription(
            session, principal=principal, subscription_id=subscription_id
        )
    _with_etag(response, sub)
    return SubscriptionOut.of(sub)


@router.patch("/{subscription_id}", response_model=SubscriptionOut)
async def patch_subscription(
    subscription_id: str,
    body: SubscriptionPatch,
    expected: IfMatch,
    principal: Writer,
    gateway: GatewayDep,
    response: Response,
) -> SubscriptionOut:
    """Change the URL, event types, description, stores or `active` (If-Match: its ETag)."""
    sub = await subs.update_subscription(
        gateway.db,
        settings=gateway.settings,
        principal=principal,
        subscription_id=subscription_id,
        expected_version=expected,
        changes=body.model_dump(exclude_unset=True),
    )
    _with_etag(response, sub)
    return SubscriptionOut.of(sub)


@router.delete("/{subscription_id}", status_code=204)
async def deactivate(subscription_id: str, principal: Writer, gateway: GatewayDep) -> Response:
    """Stop deliveries. The subscription and its history stay readable; pending deliveries fail."""
    await subs.deactivate_subscription(
        gateway.db, principal=principal, subscription_id=subscription_id
    )
    return Response(status_code=204)


@router.post("/{subscription_id}/rotate-secret", response_model=SubscriptionWithSecret)
async def rotate_secret(
    subscription_id: str, principal: Writer, gateway: GatewayDep, response: Response
) -> SubscriptionWithSecret:
    """A new signing secret, used from the next attempt on; shown only now."""
    sub, secret = await subs.rotate_secret(
        gateway.db, settings=gateway.settings, principal=principal, subscription_id=subscription_id
    )
    _with_etag(response, sub)
    response.headers["Cache-Control"] = "no-store"  # the secret is shown once
    return SubscriptionWithSecret(**SubscriptionOut.of(sub).model_dump(), secret=secret)


@router.post("/{subscription_id}/test", status_code=202, response_model=DeliveryOut)
async def send_test(subscription_id: str, principal: Writer, gateway: GatewayDep) -> DeliveryOut:
    """Send a `marque.gateway.v1.Ping` event to the URL now; follow it in the delivery history."""
    delivery = await subs.send_test(
        gateway.db, principal=principal, subscription_id=subscription_id
    )
    wake_deliverer(gateway)
    return DeliveryOut.of(delivery)


@router.get("/{subscription_id}/deliveries", response_model=Page[DeliveryOut])
async def list_deliveries(
    subscription_id: str,
    principal: Reader,
    gateway: GatewayDep,
    page: PageQuery,
    status: Annotated[Literal["pending", "succeeded", "failed"] | None, Query()] = None,
) -> Page[DeliveryOut]:
    """The subscription's deliveries, newest first."""
    async with gateway.db.session() as session:
        await subs.load_subscription(session, principal=principal, subscription_id=subscription_id)
        stmt = select(WebhookDelivery).where(
            col(WebhookDelivery.subscription_id) == subscription_id
        )
        if status is not None:
            stmt = stmt.where(col(WebhookDelivery.status) == status)
        rows, next_cursor = await paginate(
            session,
            stmt,
            page,
            order=(col(WebhookDelivery.created_at), col(WebhookDelivery.id)),
            descending=True,
        )
    return Page(items=[DeliveryOut.of(r) for r in rows], next_cursor=next_cursor)
