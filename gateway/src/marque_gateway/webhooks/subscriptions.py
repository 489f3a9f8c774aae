"""Managing subscriptions and deliveries: what the webhook routes call.

A partner (an API key) owns the subscriptions made under its partner name, whichever of its keys
made them; it sees only those, and anything else answers 404. Staff with the webhook permissions
(HQ) see every partner's. The secret is returned only by `create_subscription` and
`rotate_secret`; it is stored encrypted.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from marque_gateway.domain import webhooks as rules
from marque_gateway.models import WebhookAttempt, WebhookDelivery, WebhookSubscription
from marque_gateway.settings import GatewaySettings
from marque_gateway.webhooks.intake import delivery_row
from marque_gateway.webhooks.secrets import encrypt_secret, new_secret
from marque_kit.auth import Principal
from marque_kit.db import Database
from marque_kit.envelope import Envelope
from marque_kit.errors import InvalidInput, NotFound
from marque_kit.http import check_version

NOT_FOUND = "No such webhook subscription among yours."
DELIVERY_NOT_FOUND = "No such webhook delivery among your subscriptions."


def partner_of(principal: Principal) -> str | None:
    """The partner a caller acts for; None for staff, who see every partner's subscriptions."""
    if principal.kind != "partner":
        return None
    return str(principal.claims.get("partner") or principal.name)


def owns(principal: Principal, subscription: WebhookSubscription) -> bool:
    partner = partner_of(principal)
    return partner is None or subscription.partner == partner


def _stores_for(principal: Principal, stores: Sequence[str] | None) -> list[str]:
    if partner_of(principal) is not None:
        return rules.validate_stores(stores, principal.stores)
    if stores is None:
        raise InvalidInput(
            'Name the stores whose events this partner receives, e.g. ["SH01"], or ["*"].',
            errors=[{"field": "stores", "message": "required for staff"}],
        )
    return rules.validate_stores(stores, ["*"])


def _partner_for(principal: Principal, partner: str | None) -> str:
    own = partner_of(principal)
    if own is not None:
        if partner is not None and partner != own:
            raise InvalidInput(
                f"Your key belongs to {own}; leave out 'partner' or set it to {own!r}.",
                errors=[{"field": "partner", "message": "not yours"}],
            )
        return own
    if not partner or not partner.strip():
        raise InvalidInput(
            "Name the partner the subscription is for (the partner of its API keys).",
            errors=[{"field": "partner", "message": "required for staff"}],
        )
    return partner.strip()


async def create_subscription(
    db: Database,
    *,
    settings: GatewaySettings,
    principal: Principal,
    url: str,
    event_types: Sequence[str],
    description: str = "",
    stores: Sequence[str] | None = None,
    partner: str | None = None,
) -> tuple[WebhookSubscription, str]:
    """The new subscription and its secret (shown this once)."""
    secret = new_secret()
    subscription = WebhookSubscription(
        id=str(uuid.uuid4()),
        partner=_partner_for(principal, partner),
        url=rules.validate_url(url, production=settings.env == "production"),
        event_types=rules.validate_event_types(event_types, settings.webhook_sources),
        stores=_stores_for(principal, stores),
        secret_encrypted=encrypt_secret(secret, settings.webhook_key),
        description=description.strip(),
        created_by=principal.label(),
    )
    async with db.session() as session, session.begin():
        session.add(subscription)
    return subscription, secret


async def load_subscription(
    session: AsyncSession, *, principal: Principal, subscription_id: str, lock: bool = False
) -> WebhookSubscription:
    stmt = select(WebhookSubscription).where(col(WebhookSubscription.id) == subscription_id)
    if lock:
        stmt = stmt.with_for_update()
    subscription = (await session.execute(stmt)).scalar_one_or_none()
    if subscription is None or not owns(principal, subscription):
        raise NotFound(NOT_FOUND)
    return subscription


def visible_subscriptions(principal: Principal) -> Any:
    stmt = select(WebhookSubscription)
    partner = partner_of(principal)
    if partner is not None:
        stmt = stmt.where(col(WebhookSubscription.partner) == partner)
    return stmt


async def update_subscription(
    db: Database,
    *,
    settings: GatewaySettings,
    principal: Principal,
    subscription_id: str,
    expected_version: int,
    changes: dict[str, Any],
) -> WebhookSubscription:
    """Change url, event types, description, stores or active (If-Match: the version read)."""
    async with db.session() as session, session.begin():
        sub = await load_subscription(
            session, principal=principal, subscription_id=subscription_id, lock=True
        )
        check_version(sub.version, expected_version)
        if changes.get("url") is not None:
            sub.url = rules.validate_url(changes["url"], production=settings.env == "production")
        if changes.get("event_types") is not None:
            sub.event_types = rules.validate_event_types(
                changes["event_types"], settings.webhook_sources
            )
        if changes.get("description") is not None:
            sub.description = str(changes["description"]).strip()
        if changes.get("stores") is not None:
            sub.stores = _stores_for(principal, changes["stores"])
        if changes.get("active") is not None:
            sub.active = bool(changes["active"])
        sub.version += 1
    return sub


