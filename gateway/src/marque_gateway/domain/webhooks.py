"""The rules of partner webhooks: which events a subscription receives, how a delivery is signed,
when it is tried again, and the states it goes through.

- **Event types** are routing-key patterns (AMQP topic syntax): `inventory.transfer.*` (`*` is
  one word), `inventory.#` (`#` is any number of words), `inventory.vehicle.received`, or `*`
  alone for every event the gateway forwards. The first word names a producer the gateway
  forwards (`settings.webhook_sources`).
- **Stores**: an event goes to a subscription only if the event's store (`marquestore`) is one
  of the subscription's stores; `*` means every store. An event that names no store goes only to
  `*` subscriptions.
- **Signature**: `Marque-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.
  A receiver recomputes it over the raw body and refuses a timestamp older than five minutes, so
  that a captured request cannot be replayed later (`verify_signature` below).
- **Retries**: after a failed attempt n the next one waits base * 2^(n-1) seconds, capped, with
  ±20 % jitter so that many deliveries to one partner do not return all at once. After
  `max_attempts` the delivery is failed.
- **States**: pending → succeeded (a 2xx answer) | failed (attempts used up); a resend puts a
  failed or succeeded delivery back to pending.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urlsplit

from marque_kit.errors import Conflict, InvalidInput

SIGNATURE_HEADER = "Marque-Signature"
SIGNATURE_VERSION = "v1"
DEFAULT_TOLERANCE_SECONDS = 300
EVERYTHING = frozenset({"*", "#"})
ALL_STORES = "*"
SECRET_PREFIX = "whsec_"
PING_TYPE = "marque.gateway.v1.Ping"
PING_ROUTING_KEY = "gateway.ping"
MAX_EVENT_TYPES = 50
JITTER = 0.2

_WORD = re.compile(r"^[a-z0-9_]+$")


# --- event types ---------------------------------------------------------------------------------


def validate_event_types(patterns: Iterable[str], sources: Sequence[str]) -> list[str]:
    """The patterns, trimmed and without repeats; InvalidInput naming the first bad one."""
    cleaned: list[str] = []
    for raw in patterns:
        pattern = validate_pattern(raw, sources)
        if pattern not in cleaned:
            cleaned.append(pattern)
    if not cleaned:
        raise InvalidInput(
            "Name at least one event type, e.g. 'inventory.transfer.*', or '*' for every event.",
            errors=[{"field": "event_types", "message": "empty"}],
        )
    if len(cleaned) > MAX_EVENT_TYPES:
        raise InvalidInput(
            f"A subscription names at most {MAX_EVENT_TYPES} event types; use a wildcard such as "
            "'inventory.*.*' instead.",
            errors=[{"field": "event_types", "message": "too many"}],
        )
    return cleaned


def validate_pattern(raw: str, sources: Sequence[str]) -> str:
    pattern = raw.strip().lower()
    if pattern in EVERYTHING:
        return "*"
    words = pattern.split(".")
    bad_word = next((w for w in words if w not in EVERYTHING and not _WORD.match(w)), None)
    if not pattern or bad_word is not None:
        raise _bad_pattern(
            raw,
            "use words of a-z, 0-9 and _ separated by dots, '*' for one word or '#' for any "
            "number of words, e.g. 'inventory.transfer.*'",
        )
    if words[0] not in EVERYTHING and words[0] not in sources:
        raise _bad_pattern(
            raw,
            f"events come from {', '.join(sorted(sources))}; start the pattern with one of them",
        )
    return pattern


def _bad_pattern(raw: str, why: str) -> InvalidInput:
    return InvalidInput(
        f"The event type {raw!r} is not a pattern we can match: {why}.",
        errors=[{"field": "event_types", "message": why}],
    )


def topic_matches(pattern: str, routing_key: str) -> bool:
    """AMQP topic matching: `*` is exactly one word, `#` zero or more; `*` alone is everything."""
    if pattern in EVERYTHING:
        return True
    return _match(pattern.split("."), routing_key.split("."))


def _match(pattern: list[str], key: list[str]) -> bool:
    if not pattern:
        return not key
    head, rest = pattern[0], pattern[1:]
    if head == "#":
        return any(_match(rest, key[i:]) for i in range(len(key) + 1))
    if not key:
        return False
    return (head == "*" or head == key[0]) and _match(rest, key[1:])


def wants_event(event_types: Iterable[str], routing_key: str) -> bool:
    return any(topic_matches(p, routing_key) for p in event_types)


def store_allowed(stores: Iterable[str], store_id: str) -> bool:
    stores = list(stores)
    if ALL_STORES in stores:
        return True
    return bool(store_id) and store_id in stores


def receives(
    *, event_types: Iterable[str], stores: Iterable[str], routing_key: str, store_id: str
) -> bool:
    """Does a subscription with these event types and stores receive this event?"""
    return wants_event(event_types, routing_key) and store_allowed(stores, store_id)


def validate_stores(wanted: Sequence[str] | None, allowed: Sequence[str]) -> list[str]:
    """The stores a subscription covers: the caller's own by default, or a subset of them."""
    allowed = list(allowed)
    if wanted is None:
        return allowed
    cleaned = sorted({s.strip() for s in wanted if s.strip()})
    if not cleaned:
        raise InvalidInput(
            "Name at least one store, or '*' for every store.",
            errors=[{"field": "stores", "message": "empty"}],
        )
    if ALL_STORES in cleaned:
        cleaned = [ALL_STORES]
    if ALL_STORES not in allowed:
        outside = [s for s in cleaned if s not in allowed]
        if outside:
            raise InvalidInput(
                f"Your key covers the stores {', '.join(allowed) or 'none'}; "
                f"{', '.join(outside)} is not among them.",
                errors=[{"field": "stores", "message": "outside your stores"}],
            )
    return cleaned


