"""The rulebook of partner API keys: what a key string looks like, what a key may grant, where,
how fast, for how long, and why a key is refused.

- A key string is `mq_<key id>_<secret>`: the key id is public (lowercase letters, digits and `-`,
  never `_`), the secret is URL-safe random text and is kept only as a hash.
- A scope is `<service>.<resource>:<action>` (`inventory.vehicles:read`, `crm.leads:create`); the
  action may be `*` (every action on that resource) and nothing else may be a wildcard. Of the
  gateway's own permissions a partner may only hold `group.webhooks:<action>`: users, keys and the
  audit log are staff business.
- A key names its stores one by one; `*` (every store, i.e. HQ) is never given to a partner.
- A key's rate limit is 1 to 100 000 requests a minute; its expiry, when set, is in the future and
  at most `MAX_LIFETIME_DAYS` away.
- A key is refused once revoked (rotation revokes the old key at the end of its grace period) or
  once expired.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, timedelta

from marque_kit.errors import InvalidInput, Unauthenticated

API_KEY_PREFIX = "mq_"
KEY_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{2,39}$")
SECRET_PATTERN = re.compile(r"^[A-Za-z0-9_-]{16,200}$")
PARTNER_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_.-]{1,79}$")
STORE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,19}$")
SCOPE_PATTERN = re.compile(r"^([a-z][a-z0-9_]*)\.([a-z][a-z0-9_]*):([a-z][a-z0-9_]*|\*)$")
ALL_STORES = "*"

# Services whose permissions a key may grant (the gateway's own are "group").
SERVICES = frozenset({"inventory", "crm", "sales", "aftersales", "finance", "reporting", "group"})
# The only gateway resources a partner may touch.
PARTNER_GROUP_RESOURCES = frozenset({"webhooks"})

MIN_RATE_LIMIT = 1
MAX_RATE_LIMIT = 100_000
MAX_LIFETIME_DAYS = 3 * 366
MAX_SCOPES = 100
MAX_STORES = 500


# --- the key string ------------------------------------------------------------------------------


def format_key(key_id: str, secret: str) -> str:
    return f"{API_KEY_PREFIX}{key_id}_{secret}"


def parse_key(raw: str) -> tuple[str, str]:
    """(key id, secret), or Unauthenticated (401) when the string is not shaped like a Marque key.

    The key id holds no `_`, so the first `_` after the prefix ends it; the secret may hold `_`.
    """
    if not raw.startswith(API_KEY_PREFIX):
        raise Unauthenticated(f"An API key starts with '{API_KEY_PREFIX}'; check the key you sent.")
    key_id, sep, secret = raw[len(API_KEY_PREFIX) :].partition("_")
    if not sep or not KEY_ID_PATTERN.match(key_id) or not SECRET_PATTERN.match(secret):
        raise Unauthenticated("The API key is malformed; copy it again from when it was issued.")
    return key_id, secret


# --- what a key grants ---------------------------------------------------------------------------


def _field_error(field: str, message: str) -> list[dict[str, str]]:
    return [{"field": field, "location": "body", "message": message}]


def scope_problem(scope: str) -> str | None:
    """Why `scope` cannot be granted to a partner, or None when it can."""
    match = SCOPE_PATTERN.match(scope)
    if match is None:
        return (
            f"'{scope}' is not a scope: write <service>.<resource>:<action>, "
            "e.g. inventory.vehicles:read or crm.leads:create (the action may be '*')"
        )
    service, resource, _ = match.groups()
    if service not in SERVICES:
        return f"'{scope}' names no Marque service; use one of {', '.join(sorted(SERVICES))}"
    if service == "group" and resource not in PARTNER_GROUP_RESOURCES:
        return f"'{scope}' is staff-only; a partner may hold only group.webhooks:<action>"
    return None


def validate_scopes(scopes: Iterable[str]) -> list[str]:
    """The scopes, stripped and without duplicates, or InvalidInput (422) naming each bad one."""
    cleaned = list(dict.fromkeys(s.strip() for s in scopes))
    if not cleaned:
        raise InvalidInput(
            "A key needs at least one scope, e.g. inventory.vehicles:read.",
            errors=_field_error("scopes", "empty"),
        )
    if len(cleaned) > MAX_SCOPES:
        raise InvalidInput(
            f"A key holds at most {MAX_SCOPES} scopes; use '<service>.<resource>:*' to group them.",
            errors=_field_error("scopes", "too many"),
        )
    problems = [p for p in (scope_problem(s) for s in cleaned) if p is not None]
    if problems:
        raise InvalidInput(
            "Some scopes cannot be granted: " + "; ".join(problems) + ".",
            errors=[{"field": "scopes", "location": "body", "message": p} for p in problems],
        )
    return cleaned


def validate_stores(stores: Iterable[str]) -> list[str]:
    """The stores a key may act in, named one by one; `*` is refused."""
    cleaned = list(dict.fromkeys(s.strip() for s in stores))
    if not cleaned:
        raise InvalidInput(
            "A key needs at least one store it may act in, e.g. SH01.",
            errors=_field_error("stores", "empty"),
        )
    if ALL_STORES in cleaned:
        raise InvalidInput(
            "A partner key cannot hold every store ('*'); list the stores it may act in.",
            errors=_field_error("stores", "'*' is for HQ staff only"),
        )
    if len(cleaned) > MAX_STORES:
        raise InvalidInput(
            f"A key names at most {MAX_STORES} stores.", errors=_field_error("stores", "too many")
        )
    bad = [s for s in cleaned if not STORE_PATTERN.match(s)]
    if bad:
        raise InvalidInput(
            f"Not store ids: {', '.join(repr(s) for s in bad)}; a store id looks like SH01.",
            errors=_field_error("stores", "not a store id"),
        )
    return cleaned


def validate_partner(partner: str) -> str:
    partner = partner.strip().lower()
    if not PARTNER_PATTERN.match(partner):
        raise InvalidInput(
            "A partner name is 2 to 80 lowercase letters, digits, '.', '_' or '-', e.g. autohome.",
            errors=_field_error("partner", "not a partner name"),
        )
    return partner


def validate_rate_limit(per_minute: int) -> int:
    if not MIN_RATE_LIMIT <= per_minute <= MAX_RATE_LIMIT:
        raise InvalidInput(
            f"A key's rate limit is {MIN_RATE_LIMIT} to {MAX_RATE_LIMIT} requests a minute.",
            errors=_field_error("rate_limit_per_minute", "out of range"),
        )
    return per_minute


def validate_expiry(expires_at: datetime | None, *, now: datetime) -> datetime | None:
    """None (never expires) or an aware time in the future, at most MAX_LIFETIME_DAYS away."""
    if expires_at is None:
        return None
    if expires_at.tzinfo is None:
        raise InvalidInput(
            "expires_at needs a time zone, e.g. 2027-01-31T00:00:00Z.",
            errors=_field_error("expires_at", "no time zone"),
        )
    if expires_at <= now:
        raise InvalidInput(
            "expires_at must be in the future; to stop a key now, revoke it.",
            errors=_field_error("expires_at", "in the past"),
        )
    if expires_at > now + timedelta(days=MAX_LIFETIME_DAYS):
        raise InvalidInput(
            f"A key lives at most {MAX_LIFETIME_DAYS} days; rotate it before then.",
            errors=_field_error("expires_at", "too far"),
        )
    return expires_at


# --- when a key stops working --------------------------------------------------------------------


def rotation_cutoff(now: datetime, grace_hours: float) -> datetime:
    """When the old key of a rotation stops working: after the grace period, or now."""
    return now + timedelta(hours=max(grace_hours, 0.0))


def refusal(
    *,
    key_id: str,
    revoked_at: datetime | None,
    expires_at: datetime | None,
    rotated_to: str | None,
    now: datetime,
) -> str | None:
    """Why the key is refused at `now` (a sentence for the caller), or None while it is valid."""
    if revoked_at is not None and revoked_at <= now:
        if rotated_to:
            return (
                f"The API key {key_id} was rotated; it stopped working on "
                f"{revoked_at:%Y-%m-%d %H:%M} UTC. Use its replacement, key {rotated_to}."
            )
        return (
            f"The API key {key_id} was revoked on {revoked_at:%Y-%m-%d %H:%M} UTC; "
            "ask Marque HQ for a new one."
        )
    if expires_at is not None and expires_at <= now:
        return (
            f"The API key {key_id} expired on {expires_at:%Y-%m-%d %H:%M} UTC; "
            "ask Marque HQ to rotate it."
        )
    return None