async def deactivate_subscription(
    db: Database, *, principal: Principal, subscription_id: str
) -> WebhookSubscription:
    """Stop deliveries: the subscription is kept (with its history) but inactive, and what was
    still pending is failed."""
    async with db.session() as session, session.begin():
        sub = await load_subscription(
            session, principal=principal, subscription_id=subscription_id, lock=True
        )
        if sub.active:
            sub.active = False
            sub.version += 1
        await session.execute(
            update(WebhookDelivery)
            .where(
                col(WebhookDelivery.subscription_id) == sub.id,
                col(WebhookDelivery.status) == rules.DeliveryStatus.PENDING.value,
            )
            .values(
                status=rules.DeliveryStatus.FAILED.value,
                next_attempt_at=None,
                last_error="the subscription was deactivated",
            )
        )
    return sub


async def rotate_secret(
    db: Database, *, settings: GatewaySettings, principal: Principal, subscription_id: str
) -> tuple[WebhookSubscription, str]:
    """A new secret, in force for the next attempt of every delivery; shown this once."""
    secret = new_secret()
    async with db.session() as session, session.begin():
        sub = await load_subscription(
            session, principal=principal, subscription_id=subscription_id, lock=True
        )
        sub.secret_encrypted = encrypt_secret(secret, settings.webhook_key)
        sub.version += 1
    return sub, secret


def ping_envelope(subscription: WebhookSubscription) -> Envelope:
    return Envelope(
        id=str(uuid.uuid4()),
        source="marque/gateway",
        type=rules.PING_TYPE,
        time=datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        data={
            "subscriptionId": subscription.id,
            "message": "A test delivery from Marque: your endpoint is reachable.",
        },
        subject="",
        store="",
    )


async def send_test(db: Database, *, principal: Principal, subscription_id: str) -> WebhookDelivery:
    """Queue a `marque.gateway.v1.Ping` delivery to the subscription's URL, due now."""
    async with db.session() as session, session.begin():
        sub = await load_subscription(session, principal=principal, subscription_id=subscription_id)
        if not sub.active:
            raise InvalidInput(
                "This subscription is inactive; reactivate it (PATCH active=true) to test it."
            )
        row = delivery_row(sub.id, ping_envelope(sub), rules.PING_ROUTING_KEY, datetime.now(UTC))
        delivery = WebhookDelivery(**row)
        session.add(delivery)
    return delivery


async def load_delivery(
    session: AsyncSession, *, principal: Principal, delivery_id: str, lock: bool = False
) -> WebhookDelivery:
    stmt = (
        select(WebhookDelivery, WebhookSubscription)
        .join(
            WebhookSubscription,
            col(WebhookSubscription.id) == col(WebhookDelivery.subscription_id),
        )
        .where(col(WebhookDelivery.id) == delivery_id)
    )
    if lock:
        stmt = stmt.with_for_update(of=WebhookDelivery)
    found = (await session.execute(stmt)).first()
    if found is None or not owns(principal, found[1]):
        raise NotFound(DELIVERY_NOT_FOUND)
    delivery: WebhookDelivery = found[0]
    return delivery


async def attempts_of(session: AsyncSession, delivery_id: str) -> list[WebhookAttempt]:
    rows = await session.execute(
        select(WebhookAttempt)
        .where(col(WebhookAttempt.delivery_id) == delivery_id)
        .order_by(col(WebhookAttempt.id))
    )
    return list(rows.scalars().all())


async def resend_delivery(
    db: Database, *, principal: Principal, delivery_id: str
) -> WebhookDelivery:
    """Put a failed (or succeeded) delivery back in the queue with a fresh set of attempts."""
    async with db.session() as session, session.begin():
        delivery = await load_delivery(
            session, principal=principal, delivery_id=delivery_id, lock=True
        )
        sub = await session.get(WebhookSubscription, delivery.subscription_id)
        if sub is None or not sub.active:
            raise InvalidInput(
                "This delivery's subscription is inactive; reactivate it (PATCH active=true) "
                "before resending."
            )
        delivery.status = rules.resend(delivery.status).value
        delivery.attempts = 0
        delivery.next_attempt_at = datetime.now(UTC)
        delivery.last_error = None
    return delivery
