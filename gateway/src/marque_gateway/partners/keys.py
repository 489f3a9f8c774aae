"""Partner API keys: `mq_<key id>_<secret>`, shown once, kept only as a sha256 of the secret.

The secret is 32 random bytes, so a fast hash is safe here (no password stretching needed); the
lookup is by the public key id, and the hash is compared in constant time.

Administration: issue, rotate (the old key keeps working for `rotation_grace_hours`, then stops),
revoke, change scopes/stores/limit/expiry, list. The rules live in `domain.api_keys`.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from sqlmodel import col, select

from marque_gateway.domain import api_keys as rules
from marque_gateway.domain.api_keys import API_KEY_PREFIX, format_key, parse_key
from marque_gateway.gateway import Gateway
from marque_gateway.models import ApiKey
from marque_kit.auth import Principal
from marque_kit.db import Database
from marque_kit.errors import Conflict, NotFound, Unauthenticated
from marque_kit.http import check_version

__all__ = [
    "API_KEY_PREFIX",
    "UNSET",
    "Rotation",
    "authenticate_key",
    "format_key",
    "get_key",
    "hash_secret",
    "issue_key",
    "key_status",
    "parse_key",
    "principal_of",
    "revoke_key",
    "rotate_key",
    "update_key",
]


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()

KeyStatus = Literal["active", "rotating", "revoked", "expired"]


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_key_id() -> str:
    return secrets.token_hex(6)


def _now(now: datetime | None) -> datetime:
    return now if now is not None else datetime.now(UTC)


async def issue_key(
    db: Database,
    *,
    partner: str,
    name: str,
    scopes: Sequence[str],
    stores: Sequence[str],
    rate_limit_per_minute: int,
    expires_at: datetime | None,
    created_by: str,
    is_demo: bool = False,
    key_id: str | None = None,
    secret: str | None = None,
) -> tuple[ApiKey, str]:
    """Store a new key and answer (row, raw key). The raw key is never stored or shown again.

    What the key grants is checked here (422 otherwise); whether `expires_at` lies in the future is
    the caller's check (`rules.validate_expiry`), so that tests can make an already-expired key.
    """
    key_id = key_id or new_key_id()
    secret = secret or secrets.token_urlsafe(32)
    raw = format_key(key_id, secret)
    parse_key(raw)  # the key we hand out must be one we accept
    row = ApiKey(
        id=key_id,
        partner=rules.validate_partner(partner),
        name=name.strip(),
        secret_hash=hash_secret(secret),
        scopes=rules.validate_scopes(scopes),
        stores=rules.validate_stores(stores),
        rate_limit_per_minute=rules.validate_rate_limit(rate_limit_per_minute),
        expires_at=expires_at,
        created_by=created_by,
        is_demo=is_demo,
    )
    async with db.session() as session, session.begin():
        session.add(row)
    return row, raw


def principal_of(key: ApiKey) -> Principal:
    return Principal(
        subject=key.id,
        kind="partner",
        name=key.partner,
        roles=("partner",),
        stores=tuple(key.stores),
        scopes=tuple(key.scopes),
        claims={"partner": key.partner, "rate_limit": key.rate_limit_per_minute},
    )


def key_status(key: ApiKey, *, now: datetime | None = None) -> KeyStatus:
    """active | rotating (replaced, still in its grace period) | revoked | expired."""
    at = _now(now)
    if rules.refusal(
        key_id=key.id,
        revoked_at=key.revoked_at,
        expires_at=key.expires_at,
        rotated_to=key.rotated_to,
        now=at,
    ):
        return "revoked" if key.revoked_at is not None and key.revoked_at <= at else "expired"
    return "rotating" if key.rotated_to else "active"


async def authenticate_key(gateway: Gateway, raw: str) -> Principal:
    """The partner the key belongs to, or Unauthenticated naming why it was refused."""
    key_id, secret = parse_key(raw)
    async with gateway.db.session() as session:
        key = await session.get(ApiKey, key_id)
    if key is None or not hmac.compare_digest(key.secret_hash, hash_secret(secret)):
        raise Unauthenticated("The API key is not known; check it, or ask Marque HQ for a new one.")
    why = rules.refusal(
        key_id=key.id,
        revoked_at=key.revoked_at,
        expires_at=key.expires_at,
        rotated_to=key.rotated_to,
        now=datetime.now(UTC),
    )
    if why is not None:
        raise Unauthenticated(why)
    if key.is_demo and gateway.settings.env == "production":
        raise Unauthenticated(
            f"The API key {key.id} is a local demo key, refused in production; "
            "ask Marque HQ for a real key."
        )
    return principal_of(key)


# --- administration ------------------------------------------------------------------------------


def _not_found(key_id: str) -> NotFound:
    return NotFound(f"No API key {key_id!r}; list the keys with GET /api/v1/group/keys.")


async def get_key(db: Database, *, key_id: str) -> ApiKey:
    async with db.session() as session:
        key = await session.get(ApiKey, key_id)
    if key is None:
        raise _not_found(key_id)
    return key


@dataclass(frozen=True)
class Rotation:
    new: ApiKey
    raw_key: str  # the new key, shown once
    old: ApiKey


async def rotate_key(
    db: Database,
    *,
    key_id: str,
    grace_hours: float,
    rotated_by: str,
    expires_at: datetime | Any | None = UNSET,
    now: datetime | None = None,
) -> Rotation:
    """A new key for the same partner, scopes, stores and limit. The old key keeps working for
    `grace_hours` (0: it stops at once). Unless given, the new key lives as long as the old one did.
    A revoked key, or one already rotated, cannot be rotated (409)."""
    at = _now(now)
    new_id = new_key_id()
    secret = secrets.token_urlsafe(32)
    async with db.session() as session, session.begin():
        old = (
            await session.execute(select(ApiKey).where(ApiKey.id == key_id).with_for_update())
        ).scalar_one_or_none()
        if old is None:
            raise _not_found(key_id)
        if old.rotated_to:
            raise Conflict(
                f"API key {key_id} was already rotated to {old.rotated_to}; "
                "rotate that key instead."
            )
        if old.revoked_at is not None and old.revoked_at <= at:
            raise Conflict(f"API key {key_id} is revoked; issue a new key for {old.partner}.")
        if expires_at is UNSET:
            lifetime = (
                old.expires_at - old.created_at
                if old.expires_at is not None and old.created_at is not None
                else None
            )
            expires_at = at + lifetime if lifetime is not None else None
        new = ApiKey(
            id=new_id,
            partner=old.partner,
            name=old.name,
            secret_hash=hash_secret(secret),
            scopes=list(old.scopes),
            stores=list(old.stores),
            rate_limit_per_minute=old.rate_limit_per_minute,
            expires_at=rules.validate_expiry(expires_at, now=at),
            created_by=rotated_by,
            is_demo=old.is_demo,
        )
        session.add(new)
        cutoff = rules.rotation_cutoff(at, grace_hours)
        if old.expires_at is not None and old.expires_at < cutoff:
            cutoff = max(old.expires_at, at)
        old.revoked_at = cutoff
        old.rotated_to = new_id
        old.version += 1
        session.add(old)
        await session.flush()
        await session.refresh(new)
        await session.refresh(old)
    return Rotation(new=new, raw_key=format_key(new_id, secret), old=old)


async def revoke_key(db: Database, *, key_id: str, now: datetime | None = None) -> ApiKey:
    """Stop the key now. Revoking a revoked key changes nothing; a key in its rotation grace
    period stops at once."""
    at = _now(now)
    async with db.session() as session, session.begin():
        key = (
            await session.execute(select(ApiKey).where(ApiKey.id == key_id).with_for_update())
        ).scalar_one_or_none()
        if key is None:
            raise _not_found(key_id)
        if key.revoked_at is None or key.revoked_at > at:
            key.revoked_at = at
            key.version += 1
            session.add(key)
    return key


async def update_key(
    db: Database,
    *,
    key_id: str,
    expected_version: int,
    scopes: Sequence[str] | None = None,
    stores: Sequence[str] | None = None,
    rate_limit_per_minute: int | None = None,
    expires_at: datetime | Any | None = UNSET,
    now: datetime | None = None,
) -> ApiKey:
    """Change what a key grants, where, how fast or until when (If-Match: 412 when stale).
    A revoked key cannot be changed (409). `expires_at=None` means "never expires"."""
    at = _now(now)
    async with db.session() as session, session.begin():
        key = (
            await session.execute(select(ApiKey).where(ApiKey.id == key_id).with_for_update())
        ).scalar_one_or_none()
        if key is None:
            raise _not_found(key_id)
        check_version(key.version, expected_version)
        if key.revoked_at is not None and key.revoked_at <= at:
            raise Conflict(f"API key {key_id} is revoked and cannot be changed.")
        if scopes is not None:
            key.scopes = rules.validate_scopes(scopes)
        if stores is not None:
            key.stores = rules.validate_stores(stores)
        if rate_limit_per_minute is not None:
            key.rate_limit_per_minute = rules.validate_rate_limit(rate_limit_per_minute)
        if expires_at is not UNSET:
            key.expires_at = rules.validate_expiry(expires_at, now=at)
        key.version += 1
        session.add(key)
    return key


def list_statement(*, partner: str | None = None, status: str | None = None) -> Any:
    """The keys, optionally of one partner and in one state (active keys include rotating ones)."""
    stmt = select(ApiKey)
    if partner:
        stmt = stmt.where(col(ApiKey.partner) == partner.strip().lower())
    now = datetime.now(UTC)
    live = (col(ApiKey.revoked_at).is_(None)) | (col(ApiKey.revoked_at) > now)
    unexpired = (col(ApiKey.expires_at).is_(None)) | (col(ApiKey.expires_at) > now)
    if status == "active":
        stmt = stmt.where(live, unexpired)
    elif status == "revoked":
        stmt = stmt.where(~live)
    elif status == "expired":
        stmt = stmt.where(live, ~unexpired)
    return stmt
