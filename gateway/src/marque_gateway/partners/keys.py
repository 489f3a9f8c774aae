"""Partner API keys: `mq_<key id>_<secret>`, shown once, kept only as a sha256 of the secret.

The secret is 32 random bytes, so a fast hash is safe here (no password stretching needed); the
lookup is by the public key id, and the hash is compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime

from marque_gateway.gateway import Gateway
from marque_gateway.models import ApiKey
from marque_kit.auth import Principal
from marque_kit.db import Database
from marque_kit.errors import Unauthenticated

API_KEY_PREFIX = "mq_"


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_key_id() -> str:
    return secrets.token_hex(6)


def format_key(key_id: str, secret: str) -> str:
    return f"{API_KEY_PREFIX}{key_id}_{secret}"


def parse_key(raw: str) -> tuple[str, str]:
    """(key id, secret), or Unauthenticated when the string is not shaped like a Marque key."""
    if not raw.startswith(API_KEY_PREFIX):
        raise Unauthenticated(f"An API key starts with '{API_KEY_PREFIX}'; check the key you sent.")
    key_id, sep, secret = raw[len(API_KEY_PREFIX) :].rpartition("_")
    if not sep or not key_id or len(secret) < 16:
        raise Unauthenticated("The API key is malformed; copy it again from when it was issued.")
    return key_id, secret


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
    """Store a new key and answer (row, raw key). The raw key is never stored or shown again."""
    key_id = key_id or new_key_id()
    secret = secret or secrets.token_urlsafe(32)
    row = ApiKey(
        id=key_id,
        partner=partner,
        name=name,
        secret_hash=hash_secret(secret),
        scopes=list(scopes),
        stores=list(stores),
        rate_limit_per_minute=rate_limit_per_minute,
        expires_at=expires_at,
        created_by=created_by,
        is_demo=is_demo,
    )
    async with db.session() as session, session.begin():
        session.add(row)
    return row, format_key(key_id, secret)


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


async def authenticate_key(gateway: Gateway, raw: str) -> Principal:
    """The partner the key belongs to, or Unauthenticated naming why it was refused."""
    key_id, secret = parse_key(raw)
    async with gateway.db.session() as session:
        key = await session.get(ApiKey, key_id)
    if key is None or not hmac.compare_digest(key.secret_hash, hash_secret(secret)):
        raise Unauthenticated("The API key is not known; check it, or ask Marque HQ for a new one.")
    now = datetime.now(UTC)
    if key.revoked_at is not None and key.revoked_at <= now:
        raise Unauthenticated(
            f"The API key {key.id} was revoked on {key.revoked_at:%Y-%m-%d %H:%M} UTC; "
            "use its replacement or ask Marque HQ for a new one."
        )
    if key.expires_at is not None and key.expires_at <= now:
        raise Unauthenticated(
            f"The API key {key.id} expired on {key.expires_at:%Y-%m-%d %H:%M} UTC; "
            "ask Marque HQ to rotate it."
        )
    return principal_of(key)
