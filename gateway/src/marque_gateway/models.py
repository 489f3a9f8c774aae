"""The gateway's tables (SQLModel): users, refresh tokens, partner API keys, webhook subscriptions
and deliveries, idempotency records and the append-only audit log. Database `marque_gateway`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Identity,
    Index,
    LargeBinary,
    String,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlmodel import Field, SQLModel


def _ts(nullable: bool = True) -> Any:
    return Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=nullable))


def _created() -> Any:
    return Field(
        default=None,
        sa_column=Column(DateTime(timezone=True), server_default=func.now(), nullable=False),
    )


def _strings() -> Any:
    return Field(default_factory=list, sa_column=Column(ARRAY(String), nullable=False))


class User(SQLModel, table=True):
    """A member of staff. `stores` holds store ids, or `*` for HQ (every store)."""

    __tablename__ = "users"
    id: str = Field(primary_key=True, max_length=40)
    username: str = Field(max_length=80, unique=True)  # stored lower-case
    display_name: str = ""
    password_hash: str
    roles: list[str] = _strings()
    stores: list[str] = _strings()
    disabled: bool = False
    is_demo: bool = False  # demo accounts from `marque seed`; production refuses them
    failed_logins: int = 0
    locked_until: datetime | None = _ts()
    must_change_password: bool = False
    password_changed_at: datetime | None = _ts()
    last_login_at: datetime | None = _ts()
    version: int = 1
    created_at: datetime | None = _created()
    updated_at: datetime | None = _created()


class RefreshToken(SQLModel, table=True):
    """One refresh token of a rotation family. Reusing a used token revokes the whole family."""

    __tablename__ = "refresh_tokens"
    __table_args__ = (Index("refresh_tokens_family", "family_id"),)
    id: str = Field(primary_key=True, max_length=40)
    user_id: str = Field(foreign_key="users.id", index=True, max_length=40)
    family_id: str = Field(max_length=40)
    token_hash: str = Field(max_length=64, unique=True)  # sha256 hex of the opaque token
    expires_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    used_at: datetime | None = _ts()
    revoked_at: datetime | None = _ts()
    created_at: datetime | None = _created()


class ApiKey(SQLModel, table=True):
    """A partner's API key. The secret is shown once and kept only as a sha256 hash."""

    __tablename__ = "api_keys"
    id: str = Field(primary_key=True, max_length=40)  # public key id, part of the key string
    partner: str = Field(max_length=80, index=True)  # e.g. "autohome"; survives rotation
    name: str = ""
    secret_hash: str = Field(max_length=64)
    scopes: list[str] = _strings()
    stores: list[str] = _strings()
    rate_limit_per_minute: int = 120
    expires_at: datetime | None = _ts()
    revoked_at: datetime | None = _ts()
    rotated_to: str | None = Field(default=None, max_length=40)
    is_demo: bool = False
    created_by: str = ""
    created_at: datetime | None = _created()
    last_used_at: datetime | None = _ts()
    version: int = 1


class WebhookSubscription(SQLModel, table=True):
    """A partner's URL for some event types; deliveries are signed with its secret."""

    __tablename__ = "webhook_subscriptions"
    id: str = Field(primary_key=True, max_length=40)
    partner: str = Field(max_length=80, index=True)
    url: str = Field(max_length=2000)
    event_types: list[str] = _strings()  # routing-key patterns: inventory.transfer.*
    stores: list[str] = _strings()  # the partner's allowed stores when it subscribed
    secret_encrypted: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    active: bool = True
    description: str = ""
    created_by: str = ""
    created_at: datetime | None = _created()
    version: int = 1


class WebhookDelivery(SQLModel, table=True):
    """One event for one subscription: pending → succeeded, or failed after the last retry."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("subscription_id", "event_id", name="webhook_deliveries_once"),
        Index("webhook_deliveries_due", "status", "next_attempt_at"),
        Index("webhook_deliveries_subject", "subscription_id", "subject", "seq"),
    )
    id: str = Field(primary_key=True, max_length=40)
    subscription_id: str = Field(foreign_key="webhook_subscriptions.id", max_length=40)
    event_id: str = Field(max_length=100)
    event_type: str = Field(max_length=200)
    routing_key: str = Field(max_length=200)
    subject: str = Field(default="", max_length=200)
    store_id: str = Field(default="", max_length=40)
    seq: int = Field(default=0, sa_type=BigInteger)
    envelope: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
    status: str = Field(default="pending", max_length=20)
    attempts: int = 0
    next_attempt_at: datetime | None = _ts()
    last_status_code: int | None = None
    last_error: str | None = None
    created_at: datetime | None = _created()
    delivered_at: datetime | None = _ts()


class WebhookAttempt(SQLModel, table=True):
    __tablename__ = "webhook_attempts"
    id: int | None = Field(
        default=None, sa_column=Column(BigInteger, Identity(always=True), primary_key=True)
    )
    delivery_id: str = Field(foreign_key="webhook_deliveries.id", index=True, max_length=40)
    attempted_at: datetime | None = _created()
    status_code: int | None = None
    error: str | None = None
    duration_ms: int = 0


class IdempotencyRecord(SQLModel, table=True):
    """A POST answered through the gateway, replayed byte for byte on a repeat of its key."""

    __tablename__ = "gateway_idempotency"
    principal: str = Field(primary_key=True, max_length=200)
    key: str = Field(primary_key=True, max_length=200)
    method: str = Field(max_length=10)
    path: str = Field(max_length=2000)
    request_hash: str = Field(max_length=64)
    state: str = Field(default="in_flight", max_length=20)  # in_flight | done
    status_code: int | None = None
    response_headers: list[list[str]] | None = Field(default=None, sa_column=Column(JSONB))
    response_body: bytes | None = Field(default=None, sa_column=Column(LargeBinary))
    created_at: datetime | None = _created()
    completed_at: datetime | None = _ts()


class AuditEntry(SQLModel, table=True):
    """Append-only: a trigger refuses UPDATE and DELETE. One row per write through the gateway."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("audit_log_at", "at"),
        Index("audit_log_actor", "actor", "at"),
    )
    id: int | None = Field(
        default=None, sa_column=Column(BigInteger, Identity(always=True), primary_key=True)
    )
    at: datetime | None = _created()
    actor: str = Field(max_length=200)  # user:<id> / partner:<key id> / anonymous
    actor_name: str = ""
    actor_kind: str = Field(max_length=20)
    roles: list[str] = _strings()
    stores: list[str] = _strings()
    store_id: str | None = Field(default=None, max_length=40)  # the store written to, when known
    method: str = Field(max_length=10)
    path: str = Field(max_length=2000)
    status: int
    request_id: str = Field(max_length=100)
    client_ip: str = Field(default="", max_length=64)
    user_agent: str = Field(default="", max_length=300)
    duration_ms: int = 0