# --- the URL a delivery goes to ------------------------------------------------------------------


def validate_url(url: str, *, production: bool) -> str:
    """https in production (and not a loopback or private address); http too in dev and test."""
    url = url.strip()
    parts = urlsplit(url)
    schemes = ("https",) if production else ("https", "http")
    if parts.scheme not in schemes:
        need = "https://" if production else "http:// or https://"
        raise _bad_url(f"The webhook URL must start with {need}; got {url[:80]!r}.")
    if not parts.hostname:
        raise _bad_url(f"The webhook URL {url[:80]!r} names no host.")
    if parts.username or parts.password:
        raise _bad_url("Put no credentials in the webhook URL; we sign every delivery instead.")
    if parts.fragment:
        raise _bad_url("The webhook URL must not have a #fragment.")
    if production and _internal_host(parts.hostname):
        raise _bad_url(f"The webhook URL must be reachable on the internet, not {parts.hostname}.")
    return url


def _internal_host(host: str) -> bool:
    if host == "localhost" or host.endswith((".localhost", ".local", ".internal")):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return not address.is_global


def _bad_url(detail: str) -> InvalidInput:
    return InvalidInput(detail, errors=[{"field": "url", "message": detail}])


# --- signatures ----------------------------------------------------------------------------------


def _as_bytes(value: bytes | str) -> bytes:
    return value.encode() if isinstance(value, str) else value


def compute_signature(secret: str, timestamp: int, body: bytes | str) -> str:
    signed = f"{timestamp}.".encode() + _as_bytes(body)
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def signature_header(secret: str, body: bytes | str, timestamp: int) -> str:
    """The `Marque-Signature` value for a body sent at `timestamp` (unix seconds)."""
    return f"t={timestamp},{SIGNATURE_VERSION}={compute_signature(secret, timestamp, body)}"


def verify_signature(
    secret: str,
    header: str,
    body: bytes | str,
    now: float,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
) -> bool:
    """What a partner's receiver does with `Marque-Signature` (copy it into your code):

    1. split the header into `t=` and `v1=` (several `v1=` may appear while a secret rotates);
    2. refuse it when `t` is more than `tolerance` seconds away from now (a replay);
    3. recompute HMAC-SHA256(secret, f"{t}.{raw body}") and compare in constant time.
    """
    timestamp: int | None = None
    candidates: list[str] = []
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == SIGNATURE_VERSION and value:
            candidates.append(value)
    if timestamp is None or not candidates:
        return False
    if abs(now - timestamp) > tolerance:
        return False
    expected = compute_signature(secret, timestamp, body)
    return any(hmac.compare_digest(expected, c) for c in candidates)


# --- retries and states --------------------------------------------------------------------------


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


def backoff_seconds(attempts_made: int, *, base: float, cap: float, jitter: float) -> float:
    """How long to wait after `attempts_made` failed attempts; `jitter` is a random number in
    [0, 1) (0.5 gives the plain exponential figure)."""
    raw = min(cap, base * 2 ** max(attempts_made - 1, 0))
    return min(cap, raw * (1 - JITTER + 2 * JITTER * jitter))


def is_success(status_code: int | None) -> bool:
    return status_code is not None and 200 <= status_code < 300


@dataclass(frozen=True)
class AttemptOutcome:
    status: DeliveryStatus
    retry_in_seconds: float | None = None  # set when the delivery stays pending


def after_attempt(
    *,
    attempts_made: int,
    status_code: int | None,
    max_attempts: int,
    base: float,
    cap: float,
    jitter: float,
) -> AttemptOutcome:
    """Where a delivery goes after its `attempts_made`-th attempt got `status_code` (None: no
    answer, e.g. a timeout or a refused connection)."""
    if is_success(status_code):
        return AttemptOutcome(DeliveryStatus.SUCCEEDED)
    if attempts_made >= max_attempts:
        return AttemptOutcome(DeliveryStatus.FAILED)
    return AttemptOutcome(
        DeliveryStatus.PENDING,
        backoff_seconds(attempts_made, base=base, cap=cap, jitter=jitter),
    )


def resend(status: str) -> DeliveryStatus:
    """A resend puts a finished delivery back in the queue; one still pending is already there."""
    if status == DeliveryStatus.PENDING:
        raise Conflict(
            "This delivery is still pending: it will be tried again on its own. "
            "Resend it once it has succeeded or failed."
        )
    return DeliveryStatus.PENDING


def describe_failure(status_code: int | None, error: str | None) -> str:
    if error:
        return error
    return f"the receiver answered HTTP {status_code}"
